package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// ECSModel is one service that ECS deploys blue/green, linear or canary
// itself (deploymentController ECS): deploy.Model over ECSNative.
type ECSModel struct {
	d *Deps
	// run is resolved once per run.
	run      *ecsRun
	observed bool
}

type ecsRun struct {
	e      *ECSNative
	target *ECSService
	dep    *config.Deployment
}

// NewECSModel is the ecs model (BG_MODE=ecs).
func NewECSModel(d Deps) *ECSModel { return &ECSModel{d: &d} }

// Services are the one service.
func (m *ECSModel) Services() []string { return []string{m.d.Settings.Target.Service} }

func (m *ECSModel) resolve(ctx context.Context) (*ecsRun, error) { return m.resolveWith(ctx, nil) }

// resolveWith reads the service (svc when already read) and sets up the
// model's policies from the settings, once.
func (m *ECSModel) resolveWith(ctx context.Context, svc *ecstypes.Service) (*ecsRun, error) {
	if m.run != nil {
		return m.run, nil
	}
	d := m.d
	run := &ecsRun{dep: d.Settings.Deployment}
	if run.dep == nil {
		run.dep = &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"}
	}
	watch := d.Settings.Watch
	if watch == nil {
		watch = &config.Watch{OnTimeout: config.TimeoutLeave}
	}
	run.e = &ECSNative{
		ECS: d.Clients.ECS, ELB: d.Clients.ELB, Clock: d.clock(), Log: d.Log, Progress: d.Progress,
		Smoke:   verify.NewChecker(d.Log, nil).WithClock(d.clock()),
		Promote: PromotePolicy(run.dep.Promote), WaitFor: WaitFor(run.dep.WaitFor),
		OnInterrupt: InterruptPolicy(run.dep.OnInterrupt), OnTimeout: TimeoutPolicy(watch.OnTimeout),
		OnBusy: BusyPolicy(run.dep.OnBusy), Region: d.Clients.Region, StopUntil: d.CI.JobEnd,
	}
	if checks := d.Settings.Checks; checks != nil {
		run.e.TestSmoke = SmokeFor(checks, checks.TestURL)
		run.e.ProdSmoke = SmokeFor(checks, checks.ProdURL)
	}
	var err error
	if run.e.Timeout, err = d.deadline(watch, nil); err != nil {
		return nil, err
	}
	t := d.Settings.Target
	if run.target, err = run.e.Resolve(ctx, t.Cluster, t.Service, svc); err != nil {
		return nil, err
	}
	d.Log.Info("resolved service", "cluster", run.target.Cluster, "service", run.target.Service, "model", "ecs", "strategy", string(run.target.Strategy))
	m.run = run
	return run, nil
}

// watching is resolve for a command that watches a service deployment: the
// target groups' deregistration delay tells the watcher when CLEAN_UP ends.
func (m *ECSModel) watching(ctx context.Context) (*ecsRun, error) {
	run, err := m.resolve(ctx)
	if err == nil {
		run.e.LoadDrain(ctx, run.target)
	}
	return run, err
}

// Switch has no meaning here: ECS moves the traffic itself.
func (m *ECSModel) Switch(context.Context, snapshot.Colour) error {
	return &UsageError{
		Msg:  "switch moves production between two services (the listener model); in the ecs model ECS moves traffic itself",
		Hint: "promote continues a deployment held at its PAUSE hook, rollback moves production back",
	}
}

// Snapshot reads the service: the first time with what resolve read.
func (m *ECSModel) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	run, err := m.resolve(ctx)
	if err != nil {
		return nil, err
	}
	in := snapshot.ECSService{Cluster: run.target.Cluster, Service: run.target.Service}
	if !m.observed && m.d.Settings.Watch == nil {
		// Status and verify change nothing between resolve's read and this.
		in.State = run.target.State
	}
	m.observed = true
	return (&snapshot.ECSReader{ECS: m.d.Clients.ECS, ELB: m.d.Clients.ELB}).Read(ctx, in)
}

