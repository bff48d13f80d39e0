package app

import (
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestOutdatedDeployIsRefused: two pipelines deploy in arrival order, so the
// older one may come second. Its deploy is refused with exit 2 before any
// change, both when the newer release is live and when it is still
// deploying (instead of queueing behind it to replace it); BG_ALLOW_OUTDATED
// lets it through on purpose.
func TestOutdatedDeployIsRefused(t *testing.T) {
	t.Parallel()
	w, err := startMatrixWorld(t, mxScenario{opts: seed.Options{ReadyWaitMinutes: 1440}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	newer := "registry.example/web@sha256:" + strings.Repeat("1", 64)
	older := "registry.example/web@sha256:" + strings.Repeat("0", 64)
	// Pipeline 101 deploys and waits at Ready for its promote button.
	if code, log := w.run(t, w.environ("BG_IMAGE="+newer, "CI_PIPELINE_ID=101", "BG_PROMOTE=manual"), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 101's deploy: exit %d\n%s", code, log)
	}
	refused := func(what string, env ...string) {
		t.Helper()
		before := len(w.srv.Calls())
		code, log := w.run(t, w.environ(append([]string{"BG_IMAGE=" + older, "CI_PIPELINE_ID=100"}, env...)...), "deploy")
		if code != ExitUsage {
			t.Errorf("%s: pipeline 100's deploy: exit %d, want %d\n%s", what, code, ExitUsage, tail(log, 20))
		}
		for _, want := range []string{"refusing an outdated deployment", "pipeline 101 of group/web", "BG_ALLOW_OUTDATED=true", "nothing was changed"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s: the log lacks %q:\n%s", what, want, tail(log, 20))
			}
		}
		if m := mutating(w.srv.Calls()[before:]); len(m) > 0 {
			t.Errorf("%s: calls that change AWS: %v", what, m)
		}
	}
	refused("newer deployment in progress")
	if code, log := w.run(t, w.environ("CI_PIPELINE_ID=101"), "promote"); code != ExitOK {
		t.Fatalf("pipeline 101's promote: exit %d\n%s", code, log)
	}
	if err := w.servesProduction(newer); err != nil {
		t.Fatal(err)
	}
	refused("newer release live")
	// On purpose, the older release goes live.
	if code, log := w.run(t, w.environ("BG_IMAGE="+older, "CI_PIPELINE_ID=100", "BG_ALLOW_OUTDATED=true"), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 100's deploy with BG_ALLOW_OUTDATED=true: exit %d\n%s", code, tail(log, 20))
	}
	if err := w.servesProduction(older); err != nil {
		t.Error(err)
	}
	// A newer pipeline deploys over it as usual.
	if code, log := w.run(t, w.environ("BG_IMAGE="+newer, "CI_PIPELINE_ID=102"), "deploy"); code != ExitOK {
		t.Fatalf("pipeline 102's deploy: exit %d\n%s", code, tail(log, 20))
	}
	if err := w.servesProduction(newer); err != nil {
		t.Error(err)
	}
}
