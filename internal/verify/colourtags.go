package verify

import (
	"fmt"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// CheckColourTags checks that the registry tags blue and green name the
// image each colour runs, in every registry that has them (deploy, rollback
// and switch move them). A colour with no tasks, or not running one image
// pinned by digest, is not checked: its tag names what it ran last. A tag
// that does not exist yet (no deploy since the colour tags came in) is not
// a finding.
func CheckColourTags(s *snapshot.Snapshot) CheckResult {
	r := CheckResult{Name: "registry colour tags name what each colour runs"}
	if len(s.Registry) == 0 {
		r.Skipped, r.Message = true, "no registry configured (BG_REGISTRY_IMAGE, BG_ECR_REPOSITORY)"
		return r
	}
	var problems, fine, untracked []string
	for _, c := range s.Colours {
		if c.TaskSet == nil || c.TaskSet.Running == 0 {
			continue
		}
		runs := map[string]bool{}
		for _, ct := range c.Containers {
			if _, d, ok := strings.Cut(ct.Image, "@"); ok {
				runs[d] = true
			}
		}
		if len(runs) != 1 {
			continue
		}
		for _, t := range s.Registry {
			switch {
			case t.Tag != string(c.Colour):
			case t.Error != "":
				problems = append(problems, fmt.Sprintf("%s:%s cannot be read (%s)", t.Repository, t.Tag, t.Error))
			case t.Digest == "":
				// Not moved yet: this registry had no deploy since the tags
				// came in (as CheckLiveTag treats a missing live tag).
				untracked = append(untracked, t.Repository+":"+t.Tag)
			case !runs[t.Digest]:
				problems = append(problems, fmt.Sprintf("%s:%s is %s, but %s runs %s", t.Repository, t.Tag, t.Digest, c.Colour, keys(runs)[0]))
			default:
				fine = append(fine, t.Repository+":"+t.Tag)
			}
		}
	}
	switch {
	case len(problems) > 0:
		r.Message = strings.Join(problems, "; ") + " (deploy, rollback and switch move the colour tags; run one, or move the tag by hand)"
	case len(fine) == 0 && len(untracked) > 0:
		r.Skipped, r.Message = true, "no colour tag yet ("+strings.Join(untracked, ", ")+"): the next deploy, rollback or switch moves them"
	case len(fine) == 0:
		r.Skipped, r.Message = true, "no colour runs a single image pinned by digest"
	default:
		r.Passed, r.Message = true, "colour tags match: "+strings.Join(fine, ", ")
	}
	return r
}