// Deploy renders and registers the task definition, points the service at
// it (or attaches to this task definition's deployment in flight), and
// watches the service deployment through its gate to the end.
func (m *ECSModel) Deploy(ctx context.Context) error {
	d := m.d
	run, err := m.watching(ctx)
	if err != nil {
		return err
	}
	if err := run.e.CheckPolicies(run.target); err != nil {
		return err
	}
	if d.CI.Err != nil {
		return &UsageError{Msg: d.CI.Err.Error()}
	}
	endRender := d.section("ecs_bluegreen_render", "Rendering and registering the task definition", true)
	r, err := d.Render(ctx, &ServiceSource{ECS: d.Clients.ECS, Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.State})
	if err != nil {
		endRender()
		return err
	}
	reg, err := m.register(ctx, r.TaskDef)
	endRender()
	if err != nil {
		return err
	}
	d.Log.Info(run.e.Gate(run.target))
	started, err := run.e.Start(ctx, run.target, reg.ARN, func(arn string) {
		d.Log.Warn("another service deployment is in flight: waiting for it to end", "service_deployment", arn)
	})
	if err != nil {
		return d.interrupted(ctx, err)
	}
	dotenv := map[string]string{EnvImage: d.Settings.Image, EnvTaskDefinition: reg.ARN}
	maps.Copy(dotenv, environmentURLs(ctx, d.Log, d.Clients.ELB, d.Settings.Checks, run.target.ProdRule, run.target.TestRule))
	if started.Unchanged {
		d.Log.Info("the service already runs this task definition: nothing to deploy", "task_definition", reg.ARN)
		dotenv[EnvOutcome] = "succeeded"
		if err := d.Reports.Dotenv(dotenv); err != nil {
			return err
		}
		return m.report(ctx)
	}
	arn := started.ARN
	if started.Attached {
		d.Log.Info("this task definition's service deployment is already running: watching it", "service_deployment", arn)
	} else {
		d.Log.Info("service deployment started", "service_deployment", arn, "strategy", string(run.target.Strategy))
	}
	dotenv[EnvDeploymentID], dotenv[EnvOutcome] = arn, "in-progress"
	if err := d.Reports.Dotenv(dotenv); err != nil {
		return err
	}
	endWatch := d.section("ecs_bluegreen_watch", "Service deployment "+arn, false)
	out, werr := run.e.Watch(ctx, run.target, arn, WatchOptions{})
	endWatch()
	switch {
	case werr == nil && out.AwaitingPromotion:
		dotenv[EnvOutcome] = "awaiting-promotion"
	case werr == nil && out.Baking:
		dotenv[EnvOutcome] = "traffic-moved"
	case werr == nil:
		dotenv[EnvOutcome] = "succeeded"
	default:
		var se *ServiceDeploymentError
		if errors.As(werr, &se) {
			dotenv[EnvOutcome] = "failed"
			if se.RolledBack() {
				dotenv[EnvOutcome] = "rolled-back"
			}
		}
	}
	if err := d.Reports.Dotenv(dotenv); err != nil && werr == nil {
		return err
	}
	if werr != nil {
		_ = m.report(context.WithoutCancel(ctx))
		return werr
	}
	if dotenv[EnvOutcome] == "succeeded" || dotenv[EnvOutcome] == "traffic-moved" {
		if err := m.moveLiveTags(ctx); err != nil {
			d.Log.Warn("production runs the new image, but moving the registry's live tag failed", "error", err.Error())
		}
	}
	return m.report(ctx)
}

// register registers the rendered task definition and writes it to the
// output folder (the ecs model has no AppSpec).
func (m *ECSModel) register(ctx context.Context, td *render.TaskDef) (render.Registered, error) {
	d := m.d
	reg, err := render.Register(ctx, d.Clients.ECS, td)
	if err != nil {
		return reg, err
	}
	if reg.Reused {
		d.Log.Info("task definition unchanged: reusing the latest revision", "task_definition", reg.ARN)
	} else {
		d.Log.Info("registered task definition", "task_definition", reg.ARN)
	}
	data, err := td.JSON()
	if err != nil {
		return reg, err
	}
	return reg, d.Reports.Artifact("taskdef.json", data)
}

// moveLiveTags points the live tag at the deployed image (Deps.moveLiveTags).
func (m *ECSModel) moveLiveTags(ctx context.Context) error { return m.d.moveLiveTags(ctx) }

