package verify

import (
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

func TestCheckColourTags(t *testing.T) {
	t.Parallel()
	base := func(tags ...snapshot.RegistryTag) *snapshot.Snapshot {
		return &snapshot.Snapshot{
			Live: snapshot.Blue,
			Colours: []snapshot.ColourState{
				{Colour: snapshot.Blue, TaskSet: &snapshot.TaskSet{Running: 2}, Containers: []snapshot.Container{{Image: "r/web@sha256:aaaa"}}},
				{Colour: snapshot.Green, TaskSet: &snapshot.TaskSet{Running: 1}, Containers: []snapshot.Container{{Image: "r/web@sha256:bbbb"}}},
			},
			Registry: tags,
		}
	}
	tag := func(tag, digest string) snapshot.RegistryTag {
		return snapshot.RegistryTag{Repository: "r/web", Tag: tag, Digest: digest}
	}
	tests := []struct {
		name         string
		s            *snapshot.Snapshot
		passed, skip bool
		want         string
	}{
		{name: "both_match", s: base(tag("blue", "sha256:aaaa"), tag("green", "sha256:bbbb")), passed: true, want: "r/web:blue, r/web:green"},
		{name: "green_stale", s: base(tag("blue", "sha256:aaaa"), tag("green", "sha256:aaaa")), want: "r/web:green is sha256:aaaa, but green runs sha256:bbbb"},
		{name: "green_not_yet_moved", s: base(tag("blue", "sha256:aaaa"), tag("green", "")), passed: true, want: "r/web:blue"},
		{name: "none_moved_yet", s: base(tag("blue", ""), tag("green", "")), skip: true, want: "no colour tag yet (r/web:blue, r/web:green)"},
		{name: "unreadable", s: base(tag("blue", "sha256:aaaa"), snapshot.RegistryTag{Repository: "r/web", Tag: "green", Error: "denied"}), want: "cannot be read (denied)"},
		{name: "no_registry", s: base(), skip: true, want: "no registry configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := CheckColourTags(tt.s)
			if r.Passed != tt.passed || r.Skipped != tt.skip || !strings.Contains(r.Message, tt.want) {
				t.Errorf("CheckColourTags = %+v, want passed=%v skipped=%v and %q", r, tt.passed, tt.skip, tt.want)
			}
		})
	}
	// A colour that runs nothing is not held to its tag.
	s := base(tag("blue", "sha256:aaaa"), tag("green", "sha256:0000"))
	s.Colours[1].TaskSet = nil
	if r := CheckColourTags(s); !r.Passed {
		t.Errorf("with green stopped: %+v", r)
	}
}
