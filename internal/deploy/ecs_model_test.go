package deploy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// pauseAfterTestTraffic holds a service deployment once test traffic moved,
// until ContinueServiceDeployment.
var pauseAfterTestTraffic = []ecstypes.DeploymentLifecycleHook{{
	TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
	LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift},
}}

// ecsWorld is the simulator seeded with an ECS-native service.
func ecsWorld(t *testing.T, o seed.ECSNativeOptions) (*world, *seed.ECSNative) {
	t.Helper()
	w := startWorld(t)
	sw, err := seed.CreateECSNative(context.Background(), w.c, o)
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	return w, sw
}

// checksAt smoke-checks a test URL answering status.
func checksAt(t *testing.T, status int) *config.Checks {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL + "/health")
	var ok config.StatusSet
	if err := ok.EnvDecode("200"); err != nil {
		t.Fatal(err)
	}
	return &config.Checks{TestURL: config.URL{URL: u}, SmokeStatus: ok, SmokeSuccesses: 2, SmokeFailures: 2, SmokeInterval: 10 * time.Millisecond, SmokeTimeout: 5 * time.Second}
}

func (w *world) serviceDeployment(t *testing.T, sw *seed.ECSNative) ecstypes.ServiceDeployment {
	t.Helper()
	ctx := context.Background()
	list, err := w.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(sw.Cluster), Service: aws.String(sw.Service)})
	if err != nil || len(list.ServiceDeployments) == 0 {
		t.Fatalf("ListServiceDeployments: %v (%d)", err, len(list.ServiceDeployments))
	}
	out, err := w.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)}})
	if err != nil || len(out.ServiceDeployments) == 0 {
		t.Fatalf("DescribeServiceDeployments: %v", err)
	}
	return out.ServiceDeployments[0]
}