// report writes the status reports and the live colour, and prints the
// status; a snapshot that cannot be read is a warning, not a failure.
func (m *ECSModel) report(ctx context.Context) error {
	s, err := m.Snapshot(ctx)
	if err != nil {
		m.d.Log.Warn("the status report could not be read", "error", err.Error())
		return nil
	}
	return m.d.Reports.Status(ctx, s)
}

// current is the service deployment in flight, or nil.
func (m *ECSModel) current(ctx context.Context, run *ecsRun) (*ecstypes.ServiceDeployment, error) {
	d, err := run.e.Current(ctx, run.target)
	if err != nil || d == nil {
		return nil, err
	}
	switch d.Status {
	case ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
		ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return nil, nil
	}
	return d, nil
}

// Promote continues a deployment held at its PAUSE hook, then watches it.
func (m *ECSModel) Promote(ctx context.Context, _ snapshot.Colour) error {
	d := m.d
	run, err := m.watching(ctx)
	if err != nil {
		return err
	}
	cur, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	var hook string
	if cur != nil {
		for _, h := range cur.LifecycleHookDetails {
			if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
				hook = aws.ToString(h.HookId)
			}
		}
	}
	if hook == "" {
		d.Log.Info("nothing to promote: no service deployment of " + run.target.Service + " waits at a PAUSE hook (promote continues one; run deploy with BG_PROMOTE=manual first)")
		return nil
	}
	arn := aws.ToString(cur.ServiceDeploymentArn)
	if err := run.e.Continue(ctx, arn, hook, false); err != nil {
		return err
	}
	d.Log.Info("continuing: production traffic starts moving", "service_deployment", arn, "hook", hook)
	run.e.Promote, run.e.TestSmoke = PromoteAuto, nil // checked before the pause
	if _, err := run.e.Watch(ctx, run.target, arn, WatchOptions{}); err != nil {
		_ = m.report(context.WithoutCancel(ctx))
		return err
	}
	if err := d.Reports.Dotenv(map[string]string{EnvOutcome: "succeeded"}); err != nil {
		return err
	}
	return m.report(ctx)
}

// Rollback stops the deployment in flight with rollback and watches ECS
// roll back; with none in flight it deploys the revision production ran
// before the last successful deployment.
func (m *ECSModel) Rollback(ctx context.Context) error {
	d := m.d
	run, err := m.watching(ctx)
	if err != nil {
		return err
	}
	cur, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	run.e.TestSmoke, run.e.ProdSmoke = nil, nil
	if cur != nil {
		arn := aws.ToString(cur.ServiceDeploymentArn)
		d.Log.Warn("stopping the service deployment with rollback", "service_deployment", arn)
		if err := run.e.Stop(ctx, arn); err != nil {
			return err
		}
		_, err := run.e.Watch(ctx, run.target, arn, WatchOptions{NoChecks: true})
		var se *ServiceDeploymentError
		switch {
		case errors.As(err, &se) && se.RolledBack():
			d.Log.Info("rolled back: production is on the previous revision", "service_deployment", arn)
			return m.report(ctx)
		case err == nil:
			return fmt.Errorf("service deployment %s ended SUCCESSFUL before the stop took effect: nothing was rolled back; run rollback again to go back to the previous revision", arn)
		}
		return err
	}
	// deploy.env names the task definition this pipeline deployed: when
	// the service no longer runs it, this pipeline's rollback already ran
	// (a retried job) or someone deployed since, and going back again
	// would undo theirs.
	if mine, live := d.CI.TaskDefinition, aws.ToString(run.target.State.TaskDefinition); mine != "" && live != mine {
		d.Log.Info("nothing to roll back: the service no longer runs this pipeline's task definition", "pipeline_task_definition", ShortTaskDef(mine), "live", ShortTaskDef(live))
		return nil
	}
	prev, err := run.e.Previous(ctx, run.target)
	if err != nil {
		return err
	}
	if prev == "" {
		return &UsageError{Msg: "no service deployment is in flight, and no earlier revision of " + run.target.Service + " is known to go back to", Hint: "nothing was changed; run deploy with the image to go back to"}
	}
	d.Log.Warn("no service deployment in flight: going back to the previous revision", "task_definition", ShortTaskDef(prev))
	started, err := run.e.Start(ctx, run.target, prev, nil)
	if err != nil || started.Unchanged {
		return err
	}
	if _, err := run.e.Watch(ctx, run.target, started.ARN, WatchOptions{NoChecks: true}); err != nil {
		return err
	}
	if err := d.Reports.Dotenv(map[string]string{EnvDeploymentID: started.ARN, EnvTaskDefinition: prev, EnvOutcome: "succeeded"}); err != nil {
		return err
	}
	return m.report(ctx)
}

