package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWatcher collects output and says when a line with a marker came.
type lineWatcher struct {
	mu     sync.Mutex
	b      strings.Builder
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (l *lineWatcher) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if strings.Contains(l.b.String(), l.marker) {
		l.once.Do(func() { close(l.seen) })
	}
	return len(p), nil
}

func (l *lineWatcher) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve runs `sandbox serve` with args until it printed its last export.
func serve(t *testing.T, environ []string, args ...string) (code int, stdout string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := &lineWatcher{marker: "export BG_TEST_URL=", seen: make(chan struct{})}
	done := make(chan int, 1)
	env := append([]string{"BG_SANDBOX_ADDR=127.0.0.1:0", "BG_SANDBOX_REGISTRY_ADDR=127.0.0.1:0", "BG_SANDBOX_SPEED=600"}, environ...)
	go func() {
		done <- Run(ctx, append([]string{"sandbox", "serve"}, args...), Env{Environ: env, Stdout: out, Stderr: out})
	}()
	select {
	case <-out.seen:
		cancel()
		return <-done, out.String()
	case code := <-done:
		return code, out.String()
	}
}

// TestSandboxServe_exportsItsOwnCredentials: in a shell that evaluated the
// exports of an earlier serve, the next serve still prints its credentials
// (not [MASKED], which would fail every push with 401), while a real secret
// in the environment stays masked wherever it would appear.
func TestSandboxServe_exportsItsOwnCredentials(t *testing.T) {
	t.Parallel()
	code, out := serve(t, []string{"CI_REGISTRY_PASSWORD=sandbox-job-token", "AWS_SECRET_ACCESS_KEY=sandbox"})
	if code != ExitOK {
		t.Fatalf("sandbox serve exit %d\n%s", code, out)
	}
	for _, want := range []string{"export CI_REGISTRY_PASSWORD=sandbox-job-token\n", "export AWS_SECRET_ACCESS_KEY=sandbox\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[MASKED]") {
		t.Errorf("serve masked its own credentials:\n%s", out)
	}
}

func TestSandboxServe_saysWhatTheGroupDoes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{name: "default_waits_at_ready", want: []string{"waits at Ready until continued", "CodeDeployDefault.ECSCanary10Percent5Minutes", "--ready-action CONTINUE_DEPLOYMENT", "/_awssim/calls"}},
		{
			name: "continue_deployment_and_all_at_once", args: []string{"--ready-action", "CONTINUE_DEPLOYMENT", "--deployment-config", "CodeDeployDefault.ECSAllAtOnce", "--termination-wait", "1"},
			want: []string{"moves production traffic as soon as the replacement is ready", "CodeDeployDefault.ECSAllAtOnce", "1 minutes"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out := serve(t, nil, c.args...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestSandboxServe_refusesBadFlags(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown_ready_action", args: []string{"--ready-action", "SOMETIMES"}, want: "neither STOP_DEPLOYMENT"},
		{name: "unknown_flag", args: []string{"--colour", "blue"}, want: "flag provided but not defined"},
		{name: "negative_wait", args: []string{"--ready-wait", "-1"}, want: "--ready-wait must be"},
		{name: "unknown_deployment_config", args: []string{"--deployment-config", "Nope"}, want: "Nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out := serve(t, nil, c.args...)
			if code != ExitUsage || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d (usage) naming %q:\n%s", code, ExitUsage, c.want, out)
			}
		})
	}
}
