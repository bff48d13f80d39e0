package deploy

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// fakeReports keeps what a model writes, in memory.
type fakeReports struct {
	mu       sync.Mutex
	dotenv   map[string]string
	files    map[string][]byte
	statuses []*snapshot.Snapshot
}

func (r *fakeReports) Dotenv(vars map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dotenv == nil {
		r.dotenv = map[string]string{}
	}
	maps.Copy(r.dotenv, vars)
	return nil
}

func (r *fakeReports) Artifact(name string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[string][]byte{}
	}
	r.files[name] = data
	return nil
}

func (r *fakeReports) Status(_ context.Context, s *snapshot.Snapshot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses = append(r.statuses, s)
	return r.dotenvLocked(EnvLiveColour, string(s.Live))
}

func (r *fakeReports) dotenvLocked(k, v string) error {
	if r.dotenv == nil {
		r.dotenv = map[string]string{}
	}
	r.dotenv[k] = v
	return nil
}

func (r *fakeReports) last(t *testing.T) *snapshot.Snapshot {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.statuses) == 0 {
		t.Fatal("no status was reported")
	}
	return r.statuses[len(r.statuses)-1]
}

// fakeTags is a registry whose released repository is registry.example/web.
type fakeTags struct {
	moved   []string
	prev    string
	colours int // MoveColours calls
}

func (f *fakeTags) MoveColours(context.Context, *snapshot.Snapshot) { f.colours++ }

func (f *fakeTags) Released(ref string) bool { return strings.HasPrefix(ref, "registry.example/web@") }

func (f *fakeTags) MoveLive(_ context.Context, digest string) error {
	f.moved = append(f.moved, digest)
	return nil
}

func (f *fakeTags) Previous(context.Context) (string, error) {
	if f.prev == "" {
		return "", &UsageError{Msg: "no previous tag"}
	}
	return f.prev, nil
}

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// deps is a model's Deps on the world's clients, as app builds them: render
// falls back on the live service (no files), reports and tags in memory.
func (w *world) deps(t *testing.T, target *config.Target, rep *fakeReports, tags *fakeTags) Deps {
	t.Helper()
	dir := t.TempDir()
	var progress progressLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("progress:\n%s", &progress)
		}
	})
	d := Deps{
		Clients: Clients{ECS: w.ecs, ELB: w.elb, CodeDeploy: w.cd, CloudWatch: w.cw, Region: "eu-west-1"},
		Settings: Settings{
			Target:     target,
			CodeDeploy: &config.CodeDeploy{},
			Deployment: &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"},
			Watch:      &config.Watch{Timeout: 30 * time.Minute, OnTimeout: config.TimeoutLeave},
			Checks:     &config.Checks{},
			Switch:     &config.Switch{Switch: "auto", Steps: config.Steps{100}},
			Image:      "registry.example/web@" + digestA, ImageDigest: digestA,
		},
		CI:       CI{Origin: Origin("group/web", "7"), JobURL: "https://gitlab.example/jobs/1"},
		Log:      quiet,
		Clock:    fastClock{start: time.Now()},
		Progress: func(_ time.Time, line string) { progress.add(line) },
		Render: func(ctx context.Context, live render.Live) (*render.Rendered, error) {
			return render.Files{
				TaskdefFile: filepath.Join(dir, "taskdef.json"), AppspecFile: filepath.Join(dir, "appspec.yml"),
				Image: "registry.example/web@" + digestA, Live: live, Log: quiet,
			}.Prepare(ctx)
		},
		Reports: rep,
	}
	if tags != nil {
		d.Tags = tags
	}
	return d
}

