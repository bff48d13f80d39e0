package deploy

import (
	"sort"
	"strconv"
	"strings"
)

// CleanupPlan says what cleanup does to a family's task definition revisions.
type CleanupPlan struct {
	Family string
	// Keep are the ACTIVE revisions left alone: the newest ones, and any
	// that something uses (the reason is in InUse).
	Keep []string
	// Deregister are ACTIVE revisions to deregister.
	Deregister []string
	// Delete are INACTIVE revisions to delete (BG_DELETE_INACTIVE).
	Delete []string
	InUse  map[string]string
}

// PlanCleanup keeps the newest keep ACTIVE revisions and every revision in
// use (a task set, an in-flight deployment), and deregisters the rest; with
// deleteInactive, INACTIVE revisions not in use are deleted as well.
func PlanCleanup(family string, active, inactive []string, inUse map[string]string, keep int, deleteInactive bool) CleanupPlan {
	p := CleanupPlan{Family: family, InUse: map[string]string{}}
	sortByRevision(active)
	sortByRevision(inactive)
	newest := map[string]bool{}
	for i := len(active) - 1; i >= 0 && len(newest) < keep; i-- {
		newest[active[i]] = true
	}
	for _, arn := range active {
		reason, used := inUse[arn]
		switch {
		case used:
			p.InUse[arn] = reason
			p.Keep = append(p.Keep, arn)
		case newest[arn]:
			p.Keep = append(p.Keep, arn)
		default:
			p.Deregister = append(p.Deregister, arn)
		}
	}
	if deleteInactive {
		for _, arn := range append(append([]string{}, inactive...), p.Deregister...) {
			if _, used := inUse[arn]; !used {
				p.Delete = append(p.Delete, arn)
			}
		}
	}
	return p
}

// Revision is the revision number of a task definition ARN (family:N), or 0.
func Revision(arn string) int {
	i := strings.LastIndex(arn, ":")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(arn[i+1:])
	return n
}

// Family is the family of a task definition ARN.
func Family(arn string) string {
	s := arn
	if i := strings.Index(s, "task-definition/"); i >= 0 {
		s = s[i+len("task-definition/"):]
	}
	f, _, _ := strings.Cut(s, ":")
	return f
}

func sortByRevision(arns []string) {
	sort.Slice(arns, func(i, j int) bool { return Revision(arns[i]) < Revision(arns[j]) })
}
