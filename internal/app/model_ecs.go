package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// ecsModel is one service that ECS deploys blue/green, linear or canary
// itself (deploymentController ECS): the wiring of deploy.ECSNative.
type ecsModel struct {
	inv *invocation
	// run is resolved once per run.
	run *ecsRun
}

type ecsRun struct {
	e      *deploy.ECSNative
	target *deploy.ECSService
	dep    *config.Deployment
}

// newECSModel is the ecs model (BG_MODE=ecs).
func newECSModel(inv *invocation) model { return &ecsModel{inv: inv} }

// detectModel is BG_MODE=auto for one service: the codedeploy model, or
// the ecs model when ECS itself deploys the service blue/green, linear or
// canary. The codedeploy model is tried first, so it costs no call more;
// when it refuses the service (a ResolveError, before anything changed),
// the service is read once more and, if ECS deploys it, the ecs model runs
// with that read.
func detectModel(inv *invocation) model { return &detectingModel{inv: inv} }

type detectingModel struct {
	inv    *invocation
	chosen model
}

// run runs f on the chosen model, choosing it first.
func (m *detectingModel) run(ctx context.Context, f func(model) error) error {
	if m.chosen != nil {
		return f(m.chosen)
	}
	err := f(codeDeployModel{inv: m.inv})
	var re *deploy.ResolveError
	if !errors.As(err, &re) {
		m.chosen = codeDeployModel{inv: m.inv}
		return err
	}
	inv := m.inv
	clients, cerr := inv.clients(ctx)
	if cerr != nil {
		return err
	}
	t := inv.settings.Target
	svc, derr := (&deploy.ECSNative{ECS: clients.ECS}).DescribeService(ctx, t.Cluster, t.Service)
	if derr != nil || !deploy.IsECSNative(svc) {
		return err
	}
	inv.log.Info("ECS itself deploys the service (deploymentController ECS, strategy " + string(svc.DeploymentConfiguration.Strategy) + "): the ecs model")
	em := &ecsModel{inv: inv}
	if _, err := em.resolveWith(ctx, svc); err != nil {
		return err
	}
	m.chosen = em
	return f(em)
}

func (m *detectingModel) deploy(ctx context.Context) error {
	return m.run(ctx, func(c model) error { return c.deploy(ctx) })
}

func (m *detectingModel) promote(ctx context.Context) error {
	return m.run(ctx, func(c model) error { return c.promote(ctx) })
}

func (m *detectingModel) rollback(ctx context.Context) error {
	return m.run(ctx, func(c model) error { return c.rollback(ctx) })
}

func (m *detectingModel) finish(ctx context.Context) error {
	return m.run(ctx, func(c model) error { return c.finish(ctx) })
}

func (m *detectingModel) switchColours(ctx context.Context) error {
	return m.run(ctx, func(c model) error { return c.switchColours(ctx) })
}

func (m *detectingModel) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	var s *snapshot.Snapshot
	err := m.run(ctx, func(c model) error {
		var err error
		s, err = c.snapshot(ctx)
		return err
	})
	return s, err
}

func (m *detectingModel) services() []string { return []string{m.inv.settings.Target.Service} }

func (m *ecsModel) resolve(ctx context.Context) (*ecsRun, error) { return m.resolveWith(ctx, nil) }