// TestCodeDeployModel runs the codedeploy model's commands against the
// simulator: deploy to the end, the buttons with nothing to act on, and
// rollback's redeploy of the previous image.
func TestCodeDeployModel(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	target := &config.Target{Cluster: sw.Cluster, Service: sw.Service}
	rep, tags := &fakeReports{}, &fakeTags{}
	m := NewCodeDeployModel(w.deps(t, target, rep, tags))
	if got := m.Services(); !slices.Equal(got, []string{sw.Service}) {
		t.Errorf("Services = %v", got)
	}
	var ue *UsageError
	if err := m.Switch(ctx, ""); !errors.As(err, &ue) || ue.ExitCode() != 2 || ue.ErrorHint() == "" {
		t.Errorf("Switch in the codedeploy model = %v, want a usage error with a hint", err)
	}
	if err := m.Deploy(ctx); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "succeeded" || !strings.HasPrefix(rep.dotenv[EnvDeploymentID], "d-") || rep.dotenv[EnvLiveColour] != "green" ||
		!strings.HasSuffix(rep.dotenv[EnvTaskDefinition], ":2") || rep.dotenv[EnvProdURL] == "" {
		t.Errorf("deploy.env after Deploy = %v", rep.dotenv)
	}
	if len(rep.files["taskdef.json"]) == 0 || !strings.Contains(string(rep.files["appspec.yml"]), rep.dotenv[EnvTaskDefinition]) {
		t.Errorf("artifacts = %v", slices.Sorted(maps.Keys(rep.files)))
	}
	if s := rep.last(t); s.Live != snapshot.Green || !strings.HasSuffix(s.Colour(snapshot.Green).TaskDefinition, ":2") {
		t.Errorf("status after Deploy: live %s", s.Live)
	}
	if !slices.Equal(tags.moved, []string{digestA}) {
		t.Errorf("live tag moves = %v, want the deployed digest", tags.moved)
	}

	// The buttons with nothing in progress leave the pipeline green.
	buttons := NewCodeDeployModel(w.deps(t, target, &fakeReports{}, &fakeTags{}))
	if err := buttons.Promote(ctx, ""); err != nil {
		t.Errorf("Promote with nothing in progress: %v", err)
	}
	if err := buttons.Finish(ctx); err != nil {
		t.Errorf("Finish with nothing in progress: %v", err)
	}

	// Rollback with nothing in progress redeploys the previous image.
	var redeployed string
	d := w.deps(t, target, &fakeReports{}, &fakeTags{prev: "registry.example/web@sha256:bbbb"})
	d.Redeploy = func(_ context.Context, image string) error { redeployed = image; return nil }
	if err := NewCodeDeployModel(d).Rollback(ctx); err != nil || redeployed != "registry.example/web@sha256:bbbb" {
		t.Errorf("Rollback = %v, redeployed %q", err, redeployed)
	}
	d = w.deps(t, target, &fakeReports{}, nil)
	if err := NewCodeDeployModel(d).Rollback(ctx); !errors.As(err, &ue) {
		t.Errorf("Rollback without a registry = %v, want a usage error", err)
	}
	// A job whose CI context is broken starts nothing.
	d = w.deps(t, target, &fakeReports{}, nil)
	d.CI.Err = errors.New("CI_JOB_TIMEOUT must be a positive number of seconds")
	if err := NewCodeDeployModel(d).Deploy(ctx); !errors.As(err, &ue) {
		t.Errorf("Deploy with a broken CI context = %v, want a usage error", err)
	}
}

// TestCodeDeployModelRevert: a group whose termination wait is 0 leaves
// CodeDeploy nothing to roll back once production traffic moved, so a failed
// production check redeploys the revision that ran before (the AppSpec as
// rendered for the service), and deploy exits 1 naming the redeployment.
func TestCodeDeployModelRevert(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	// The production check answers once the deployment has ended, and
	// fails: by then the original tasks are gone.
	failing := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			out, err := w.cd.ListDeployments(r.Context(), &codedeploy.ListDeploymentsInput{
				ApplicationName: aws.String(sw.Application), DeploymentGroupName: aws.String(sw.Group),
				IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusSucceeded},
			})
			if err == nil && len(out.Deployments) > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		rw.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	rep := &fakeReports{}
	d := w.deps(t, &config.Target{Cluster: sw.Cluster, Service: sw.Service}, rep, &fakeTags{})
	checks := &config.Checks{SmokeSuccesses: 2, SmokeFailures: 2, SmokeInterval: 10 * time.Millisecond, SmokeTimeout: time.Minute}
	if err := checks.ProdURL.EnvDecode(failing.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if err := checks.SmokeStatus.EnvDecode("200"); err != nil {
		t.Fatal(err)
	}
	d.Settings.Checks = checks
	err = NewCodeDeployModel(d).Deploy(ctx)
	var de *DeploymentError
	if !errors.As(err, &de) || de.RollbackID == "" || de.ExitCode() != 1 || !strings.Contains(de.Reason, "production smoke check failed") {
		t.Fatalf("Deploy with a failing production check = %v, want a DeploymentError naming the redeployment", err)
	}
	back, err := w.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(de.RollbackID)})
	if err != nil {
		t.Fatal(err)
	}
	if desc := aws.ToString(back.DeploymentInfo.Description); !strings.Contains(desc, "redeploying web:1 after a failed production check") || !strings.HasPrefix(desc, d.CI.Origin) {
		t.Errorf("the redeployment's description = %q", desc)
	}
	if rep.dotenv[EnvOutcome] != "failed" && rep.dotenv[EnvOutcome] != "rolled-back" {
		t.Errorf("deploy.env outcome = %q", rep.dotenv[EnvOutcome])
	}
}

