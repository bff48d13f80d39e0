package verify

import (
	"fmt"
	"sort"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// CheckLiveTag compares what production runs with what each registry's live
// tag names: a mismatch means someone deployed around the pipeline, or a
// deployment ended without moving the tag.
func CheckLiveTag(s *snapshot.Snapshot, liveTag string) CheckResult {
	r := CheckResult{Name: "registry live tag names the live image"}
	if len(s.Registry) == 0 {
		r.Skipped, r.Message = true, "no registry configured (BG_REGISTRY_IMAGE, BG_ECR_REPOSITORY)"
		return r
	}
	if s.Live == "" {
		r.Skipped, r.Message = true, "no single live colour"
		return r
	}
	live := map[string]bool{}
	for _, c := range s.Colour(s.Live).Containers {
		if _, d, ok := strings.Cut(c.Image, "@"); ok {
			live[d] = true
		}
	}
	var problems, fine, untracked []string
	for _, t := range s.Registry {
		switch {
		case t.Tag != liveTag:
		case t.Error != "":
			problems = append(problems, fmt.Sprintf("%s:%s cannot be read (%s)", t.Repository, t.Tag, t.Error))
		case t.Digest == "":
			// No live tag: this registry is not where the pipeline releases.
			untracked = append(untracked, t.Repository)
		case !live[t.Digest]:
			problems = append(problems, fmt.Sprintf("%s:%s is %s, but production runs %s", t.Repository, t.Tag, t.Digest, strings.Join(keys(live), ", ")))
		default:
			fine = append(fine, t.Repository)
		}
	}
	if len(problems) > 0 {
		r.Message = strings.Join(problems, "; ")
		return r
	}
	if len(fine) == 0 {
		r.Skipped, r.Message = true, "no "+liveTag+" tag in "+strings.Join(untracked, ", ")+" (deploy moves it once release copies images there)"
		return r
	}
	r.Passed, r.Message = true, "live tag matches in "+strings.Join(fine, ", ")
	return r
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"no digest-pinned image"}
	}
	return out
}
