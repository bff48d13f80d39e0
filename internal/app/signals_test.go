package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// gate holds one call of an operation, before AWS sees it (pre) or after
// AWS did the work but before the answer leaves (post), until released;
// reached is closed when the call is held. With afterCreate the count
// starts once CreateDeployment was answered.
type gate struct {
	next        http.Handler
	op          string
	n           int
	post        bool
	afterCreate bool

	// releaseAfter, when set, lets the held call go once a call of this
	// operation has been answered after the hold began.
	releaseAfter string

	mu       sync.Mutex
	created  bool
	count    int
	reached  chan struct{}
	release  chan struct{}
	released sync.Once
}

func newGate(next http.Handler, op string, n int, post, afterCreate bool) *gate {
	return &gate{next: next, op: op, n: max(n, 1), post: post, afterCreate: afterCreate, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := operationOf(r)
	g.mu.Lock()
	hold := false
	if op == g.op && (!g.afterCreate || g.created) {
		g.count++
		hold = g.count == g.n
	}
	g.mu.Unlock()
	switch {
	case hold && g.post:
		rec := httptest.NewRecorder()
		g.next.ServeHTTP(rec, r)
		close(g.reached)
		<-g.release
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	case hold:
		// The request has reached AWS, which carries it out whether or not
		// the client is still there to hear the answer.
		body, _ := io.ReadAll(r.Body)
		r = r.Clone(context.WithoutCancel(r.Context()))
		r.Body = io.NopCloser(bytes.NewReader(body))
		close(g.reached)
		<-g.release
		g.next.ServeHTTP(w, r)
	default:
		g.next.ServeHTTP(w, r)
	}
	if op == "CreateDeployment" {
		g.mu.Lock()
		g.created = true
		g.mu.Unlock()
	}
	if g.releaseAfter != "" && op == g.releaseAfter {
		select {
		case <-g.reached:
			g.released.Do(func() { close(g.release) })
		default:
		}
	}
}

// signalStage is one moment of a deploy (or promote) at which the job is
// cancelled.
type signalStage struct {
	name string
	opts seed.Options
	env  []string
	sig  syscall.Signal
	// op, n, post and afterCreate place the signal at a call (see gate);
	// op "" signals before the run starts, op "smoke" during the test
	// traffic smoke check at Ready.
	op          string
	n           int
	post        bool
	afterCreate bool
	// stopFailures makes the first StopDeployment calls fail with 5xx.
	stopFailures int
	// lateUntil holds the call until the run has made a call of this
	// operation after the signal (else 100 ms).
	lateUntil string
	// created: the run made a deployment, which must end Stopped.
	created bool
	// givesUp: the stop cannot succeed in the job's time; the log must say
	// what state production is left in.
	givesUp bool
}

// TestSignalAtEveryStage cancels deploy at each stage, from before it
// resolves the service to the stop itself: every run ends 143 (130 for
// SIGINT), a deployment the run created is stopped with rollback even when
// the signal came before CreateDeployment's answer (or before CodeDeploy
// had even seen the call), and production is back on what it ran.
func TestSignalAtEveryStage(t *testing.T) {
	t.Parallel()
	ready := seed.Options{ReadyWaitMinutes: 1440}
	canary := seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 60}
	stages := []signalStage{
		{name: "before_resolve", sig: syscall.SIGTERM},
		{name: "during_register", op: "RegisterTaskDefinition", post: true, sig: syscall.SIGTERM},
		// CodeDeploy sees the call only after the run, interrupted, first
		// looked for the deployment and found none.
		{name: "before_create_reaches_aws", op: "CreateDeployment", lateUntil: "ListDeployments", sig: syscall.SIGTERM, created: true},
		{name: "during_create", op: "CreateDeployment", post: true, sig: syscall.SIGTERM, created: true},
		{name: "after_create", op: "DescribeListeners", afterCreate: true, sig: syscall.SIGTERM, created: true},
		{name: "while_watching", opts: canary, op: "GetDeployment", n: 3, afterCreate: true, sig: syscall.SIGTERM, created: true},
		{name: "while_watching_sigint", opts: canary, op: "GetDeployment", n: 3, afterCreate: true, sig: syscall.SIGINT, created: true},
		{name: "at_ready_during_smoke_check", opts: ready, op: "smoke", sig: syscall.SIGTERM, created: true},
		{name: "during_promote", opts: ready, op: "ContinueDeployment", post: true, sig: syscall.SIGTERM, created: true},
		// The stop fails three times while production traffic moves; the
		// termination wait keeps the way back open until it takes effect.
		{name: "during_the_stop", opts: seed.Options{ReadyWaitMinutes: 1440, TerminationWaitMinutes: 60}, op: "ContinueDeployment", post: true, stopFailures: 3, sig: syscall.SIGTERM, created: true},
		// StopDeployment fails for the whole job: the stop keeps trying
		// until the job's time is up, then says where production is.
		{
			name: "stop_fails_until_the_job_ends", opts: seed.Options{ReadyWaitMinutes: 1440, TerminationWaitMinutes: 1440}, env: []string{"CI_JOB_TIMEOUT=10", "BG_TIMEOUT=5s"},
			op: "ContinueDeployment", post: true, stopFailures: 100000, sig: syscall.SIGTERM, created: true, givesUp: true,
		},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			w, err := startMatrixWorld(t, mxScenario{opts: st.opts}, 1)
			if err != nil {
				t.Fatal(err)
			}
			env := append([]string{"BG_IMAGE=" + mxImage}, st.env...)
			var smokeHit chan struct{}
			if st.op == "smoke" {
				smokeHit = make(chan struct{})
				var once sync.Once
				slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
					once.Do(func() { close(smokeHit) })
					select {
					case <-r.Context().Done():
					case <-time.After(2 * time.Second):
					}
					rw.WriteHeader(http.StatusOK)
				}))
				t.Cleanup(slow.Close)
				env = append(env, "BG_TEST_URL="+slow.URL+"/health", "BG_SMOKE_INTERVAL=10ms")
			}
			var g *gate
			if st.op != "" && st.op != "smoke" {
				g = newGate(w.lose, st.op, st.n, st.post, st.afterCreate)
				g.releaseAfter = st.lateUntil
				hs := httptest.NewServer(g)
				t.Cleanup(hs.Close)
				w.url = hs.URL
			}
			if st.stopFailures > 0 {
				w.faults.FailNext("codedeploy", "StopDeployment", awssim.FaultServerError, st.stopFailures)
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			signal := func() { cancel(Interrupted{Signal: st.sig}) }
			switch {
			case st.op == "":
				signal()
			case smokeHit != nil:
				go func() { <-smokeHit; signal() }()
			default:
				go func() {
					select {
					case <-g.reached:
					case <-ctx.Done():
						return
					}
					signal()
					// The held call goes on after the signal, as one already
					// on the wire does (with lateUntil the gate lets it go;
					// this is a backstop for a run that never looks).
					hold := 100 * time.Millisecond
					if st.lateUntil != "" {
						hold = 10 * time.Second
					}
					time.Sleep(hold)
					g.released.Do(func() { close(g.release) })
				}()
			}
			start := len(w.srv.Calls())
			var out, errb bytes.Buffer
			code := Run(ctx, []string{"deploy"}, Env{Environ: w.environ(env...), Stdout: &out, Stderr: &errb, Clock: newFastClock(20)})
			log := errb.String()
			want := 143
			if st.sig == syscall.SIGINT {
				want = 130
			}
			if code != want {
				t.Errorf("exit %d, want %d\n%s", code, want, tail(log, 30))
			}
			if g != nil {
				select {
				case <-g.reached:
				default:
					t.Errorf("the run never called %s: the stage was not reached", st.op)
				}
			}
			if st.givesUp {
				// Traffic moved, and the original task set waits for its
				// termination: the log says so, read when giving up.
				for _, want := range []string{"gave up stopping the deployment", `production="the deployment is InProgress: production traffic original 0%, replacement 100%"`, "run rollback"} {
					if !strings.Contains(log, want) {
						t.Errorf("the log lacks %q:\n%s", want, tail(log, 30))
					}
				}
				t.Logf("the end of the log:\n%s", tail(log, 3))
				if strings.Contains(log, "was stopped with rollback") {
					t.Errorf("the log claims a stop that did not happen:\n%s", tail(log, 30))
				}
				return
			}
			err = w.until(20*time.Second, func() error {
				ds, err := w.deployments()
				if err != nil {
					return err
				}
				mine := ours(ds)
				switch {
				case !st.created && len(mine) > 0:
					return fmt.Errorf("deployments created although the signal came first: %s", describeAll(mine))
				case st.created && len(mine) != 1:
					return fmt.Errorf("%d deployments of this run, want 1: %s", len(mine), describeAll(mine))
				case st.created && mine[0].Status != cdtypes.DeploymentStatusStopped:
					return fmt.Errorf("deployment %s is %s, want Stopped (BG_ON_INTERRUPT=rollback)", aws.ToString(mine[0].DeploymentId), mine[0].Status)
				}
				return w.servesProduction(seedImage)
			})
			if err != nil {
				t.Errorf("AWS state: %v\n%s", err, tail(log, 30))
			}
			if st.created && !strings.Contains(log, "stopped with rollback") {
				t.Errorf("the log does not say the deployment was stopped with rollback:\n%s", tail(log, 30))
			}
			if st.op == "" {
				if m := mutating(w.srv.Calls()[start:]); len(m) > 0 {
					t.Errorf("calls that change AWS after a signal before the run: %v", m)
				}
			}
		})
	}
}