// TestCodeDeployModelButtons: deploy stops at Ready for the promote
// button, promote stops in the termination wait, finish ends it; a second
// deploy waiting at Ready is rolled back by the rollback button.
func TestCodeDeployModelButtons(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{ReadyWaitMinutes: 1440, TerminationWaitMinutes: 600})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	target := &config.Target{Cluster: sw.Cluster, Service: sw.Service}
	manual := func() Deps {
		d := w.deps(t, target, &fakeReports{}, &fakeTags{})
		d.Settings.Deployment.Promote = "manual"
		return d
	}
	d := manual()
	if err := NewCodeDeployModel(d).Deploy(ctx); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	rep := d.Reports.(*fakeReports)
	if rep.dotenv[EnvOutcome] != "awaiting-promotion" {
		t.Fatalf("deploy.env after a manual Deploy = %v", rep.dotenv)
	}
	id := rep.dotenv[EnvDeploymentID]

	// Promote moves production and stops in the termination wait; the live
	// tag follows what production runs.
	tags := &fakeTags{}
	d = w.deps(t, target, &fakeReports{}, tags)
	d.Settings.Deployment.WaitFor = "traffic"
	d.Settings.Deployment.DeploymentID = id
	if err := NewCodeDeployModel(d).Promote(ctx, ""); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if !slices.Equal(tags.moved, []string{digestA}) {
		t.Errorf("live tag moves after Promote = %v", tags.moved)
	}
	if err := NewCodeDeployModel(w.deps(t, target, &fakeReports{}, nil)).Finish(ctx); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if got := w.status(t, id); got != "Succeeded" {
		t.Errorf("after Finish the deployment is %s", got)
	}

	// A second deployment waits at Ready; rollback stops it with rollback.
	d = manual()
	if err := NewCodeDeployModel(d).Deploy(ctx); err != nil {
		t.Fatalf("second Deploy: %v", err)
	}
	second := d.Reports.(*fakeReports).dotenv[EnvDeploymentID]
	var ue *UsageError
	if err := NewCodeDeployModel(w.deps(t, target, &fakeReports{}, nil)).Finish(ctx); err == nil || errors.As(err, &ue) {
		t.Errorf("Finish at Ready = %v, want CodeDeploy's refusal", err)
	}
	if err := NewCodeDeployModel(w.deps(t, target, &fakeReports{}, nil)).Rollback(ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if got := w.status(t, second); got != "Stopped" {
		t.Errorf("after Rollback the deployment is %s", got)
	}
}

// TestListenerModel runs the listener model: deploy with BG_SWITCH=auto,
// rollback, switch, and finish (which it has not).
func TestListenerModel(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	target := &config.Target{Cluster: sw.Cluster, BlueService: sw.BlueService, GreenService: sw.GreenService, Mode: config.ModeListener}
	if err := target.ListenerARN.EnvDecode(sw.ProdListenerARN); err != nil {
		t.Fatal(err)
	}
	if err := target.TestListenerARN.EnvDecode(sw.TestListenerARN); err != nil {
		t.Fatal(err)
	}
	rep, tags := &fakeReports{}, &fakeTags{}
	d := w.deps(t, target, rep, tags)
	prepare := d.Render
	d.Render = func(ctx context.Context, live render.Live) (*render.Rendered, error) {
		// The live service comes from the observation deploy started from,
		// not from a second read.
		if src, ok := live.(*ServiceSource); !ok || src.State == nil || aws.ToString(src.State.ServiceName) != src.Service {
			t.Errorf("render's live source = %+v, want the service as the snapshot read it", live)
		}
		return prepare(ctx, live)
	}
	m := NewListenerModel(d)
	m.l.Poll = 500 * time.Millisecond
	if got := m.Services(); !slices.Equal(got, []string{sw.BlueService, sw.GreenService}) {
		t.Errorf("Services = %v", got)
	}
	var ue *UsageError
	if err := m.Finish(ctx); !errors.As(err, &ue) {
		t.Errorf("Finish in the listener model = %v, want a usage error", err)
	}
	if err := m.Deploy(ctx); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "succeeded" || rep.dotenv[EnvIdleColour] != "green" || rep.dotenv[EnvLiveColour] != "green" || rep.dotenv[EnvTestURL] == "" {
		t.Errorf("deploy.env after Deploy = %v", rep.dotenv)
	}
	if !slices.Equal(tags.moved, []string{digestA}) {
		t.Errorf("live tag moves = %v, want the deployed digest", tags.moved)
	}
	if err := m.Rollback(ctx); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if s := rep.last(t); s.Live != snapshot.Blue {
		t.Errorf("after Rollback live is %s", s.Live)
	}
	if err := m.Promote(ctx, snapshot.Green); err != nil {
		t.Fatalf("Promote (switch) to green: %v", err)
	}
	if err := m.Switch(ctx, snapshot.Green); err != nil {
		t.Fatalf("Switch to the live colour: %v", err)
	}
	if s := rep.last(t); s.Live != snapshot.Green {
		t.Errorf("after Switch live is %s", s.Live)
	}
	// Manual: deploy leaves production where it is, on the idle colour's
	// side behind the test route.
	d.Settings.Switch = &config.Switch{Switch: "manual", Steps: config.Steps{100}}
	manual := NewListenerModel(d)
	if err := manual.Deploy(ctx); err != nil {
		t.Fatalf("manual Deploy: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "idle-ready" || rep.dotenv[EnvIdleColour] != "blue" || rep.last(t).Live != snapshot.Green {
		t.Errorf("deploy.env after a manual Deploy = %v", rep.dotenv)
	}
}