// TestECSModel runs the ecs model's commands from its own package against
// the simulator: the gate at a PAUSE hook passing, BG_PROMOTE=manual and the
// promote button, rollback in flight and after the end, finish and switch,
// and the auto model finding the service is ECS's to deploy.
func TestECSModel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, sw := ecsWorld(t, seed.ECSNativeOptions{Hooks: pauseAfterTestTraffic})
	target := &config.Target{Cluster: sw.Cluster, Service: sw.Service}

	// The gate passes at the PAUSE hook and production moves.
	rep, tags := &fakeReports{}, &fakeTags{}
	d := w.deps(t, target, rep, tags)
	d.Settings.Checks = checksAt(t, http.StatusOK)
	m := NewECSModel(d)
	if err := m.Deploy(ctx); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "succeeded" || !strings.Contains(rep.dotenv[EnvDeploymentID], "service-deployment") || rep.dotenv[EnvLiveColour] != "green" {
		t.Errorf("deploy.env after Deploy = %v", rep.dotenv)
	}
	if len(rep.files["taskdef.json"]) == 0 || len(tags.moved) != 1 {
		t.Errorf("artifacts %v, live tag moves %v", rep.files, tags.moved)
	}
	if got := w.serviceDeployment(t, sw).Status; got != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment %s, want SUCCESSFUL", got)
	}
	if s, err := NewECSModel(w.deps(t, target, &fakeReports{}, nil)).Snapshot(ctx); err != nil || s.Live != snapshot.Green {
		t.Errorf("Snapshot after Deploy: %v, live %v", err, s)
	}

	// Nothing to act on: promote and finish say so and change nothing;
	// switch has no meaning in this model.
	idle := NewECSModel(w.deps(t, target, &fakeReports{}, nil))
	if err := idle.Promote(ctx, ""); err != nil {
		t.Errorf("Promote with nothing held: %v", err)
	}
	if err := idle.Finish(ctx); err != nil {
		t.Errorf("Finish: %v", err)
	}
	var ue *UsageError
	if err := idle.Switch(ctx, snapshot.Blue); !errors.As(err, &ue) || ue.Hint == "" {
		t.Errorf("Switch = %v, want a usage error with a hint", err)
	}
	if got := idle.Services(); len(got) != 1 || got[0] != sw.Service {
		t.Errorf("Services = %v", got)
	}

	// BG_PROMOTE=manual ends the job at the hook; promote continues it.
	rep = &fakeReports{}
	d = withImage(t, w.deps(t, target, rep, nil), "registry.example/web:3")
	d.Settings.Deployment.Promote = "manual"
	if err := NewECSModel(d).Deploy(ctx); err != nil {
		t.Fatalf("Deploy with BG_PROMOTE=manual: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "awaiting-promotion" {
		t.Errorf("deploy.env = %v, want awaiting-promotion", rep.dotenv)
	}
	rep = &fakeReports{}
	if err := NewECSModel(w.deps(t, target, rep, nil)).Promote(ctx, ""); err != nil {
		t.Fatalf("Promote: %v", err)
	}
	if rep.dotenv[EnvOutcome] != "succeeded" {
		t.Errorf("deploy.env after Promote = %v", rep.dotenv)
	}

	// A deployment held at the hook is rolled back by rollback.
	d = withImage(t, w.deps(t, target, &fakeReports{}, nil), "registry.example/web:4")
	d.Settings.Deployment.Promote = "manual"
	if err := NewECSModel(d).Deploy(ctx); err != nil {
		t.Fatalf("third Deploy: %v", err)
	}
	if err := NewECSModel(w.deps(t, target, &fakeReports{}, nil)).Rollback(ctx); err != nil {
		t.Fatalf("Rollback in flight: %v", err)
	}
	if got := w.serviceDeployment(t, sw).Status; got != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment after Rollback %s, want ROLLBACK_SUCCESSFUL", got)
	}

	// After the end, rollback goes back to the revision before the last
	// successful deployment; a retried job of a pipeline whose revision no
	// longer runs changes nothing.
	before := aws.ToString(w.describeService(t, sw).TaskDefinition)
	rep = &fakeReports{}
	if err := NewECSModel(w.deps(t, target, rep, nil)).Rollback(ctx); err != nil {
		t.Fatalf("Rollback after the end: %v", err)
	}
	after := aws.ToString(w.describeService(t, sw).TaskDefinition)
	if after == before || rep.dotenv[EnvTaskDefinition] != after {
		t.Errorf("Rollback after the end: service runs %s (was %s), deploy.env %v", after, before, rep.dotenv)
	}
	d = w.deps(t, target, &fakeReports{}, nil)
	d.CI.TaskDefinition = before
	if err := NewECSModel(d).Rollback(ctx); err != nil {
		t.Errorf("retried Rollback: %v", err)
	}
	if again := aws.ToString(w.describeService(t, sw).TaskDefinition); again != after {
		t.Errorf("a retried rollback moved the service again: %s, want %s", again, after)
	}

	// BG_MODE=auto: the codedeploy model refuses the ECS-controlled service
	// and the ecs model runs on the same read.
	auto := NewAutoModel(w.deps(t, target, &fakeReports{}, nil))
	if s, err := auto.Snapshot(ctx); err != nil || s.Live == "" {
		t.Errorf("auto Snapshot: %v", err)
	}
	if err := auto.Finish(ctx); err != nil {
		t.Errorf("auto Finish: %v", err)
	}
	if err := auto.Switch(ctx, ""); !errors.As(err, &ue) {
		t.Errorf("auto Switch = %v, want the ecs model's usage error", err)
	}
	if got := auto.Services(); len(got) != 1 {
		t.Errorf("auto Services = %v", got)
	}
}

// TestECSModelGateFails: the test check fails at the PAUSE hook, ECS is
// told to roll back there, and deploy fails with the rollback.
func TestECSModelGateFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, sw := ecsWorld(t, seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyCanary, Hooks: pauseAfterTestTraffic})
	rep := &fakeReports{}
	d := w.deps(t, &config.Target{Cluster: sw.Cluster, Service: sw.Service}, rep, nil)
	d.Settings.Checks = checksAt(t, http.StatusInternalServerError)
	err := NewAutoModel(d).Deploy(ctx)
	var se *ServiceDeploymentError
	if !errors.As(err, &se) || !se.RolledBack() || se.ExitCode() != 1 {
		t.Fatalf("Deploy with a failing test check = %v, want a rolled-back service deployment", err)
	}
	if rep.dotenv[EnvOutcome] != "rolled-back" || rep.dotenv[EnvLiveColour] != "blue" {
		t.Errorf("deploy.env = %v", rep.dotenv)
	}
	if got := w.serviceDeployment(t, sw).Status; got != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s", got)
	}
}