// resolveWith reads the service (svc when already read) and sets up the
// model's policies from the settings, once.
func (m *ecsModel) resolveWith(ctx context.Context, svc *ecstypes.Service) (*ecsRun, error) {
	if m.run != nil {
		return m.run, nil
	}
	inv := m.inv
	clients, err := inv.clients(ctx)
	if err != nil {
		return nil, err
	}
	run := &ecsRun{dep: inv.settings.Deployment}
	if run.dep == nil {
		run.dep = &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"}
	}
	watch := inv.settings.Watch
	if watch == nil {
		watch = &config.Watch{OnTimeout: config.TimeoutLeave}
	}
	run.e = &deploy.ECSNative{
		ECS: clients.ECS, ELB: clients.ELB, Clock: inv.clock(), Log: inv.log, Progress: inv.progress,
		Smoke:   verify.NewChecker(inv.log, nil).WithClock(inv.clock()),
		Promote: deploy.PromotePolicy(run.dep.Promote), WaitFor: deploy.WaitFor(run.dep.WaitFor),
		OnInterrupt: deploy.InterruptPolicy(run.dep.OnInterrupt), OnTimeout: deploy.TimeoutPolicy(watch.OnTimeout),
		OnBusy: deploy.BusyPolicy(run.dep.OnBusy), Region: clients.Config.Region,
	}
	if checks := inv.settings.Checks; checks != nil {
		run.e.TestSmoke = smokeFor(checks, checks.TestURL)
		run.e.ProdSmoke = smokeFor(checks, checks.ProdURL)
	}
	if run.e.Timeout, err = inv.deadline(watch, nil); err != nil {
		return nil, err
	}
	t := inv.settings.Target
	if run.target, err = run.e.Resolve(ctx, t.Cluster, t.Service, svc); err != nil {
		return nil, err
	}
	if inv.cmd.watches() && inv.cmd.name != "finish" { // finish watches nothing in the ecs model
		run.e.LoadDrain(ctx, run.target)
	}
	inv.log.Info("resolved service", "cluster", run.target.Cluster, "service", run.target.Service, "model", "ecs", "strategy", string(run.target.Strategy))
	m.run = run
	return run, nil
}

func (m *ecsModel) services() []string { return []string{m.inv.settings.Target.Service} }

func (m *ecsModel) switchColours(context.Context) error {
	return &usageError{
		msg:  "switch moves production between two services (the listener model); in the ecs model ECS moves traffic itself",
		hint: "promote continues a deployment held at its PAUSE hook, rollback moves production back",
	}
}

// snapshot reads the service: the first time with what resolve read.
func (m *ecsModel) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	inv := m.inv
	run, err := m.resolve(ctx)
	if err != nil {
		return nil, err
	}
	c, err := inv.clients(ctx)
	if err != nil {
		return nil, err
	}
	in := snapshot.ECSService{Cluster: run.target.Cluster, Service: run.target.Service}
	if !inv.observed && !inv.cmd.watches() {
		in.State = run.target.State
	}
	inv.observed = true
	return (&snapshot.ECSReader{ECS: c.ECS, ELB: c.ELB}).Read(ctx, in)
}

