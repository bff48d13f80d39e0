package app

import (
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// TestOutdatedListenerDeployIsRefused: in the listener model a deploy
// records its pipeline on the colour it brings up (the target group's
// ecs-bluegreen:origin tag), and an older pipeline's deploy is refused with
// exit 2 before any change, both while the newer release waits on the idle
// colour for its switch and once it is live; BG_ALLOW_OUTDATED lets it
// through on purpose.
func TestOutdatedListenerDeployIsRefused(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	newer := "BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("1", 64)
	older := "BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("0", 64)
	pipeline := func(id string, extra ...string) []string {
		return s.environ(append([]string{"CI_PROJECT_PATH=group/web", "CI_PIPELINE_ID=" + id}, extra...)...)
	}
	if code, _, stderr := runIn(t, pipeline("101", newer), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 101's deploy: exit %d\n%s", code, stderr)
	}
	if snap := s.snapshot(t); snap.Colour(snapshot.Green).Origin != "group/web pipeline 101" || snap.Colour(snapshot.Blue).Origin != "" {
		t.Errorf("after pipeline 101's deploy: green's origin %q, blue's %q", snap.Colour(snapshot.Green).Origin, snap.Colour(snapshot.Blue).Origin)
	}
	refused := func(what string, env ...string) {
		t.Helper()
		before := len(s.srv.Calls())
		code, _, stderr := runIn(t, pipeline("100", append([]string{older}, env...)...), "deploy")
		if code != ExitUsage {
			t.Errorf("%s: pipeline 100's deploy: exit %d, want %d\n%s", what, code, ExitUsage, tail(stderr, 20))
		}
		for _, want := range []string{"refusing an outdated deployment", "pipeline 101 of group/web", "BG_ALLOW_OUTDATED=true", "nothing was changed"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: the log lacks %q:\n%s", what, want, tail(stderr, 20))
			}
		}
		if m := mutating(s.srv.Calls()[before:]); len(m) > 0 {
			t.Errorf("%s: calls that change AWS: %v", what, m)
		}
	}
	refused("newer release waiting on the idle colour")
	if code, _, stderr := runIn(t, pipeline("101", "ECS_BLUEGREEN_IDLE_COLOUR=green"), "switch"); code != ExitOK {
		t.Fatalf("pipeline 101's switch: exit %d\n%s", code, stderr)
	}
	refused("newer release live")
	// On purpose, the older release goes live.
	if code, _, stderr := runIn(t, pipeline("100", older, "BG_ALLOW_OUTDATED=true", "BG_SWITCH=auto"), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 100's deploy with BG_ALLOW_OUTDATED=true: exit %d\n%s", code, tail(stderr, 20))
	}
	snap := s.snapshot(t)
	if snap.Live != snapshot.Blue || snap.Colour(snapshot.Blue).Origin != "group/web pipeline 100" {
		t.Errorf("after the allowed outdated deploy: live %s, blue's origin %q", snap.Live, snap.Colour(snapshot.Blue).Origin)
	}
	// A newer pipeline deploys over both as usual.
	if code, _, stderr := runIn(t, pipeline("102", newer, "BG_SWITCH=auto"), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 102's deploy: exit %d\n%s", code, tail(stderr, 20))
	}
	if snap := s.snapshot(t); snap.Live != snapshot.Green || snap.Colour(snapshot.Green).Origin != "group/web pipeline 102" {
		t.Errorf("after pipeline 102's deploy: live %s, green's origin %q", snap.Live, snap.Colour(snapshot.Green).Origin)
	}
}