// Finish says ECS has no call that ends the bake time early (the service
// deployment API offers stop, with rollback, and continue, for PAUSE hooks
// only), so finish says so and changes nothing.
func (m *ECSModel) Finish(ctx context.Context) error {
	run, err := m.resolve(ctx)
	if err != nil {
		return err
	}
	cur, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	what := "no service deployment is in flight"
	if cur != nil {
		what = "service deployment " + aws.ToString(cur.ServiceDeploymentArn) + " is " + string(cur.Status)
		if cur.LifecycleStage != "" {
			what += " at " + string(cur.LifecycleStage)
		}
	}
	m.d.Log.Info("nothing to finish: ECS offers no way to end a service deployment's bake time early; the old revision goes when bakeTimeInMinutes ends (" + what + ")")
	return nil
}

// AutoModel is BG_MODE=auto for one service: the codedeploy model, or the
// ecs model when ECS itself deploys the service blue/green, linear or
// canary. The codedeploy model is tried first; when it refuses the service
// for its deployment controller (a ResolveError carrying the service it
// read, before anything changed), the ecs model runs with that same read,
// so choosing costs no call.
type AutoModel struct {
	d      *Deps
	chosen Model
}

// NewAutoModel is the model BG_MODE=auto picks from the service.
func NewAutoModel(d Deps) *AutoModel { return &AutoModel{d: &d} }

func (m *AutoModel) run(ctx context.Context, f func(Model) error) error {
	if m.chosen != nil {
		return f(m.chosen)
	}
	cd := NewCodeDeployModel(*m.d)
	err := f(cd)
	var re *ResolveError
	if !errors.As(err, &re) {
		m.chosen = cd
		return err
	}
	svc := re.Service
	if svc == nil || !IsECSNative(svc) {
		return err
	}
	m.d.Log.Info("ECS itself deploys the service (deploymentController ECS, strategy " + string(svc.DeploymentConfiguration.Strategy) + "): the ecs model")
	em := NewECSModel(*m.d)
	if _, err := em.resolveWith(ctx, svc); err != nil {
		return err
	}
	m.chosen = em
	return f(em)
}

// Deploy runs the chosen model's deploy.
func (m *AutoModel) Deploy(ctx context.Context) error {
	return m.run(ctx, func(c Model) error { return c.Deploy(ctx) })
}

// Promote runs the chosen model's promote.
func (m *AutoModel) Promote(ctx context.Context, to snapshot.Colour) error {
	return m.run(ctx, func(c Model) error { return c.Promote(ctx, to) })
}

// Rollback runs the chosen model's rollback.
func (m *AutoModel) Rollback(ctx context.Context) error {
	return m.run(ctx, func(c Model) error { return c.Rollback(ctx) })
}

// Finish runs the chosen model's finish.
func (m *AutoModel) Finish(ctx context.Context) error {
	return m.run(ctx, func(c Model) error { return c.Finish(ctx) })
}

// Switch runs the chosen model's switch.
func (m *AutoModel) Switch(ctx context.Context, to snapshot.Colour) error {
	return m.run(ctx, func(c Model) error { return c.Switch(ctx, to) })
}

// Snapshot reads the service as the chosen model does.
func (m *AutoModel) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	var s *snapshot.Snapshot
	err := m.run(ctx, func(c Model) error {
		var err error
		s, err = c.Snapshot(ctx)
		return err
	})
	return s, err
}

// Services are the one service.
func (m *AutoModel) Services() []string { return []string{m.d.Settings.Target.Service} }