// deploy renders and registers the task definition, points the service at
// it (or attaches to this task definition's deployment in flight), and
// watches the service deployment through its gate to the end.
func (m *ecsModel) deploy(ctx context.Context) error {
	inv := m.inv
	run, err := m.resolve(ctx)
	if err != nil {
		return err
	}
	if err := run.e.CheckPolicies(run.target); err != nil {
		return err
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	ci, err := gitlab.ReadContext(inv.getenv)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	sections := gitlab.Sections{W: inv.env.Stderr, InCI: ci.InCI}
	endRender := sections.Start("ecs_bluegreen_render", "Rendering and registering the task definition", true)
	r, err := inv.renderFiles(ctx, &deploy.ServiceSource{ECS: clients.ECS, Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.State})
	if err != nil {
		endRender()
		return err
	}
	reg, err := registerTaskDef(ctx, inv, clients.ECS, r.taskDef)
	endRender()
	if err != nil {
		return err
	}
	inv.log.Info(run.e.Gate(run.target))
	started, err := run.e.Start(ctx, run.target, reg.ARN, func(arn string) {
		inv.log.Warn("another service deployment is in flight: waiting for it to end", "service_deployment", arn)
	})
	if err != nil {
		return interrupted(ctx, err)
	}
	dir := inv.settings.Output.Dir
	dotenv := map[string]string{envImage: inv.settings.Image.Image.String(), envTaskDefinition: reg.ARN}
	maps.Copy(dotenv, inv.environmentURLs(ctx, clients.ELB, run.target.ProdRule, run.target.TestRule))
	if started.Unchanged {
		inv.log.Info("the service already runs this task definition: nothing to deploy", "task_definition", reg.ARN)
		dotenv[envOutcome] = "succeeded"
		if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil {
			return err
		}
		return m.report(ctx)
	}
	arn := started.ARN
	if started.Attached {
		inv.log.Info("this task definition's service deployment is already running: watching it", "service_deployment", arn)
	} else {
		inv.log.Info("service deployment started", "service_deployment", arn, "strategy", string(run.target.Strategy))
	}
	dotenv[envDeploymentID], dotenv[envOutcome] = arn, "in-progress"
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil {
		return err
	}
	endWatch := sections.Start("ecs_bluegreen_watch", "Service deployment "+arn, false)
	out, werr := run.e.Watch(ctx, run.target, arn, deploy.WatchOptions{})
	endWatch()
	switch {
	case werr == nil && out.AwaitingPromotion:
		dotenv[envOutcome] = "awaiting-promotion"
	case werr == nil && out.Baking:
		dotenv[envOutcome] = "traffic-moved"
	case werr == nil:
		dotenv[envOutcome] = "succeeded"
	default:
		var se *deploy.ServiceDeploymentError
		if errors.As(werr, &se) {
			dotenv[envOutcome] = "failed"
			if se.RolledBack() {
				dotenv[envOutcome] = "rolled-back"
			}
		}
	}
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil && werr == nil {
		return err
	}
	if werr != nil {
		_ = m.report(context.WithoutCancel(ctx))
		return werr
	}
	if dotenv[envOutcome] == "succeeded" || dotenv[envOutcome] == "traffic-moved" {
		if err := inv.moveLiveTags(ctx); err != nil {
			inv.log.Warn("production runs the new image, but moving the registry's live tag failed", "error", err.Error())
		}
	}
	return m.report(ctx)
}

// registerTaskDef registers the rendered task definition and writes it to
// the output folder (the ecs model has no AppSpec).
func registerTaskDef(ctx context.Context, inv *invocation, api *ecs.Client, td *render.TaskDef) (render.Registered, error) {
	reg, err := render.Register(ctx, api, td)
	if err != nil {
		return reg, err
	}
	if reg.Reused {
		inv.log.Info("task definition unchanged: reusing the latest revision", "task_definition", reg.ARN)
	} else {
		inv.log.Info("registered task definition", "task_definition", reg.ARN)
	}
	data, err := td.JSON()
	if err != nil {
		return reg, err
	}
	return reg, report.WriteFile(filepath.Join(inv.settings.Output.Dir, "taskdef.json"), data, 0o644)
}

// report writes the status reports and the live colour, and prints the
// status; a snapshot that cannot be read is a warning, not a failure.
func (m *ecsModel) report(ctx context.Context) error {
	inv := m.inv
	s, err := inv.snapshot(ctx)
	if err != nil {
		inv.log.Warn("the status report could not be read", "error", err.Error())
		return nil
	}
	inv.readRegistryTags(ctx, s)
	dir := inv.settings.Output.Dir
	if err := writeStatus(dir, s); err != nil {
		return err
	}
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{envLiveColour: string(s.Live)}); err != nil {
		return err
	}
	_, err = fmt.Fprint(inv.env.Stdout, report.StatusMarkdown(s))
	return err
}