// TestSecondSignalDuringTheStop runs the real process (this test binary as
// ecs-bluegreen): SIGTERM while watching starts the stop with rollback, a
// second SIGTERM while StopDeployment is in flight does not abandon it, and
// the job ends 143 with the deployment stopped.
func TestSecondSignalDuringTheStop(t *testing.T) {
	t.Parallel()
	w, err := startMatrixWorld(t, mxScenario{opts: seed.Options{ReadyWaitMinutes: 1440}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	stop := newGate(w.lose, "StopDeployment", 1, true, false)
	ready := make(chan struct{})
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// The first ContinueDeployment: the deployment waits at Ready.
		if operationOf(r) == "ContinueDeployment" {
			once.Do(func() { close(ready) })
		}
		stop.ServeHTTP(rw, r)
	}))
	t.Cleanup(hs.Close)
	w.url = hs.URL
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalHelperProcess$") //nolint:gosec // this test binary
	cmd.Env = append(w.environ("BG_IMAGE="+mxImage, "BG_SMOKE_INTERVAL=10ms"), "BG_SIGNAL_HELPER=deploy")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	wait := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("the process ended (%v) before %s:\n%s", err, what, stderr.String())
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("no %s within a minute:\n%s", what, stderr.String())
		}
	}
	wait("the promotion at Ready", ready)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	wait("StopDeployment", stop.reached)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond) // the second signal arrives while the stop is held
	stop.released.Do(func() { close(stop.release) })
	var exitErr *exec.ExitError
	err = <-done
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 143 {
		t.Errorf("process ended %v, want exit 143\n%s", err, stderr.String())
	}
	for _, want := range []string{"terminated again: still stopping", "stopped with rollback"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, stderr.String())
		}
	}
	if err := w.until(20*time.Second, func() error {
		ds, err := w.deployments()
		if err != nil {
			return err
		}
		mine := ours(ds)
		if len(mine) != 1 || mine[0].Status != cdtypes.DeploymentStatusStopped {
			return fmt.Errorf("deployments of the run: %s, want one Stopped", describeAll(mine))
		}
		return w.servesProduction(seedImage)
	}); err != nil {
		t.Errorf("AWS state: %v", err)
	}
}

// TestSignalHelperProcess is the process TestSecondSignalDuringTheStop
// runs: main's wiring (SignalContext, Run, exit code) on the command
// BG_SIGNAL_HELPER names. Run directly it has nothing to do.
func TestSignalHelperProcess(t *testing.T) {
	cmd := os.Getenv("BG_SIGNAL_HELPER")
	if cmd == "" {
		t.Skip("the process TestSecondSignalDuringTheStop starts")
	}
	ctx, stop := SignalContext(context.Background())
	env := OSEnv()
	env.Environ = slicesWithout(env.Environ, "BG_SIGNAL_HELPER=")
	code := Run(ctx, []string{cmd}, env)
	stop()
	os.Exit(code)
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
