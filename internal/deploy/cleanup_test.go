package deploy

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func revs(family string, ns ...int) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:task-definition/%s:%d", family, n))
	}
	return out
}

func TestPlanCleanup(t *testing.T) {
	t.Parallel()
	active := revs("web", 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) // unsorted on purpose
	inUse := map[string]string{revs("web", 2)[0]: "the blue task set"}
	p := PlanCleanup("web", active, revs("web", 0), inUse, 3, false)
	if diff := cmp.Diff(revs("web", 2, 10, 11, 12), p.Keep); diff != "" {
		t.Errorf("Keep (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(revs("web", 1, 3, 4, 5, 6, 7, 8, 9), p.Deregister); diff != "" {
		t.Errorf("Deregister (-want +got):\n%s", diff)
	}
	if len(p.Delete) != 0 {
		t.Errorf("Delete without deleteInactive: %v", p.Delete)
	}
	p = PlanCleanup("web", revs("web", 5, 6), revs("web", 1, 2), map[string]string{revs("web", 1)[0]: "an in-flight deployment"}, 1, true)
	if diff := cmp.Diff(revs("web", 2, 5), p.Delete); diff != "" {
		t.Errorf("Delete (-want +got):\n%s", diff)
	}
	if Family(revs("web-worker", 3)[0]) != "web-worker" || Revision(revs("web", 42)[0]) != 42 {
		t.Error("Family/Revision parse ARNs wrong")
	}
}