// current is the service deployment in flight, or nil.
func (m *ecsModel) current(ctx context.Context, run *ecsRun) (*ecstypes.ServiceDeployment, error) {
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

// promote continues a deployment held at its PAUSE hook, then watches it.
func (m *ecsModel) promote(ctx context.Context) error {
	inv := m.inv
	run, err := m.resolve(ctx)
	if err != nil {
		return err
	}
	d, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	var hook string
	if d != nil {
		for _, h := range d.LifecycleHookDetails {
			if h.TargetType == ecstypes.DeploymentLifecycleHookTargetTypePause && h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction {
				hook = aws.ToString(h.HookId)
			}
		}
	}
	if hook == "" {
		inv.log.Info("nothing to promote: no service deployment of " + run.target.Service + " waits at a PAUSE hook (promote continues one; run deploy with BG_PROMOTE=manual first)")
		return nil
	}
	arn := aws.ToString(d.ServiceDeploymentArn)
	if err := run.e.Continue(ctx, arn, hook, false); err != nil {
		return err
	}
	inv.log.Info("continuing: production traffic starts moving", "service_deployment", arn, "hook", hook)
	run.e.Promote, run.e.TestSmoke = deploy.PromoteAuto, nil // checked before the pause
	if _, err := run.e.Watch(ctx, run.target, arn, deploy.WatchOptions{}); err != nil {
		_ = m.report(context.WithoutCancel(ctx))
		return err
	}
	if err := report.MergeDotenv(filepath.Join(inv.settings.Output.Dir, report.DotenvFile), map[string]string{envOutcome: "succeeded"}); err != nil {
		return err
	}
	return m.report(ctx)
}

// rollback stops the deployment in flight with rollback and watches ECS
// roll back; with none in flight it deploys the revision production ran
// before the last successful deployment.
func (m *ecsModel) rollback(ctx context.Context) error {
	inv := m.inv
	run, err := m.resolve(ctx)
	if err != nil {
		return err
	}
	d, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	run.e.TestSmoke, run.e.ProdSmoke = nil, nil
	if d != nil {
		arn := aws.ToString(d.ServiceDeploymentArn)
		inv.log.Warn("stopping the service deployment with rollback", "service_deployment", arn)
		if err := run.e.Stop(ctx, arn); err != nil {
			return err
		}
		_, err := run.e.Watch(ctx, run.target, arn, deploy.WatchOptions{NoChecks: true})
		var se *deploy.ServiceDeploymentError
		switch {
		case errors.As(err, &se) && se.RolledBack():
			inv.log.Info("rolled back: production is on the previous revision", "service_deployment", arn)
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
	if mine, live := inv.getenv(envTaskDefinition), aws.ToString(run.target.State.TaskDefinition); mine != "" && live != mine {
		inv.log.Info("nothing to roll back: the service no longer runs this pipeline's task definition", "pipeline_task_definition", deploy.ShortTaskDef(mine), "live", deploy.ShortTaskDef(live))
		return nil
	}
	prev, err := run.e.Previous(ctx, run.target)
	if err != nil {
		return err
	}
	if prev == "" {
		return &usageError{msg: "no service deployment is in flight, and no earlier revision of " + run.target.Service + " is known to go back to", hint: "nothing was changed; run deploy with the image to go back to"}
	}
	inv.log.Warn("no service deployment in flight: going back to the previous revision", "task_definition", deploy.ShortTaskDef(prev))
	started, err := run.e.Start(ctx, run.target, prev, nil)
	if err != nil || started.Unchanged {
		return err
	}
	if _, err := run.e.Watch(ctx, run.target, started.ARN, deploy.WatchOptions{NoChecks: true}); err != nil {
		return err
	}
	if err := report.MergeDotenv(filepath.Join(inv.settings.Output.Dir, report.DotenvFile), map[string]string{envDeploymentID: started.ARN, envTaskDefinition: prev, envOutcome: "succeeded"}); err != nil {
		return err
	}
	return m.report(ctx)
}

// finish: ECS has no call that ends the bake time early (the service
// deployment API offers stop, with rollback, and continue, for PAUSE
// hooks only), so finish says so and changes nothing.
func (m *ecsModel) finish(ctx context.Context) error {
	inv := m.inv
	run, err := m.resolve(ctx)
	if err != nil {
		return err
	}
	d, err := m.current(ctx, run)
	if err != nil {
		return err
	}
	what := "no service deployment is in flight"
	if d != nil {
		what = "service deployment " + aws.ToString(d.ServiceDeploymentArn) + " is " + string(d.Status)
		if d.LifecycleStage != "" {
			what += " at " + string(d.LifecycleStage)
		}
	}
	inv.log.Info("nothing to finish: ECS offers no way to end a service deployment's bake time early; the old revision goes when bakeTimeInMinutes ends (" + what + ")")
	return nil
}