// TestECSModelWithoutPauseHook: without a hook the check runs while ECS
// moves on; a failure stops the deployment with rollback, and
// BG_PROMOTE=manual is refused before anything changes.
func TestECSModelWithoutPauseHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, sw := ecsWorld(t, seed.ECSNativeOptions{BakeTimeInMinutes: 2})
	target := &config.Target{Cluster: sw.Cluster, Service: sw.Service}
	d := w.deps(t, target, &fakeReports{}, nil)
	d.Settings.Deployment.Promote = "manual"
	var re *ResolveError
	if err := NewECSModel(d).Deploy(ctx); !errors.As(err, &re) || re.ExitCode() != 2 || !strings.Contains(re.Hint, "PAUSE") {
		t.Fatalf("BG_PROMOTE=manual without a PAUSE hook = %v, want a refusal (exit 2) naming the hook", err)
	}
	before := aws.ToString(w.describeService(t, sw).TaskDefinition)
	if strings.HasSuffix(before, ":2") {
		t.Fatalf("the refused deploy changed the service: %s", before)
	}
	rep := &fakeReports{}
	d = w.deps(t, target, rep, nil)
	d.Settings.Checks = checksAt(t, http.StatusInternalServerError)
	err := NewECSModel(d).Deploy(ctx)
	var se *ServiceDeploymentError
	if !errors.As(err, &se) || !se.RolledBack() {
		t.Fatalf("Deploy with a failing test check = %v, want a rollback", err)
	}
	if got := aws.ToString(w.describeService(t, sw).TaskDefinition); got != before {
		t.Errorf("after the rollback the service runs %s, want %s", got, before)
	}
}

// withImage makes d deploy image (render falls back on the live service).
func withImage(t *testing.T, d Deps, image string) Deps {
	t.Helper()
	dir := t.TempDir()
	d.Settings.Image, d.Settings.ImageDigest = image, ""
	d.Render = func(ctx context.Context, live render.Live) (*render.Rendered, error) {
		return render.Files{
			TaskdefFile: filepath.Join(dir, "taskdef.json"), AppspecFile: filepath.Join(dir, "appspec.yml"),
			Image: image, Live: live, Log: quiet,
		}.Prepare(ctx)
	}
	return d
}

func (w *world) describeService(t *testing.T, sw *seed.ECSNative) ecstypes.Service {
	t.Helper()
	out, err := w.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(sw.Cluster), Services: []string{sw.Service}})
	if err != nil || len(out.Services) == 0 {
		t.Fatalf("DescribeServices: %v", err)
	}
	return out.Services[0]
}

// lateECSStop holds StopServiceDeployment until the service deployment has
// ended: the stop a timeout sends arrives after the deployment succeeded.
type lateECSStop struct {
	ECSAPI
	held chan struct{}
}

func (l *lateECSStop) StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	for {
		out, err := l.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(in.ServiceDeploymentArn)}})
		if err == nil && len(out.ServiceDeployments) == 1 && out.ServiceDeployments[0].Status == ecstypes.ServiceDeploymentStatusSuccessful {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	close(l.held)
	return l.ECSAPI.StopServiceDeployment(ctx, in, optFns...)
}

// TestECSModelTimeoutAfterSuccess: BG_ON_TIMEOUT=rollback whose stop
// reaches a deployment that already succeeded reports what ECS says, a
// success (exit 0), never "stopped with rollback".
func TestECSModelTimeoutAfterSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, sw := ecsWorld(t, seed.ECSNativeOptions{BakeTimeInMinutes: 5})
	late := &lateECSStop{ECSAPI: w.ecs, held: make(chan struct{})}
	rep := &fakeReports{}
	d := w.deps(t, &config.Target{Cluster: sw.Cluster, Service: sw.Service}, rep, nil)
	d.Clients.ECS = late
	d.Settings.Watch = &config.Watch{Timeout: 50 * time.Millisecond, OnTimeout: config.TimeoutRollback}
	err := NewECSModel(d).Deploy(ctx)
	select {
	case <-late.held:
	default:
		t.Fatalf("the timeout sent no stop (Deploy = %v)", err)
	}
	var te *ECSTimeoutError
	if err != nil || errors.As(err, &te) {
		t.Fatalf("Deploy = %v, want success: the deployment succeeded before the stop", err)
	}
	if got := w.serviceDeployment(t, sw).Status; got != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment %s", got)
	}
}
