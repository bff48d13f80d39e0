package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// CodeDeployModel is one CODE_DEPLOY service deployed by CodeDeploy.
type CodeDeployModel struct {
	d *Deps
	// run is the service and group resolved once per run: the status a
	// command ends with uses the same resolution and reads only what changed.
	run *codeDeployRun
	// observed is true once the first snapshot was read: later snapshots
	// re-read the service, whose state the command changed.
	observed bool
	reader   *snapshot.Reader
}

// NewCodeDeployModel is the codedeploy model built from d.
func NewCodeDeployModel(d Deps) *CodeDeployModel {
	return &CodeDeployModel{d: &d, reader: &snapshot.Reader{ECS: d.Clients.ECS, ELB: d.Clients.ELB, CD: d.Clients.CodeDeploy, History: d.Settings.History}}
}

var _ Model = (*CodeDeployModel)(nil)

// codeDeployRun is what promote, rollback, finish and deploy share: the
// resolved service and group, and a session to watch a deployment with.
type codeDeployRun struct {
	cd      *CodeDeploy
	target  *Target
	session *Session
	dep     *config.Deployment
}

// need says what a command reads beyond the service and its group.
type need int

const (
	needNothing need = iota
	// needPlan: the command watches traffic shift, whose plan paces the
	// reads around each canary or linear step.
	needPlan
	// needEstimate: deploy's time budget needs the plan and the estimate.
	needEstimate
)

// resolve resolves the service and its group, once per run.
func (m *CodeDeployModel) resolve(ctx context.Context, n need) (*codeDeployRun, error) {
	if m.run != nil {
		return m.run, nil
	}
	d := m.d
	target, cdSettings := d.Settings.Target, d.Settings.CodeDeploy
	cd := &CodeDeploy{ECS: d.Clients.ECS, CD: d.Clients.CodeDeploy, Clock: d.Clock}
	t, err := cd.Resolve(ctx, target.Cluster, target.Service, cdSettings.Application, cdSettings.DeploymentGroup, cdSettings.DeploymentConfig)
	if err != nil {
		return nil, err
	}
	if n >= needPlan {
		if err := cd.LoadPlan(ctx, t); err != nil {
			return nil, err
		}
	}
	d.Log.Info("resolved service", "cluster", t.Cluster, "service", t.Service, "application", t.Application, "deployment_group", t.Group, "deployment_config", t.Config)

	run := &codeDeployRun{cd: cd, target: t}
	if dep := d.Settings.Deployment; dep != nil {
		run.dep = dep
	} else {
		run.dep = &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"}
	}
	watch := d.Settings.Watch
	if watch == nil { // status and verify only read
		watch = &config.Watch{OnTimeout: config.TimeoutLeave}
	}
	s := &Session{
		CD: cd,
		Watcher: monitor.Watcher{
			API: d.Clients.CodeDeploy, Clock: d.clock(), Plan: t.Plan,
			// While the replacement starts, ECS and ELBv2 are read instead of
			// CodeDeploy, whose budget the whole account shares.
			Replacement: &monitor.Replacement{ECS: d.Clients.ECS, ELB: d.Clients.ELB, Cluster: t.Cluster, Service: t.Service},
			OnEvent: func(e monitor.Event) {
				if d.Progress != nil {
					d.Progress(e.At, e.String())
				}
			},
			OnWarning: func(msg string) { d.Log.Warn(msg) },
		},
		Smoke:       verify.NewChecker(d.Log, nil).WithClock(d.clock()),
		Promote:     PromotePolicy(run.dep.Promote),
		WaitFor:     WaitFor(run.dep.WaitFor),
		OnInterrupt: InterruptPolicy(run.dep.OnInterrupt),
		OnTimeout:   TimeoutPolicy(watch.OnTimeout),
		Region:      d.Clients.Region,
		Log:         d.Log,
		StopUntil:   d.CI.JobEnd,
	}
	// The evidence of a failure comes from the follower's reads of the
	// replacement: the same observation the watch decides on, read once.
	s.Evidence = &Evidence{ECS: d.Clients.ECS, ELB: d.Clients.ELB, CloudWatch: d.Clients.CloudWatch, Cluster: t.Cluster, Service: t.Service, Alarms: t.Alarms(), Fed: true}
	s.Watcher.Replacement.OnRead = s.Evidence.ObserveReplacement
	if checks := d.Settings.Checks; checks != nil {
		s.TestSmoke = SmokeFor(checks, checks.TestURL)
		s.ProdSmoke = SmokeFor(checks, checks.ProdURL)
	}
	var est *Estimate
	if n == needEstimate {
		e := t.Estimate(s.Promote, s.WaitFor)
		est = &e
	}
	if s.Timeout, err = d.deadline(watch, est); err != nil {
		return nil, err
	}
	run.session = s
	m.run = run
	return run, nil
}

// Services is the one service.
func (m *CodeDeployModel) Services() []string { return []string{m.d.Settings.Target.Service} }

// Switch has no meaning for one CodeDeploy service.
func (m *CodeDeployModel) Switch(context.Context, snapshot.Colour) error {
	return &UsageError{
		Msg:  "switch moves production between two services (the listener model), and BG_BLUE_SERVICE/BG_GREEN_SERVICE are not set",
		Hint: "in the codedeploy model, promote moves production traffic and rollback moves it back",
	}
}

// Snapshot reads the CodeDeploy service: the first time with what Resolve
// read, later (after the command changed things) reading the service again.
func (m *CodeDeployModel) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	run, err := m.resolve(ctx, needNothing)
	if err != nil {
		return nil, err
	}
	t := run.target
	in := snapshot.CodeDeployService{Cluster: t.Cluster, Service: t.Service, Application: t.Application, Group: t.Group, GroupInfo: t.GroupInfo}
	if !m.observed && m.d.Settings.Watch == nil {
		// The service Resolve read is this observation's: status and verify
		// (the commands that watch nothing) change nothing between the two.
		in.State = t.ServiceState
	}
	m.observed = true
	return m.reader.ReadCodeDeploy(ctx, in)
}

// errWaitedTooLong is the cause when the wait behind another deployment
// used up BG_TIMEOUT.
var errWaitedTooLong = errors.New("waited too long for the deployment group")

// Deploy renders and registers the task definition, starts the CodeDeploy
// deployment (or attaches to this pipeline's), and watches it to the end.
func (m *CodeDeployModel) Deploy(ctx context.Context) error {
	d := m.d
	run, err := m.resolve(ctx, needEstimate)
	if err != nil {
		return err
	}
	if d.CI.Err != nil {
		return &UsageError{Msg: d.CI.Err.Error()}
	}
	// An outdated deploy is refused before anything changes; rollback's own
	// redeploy of the previous image is exempt.
	allowOutdated := run.dep.AllowOutdated || d.CI.Redeploy != ""
	if err := run.cd.RefuseOutdated(ctx, run.target, d.CI.Origin, allowOutdated); err != nil {
		return err
	}
	endRender := d.section("ecs_bluegreen_render", "Rendering and registering the task definition", true)
	r, err := d.Render(ctx, &ServiceSource{ECS: d.Clients.ECS, Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.ServiceState})
	if err != nil {
		endRender()
		return err
	}
	reg, spec, err := d.registerRendered(ctx, r)
	endRender()
	if err != nil {
		return err
	}
	// The closing snapshot shows this revision without describing it.
	m.reader.Registered(reg.ARN, containersOf(r.TaskDef))
	req := Request{
		AppSpec:     spec,
		Origin:      d.CI.Origin,
		Description: Describe(d.CI.Origin, d.CI.Redeploy, d.CI.PipelineURL, d.CI.JobURL, d.CI.CommitSHA),
		OnBusy:      BusyPolicy(run.dep.OnBusy),
		Outdated:    OutdatedBy(d.CI.Origin, allowOutdated),
	}
	prev := primaryTaskDefinition(run.target.ServiceState)
	if wait, ok := run.target.TerminationWait(); ok && wait == 0 && run.session.ProdSmoke != nil {
		d.Log.Warn("the deployment group's termination wait is 0: the original tasks go as soon as production traffic moves, so CodeDeploy cannot roll back a failed production check; it is answered by redeploying the previous revision",
			"previous", ShortTaskDef(prev))
	}
	run.session.Revert = run.revertTo(prev, r.AppSpec, req, d.CI.JobURL)
	// BG_TIMEOUT bounds the whole job: the wait behind another pipeline's
	// deployment, then the watch with what is left.
	budget, begun := run.session.Timeout, time.Now()
	sctx, cancel := context.WithTimeoutCause(ctx, budget, errWaitedTooLong)
	var waitedFor string
	started, err := run.cd.Start(sctx, run.target, req, func(b *BusyError) {
		waitedFor = b.DeploymentID
		d.Log.Warn("another deployment holds the deployment group: waiting for it", "deployment_id", b.DeploymentID, "description", b.Description)
	})
	cancel()
	if err != nil {
		if errors.Is(context.Cause(sctx), errWaitedTooLong) && ctx.Err() == nil {
			return &WaitTimeoutError{Msg: fmt.Sprintf("waited %s (BG_TIMEOUT) for deployment %s to release the deployment group; nothing of this pipeline was started", budget, waitedFor)}
		}
		return err
	}
	run.session.Timeout = max(budget-time.Since(begun), time.Second)
	id := started.DeploymentID
	if started.Attached {
		d.Log.Info("this pipeline's deployment is already running: watching it", "deployment_id", id)
	} else {
		d.Log.Info("deployment started", "deployment_id", id, "deployment_config", run.target.Config)
	}
	dotenv := map[string]string{EnvDeploymentID: id, EnvImage: d.Settings.Image, EnvTaskDefinition: reg.ARN, EnvOutcome: "in-progress"}
	maps.Copy(dotenv, environmentURLs(ctx, d.Log, d.Clients.ELB, d.Settings.Checks, groupRoute(run.target, false), groupRoute(run.target, true)))
	// Written before watching, so promote, rollback and finish find the
	// deployment even if this job is cancelled.
	if err := d.Reports.Dotenv(dotenv); err != nil {
		return err
	}
	endWatch := d.section("ecs_bluegreen_watch", "Deployment "+id, false)
	out, werr := run.session.Watch(ctx, id)
	endWatch()
	switch {
	case werr == nil && out.AwaitingPromotion:
		dotenv[EnvOutcome] = "awaiting-promotion"
	case werr == nil && out.InTerminationWait:
		dotenv[EnvOutcome] = "traffic-moved"
	case werr == nil:
		dotenv[EnvOutcome] = "succeeded"
	default:
		var de *DeploymentError
		if errors.As(werr, &de) {
			dotenv[EnvOutcome] = "failed"
			if de.RollbackID != "" {
				dotenv[EnvOutcome] = "rolled-back"
			}
		}
	}
	if err := d.Reports.Dotenv(dotenv); err != nil && werr == nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if dotenv[EnvOutcome] == "succeeded" || dotenv[EnvOutcome] == "traffic-moved" {
		if err := m.moveLiveTags(ctx); err != nil {
			// The deployment itself succeeded: say so, but do not fail the job
			// for a registry tag.
			d.Log.Warn("production runs the new image, but moving the registry's live tag failed", "error", err.Error())
		}
	}
	if s, err := m.Snapshot(ctx); err == nil {
		if err := d.Reports.Status(ctx, s); err != nil {
			return err
		}
	} else {
		d.Log.Warn("the deployment ended but the status report could not be read", "error", err.Error())
	}
	return nil
}

// moveLiveTags points the registries' live tag at the deployed image and the
// previous tag at what was live before (Deps.moveLiveTags).
func (m *CodeDeployModel) moveLiveTags(ctx context.Context) error { return m.d.moveLiveTags(ctx) }

// revertTo redeploys prev with the AppSpec as rendered for this service:
// the way back when a production check fails after the deployment ended.
func (r *codeDeployRun) revertTo(prev string, spec *render.AppSpec, req Request, jobURL string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if prev == "" {
			return "", errors.New("the previous task definition is not known")
		}
		if err := spec.Set(prev, "", 0); err != nil {
			return "", err
		}
		back, err := spec.YAML()
		if err != nil {
			return "", err
		}
		rev := req
		rev.AppSpec = back
		rev.Description = Describe(req.Origin, "redeploying "+ShortTaskDef(prev)+" after a failed production check", jobURL)
		started, err := r.cd.Start(ctx, r.target, rev, nil)
		return started.DeploymentID, err
	}
}

// primaryTaskDefinition is what the service's PRIMARY task set runs: what
// production ran before this deployment.
func primaryTaskDefinition(svc *ecstypes.Service) string {
	if svc == nil {
		return ""
	}
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			return aws.ToString(ts.TaskDefinition)
		}
	}
	return aws.ToString(svc.TaskDefinition)
}

// groupRoute is the deployment group's production (or test) listener.
func groupRoute(t *Target, test bool) string {
	if t.GroupInfo == nil || t.GroupInfo.LoadBalancerInfo == nil || len(t.GroupInfo.LoadBalancerInfo.TargetGroupPairInfoList) == 0 {
		return ""
	}
	pair := t.GroupInfo.LoadBalancerInfo.TargetGroupPairInfoList[0]
	route := pair.ProdTrafficRoute
	if test {
		route = pair.TestTrafficRoute
	}
	if route == nil || len(route.ListenerArns) == 0 {
		return ""
	}
	return route.ListenerArns[0]
}

// deploymentID is BG_DEPLOYMENT_ID, else the group's deployment in progress.
func (r *codeDeployRun) deploymentID(ctx context.Context) (string, error) {
	if r.dep.DeploymentID != "" {
		if !config.IsCodeDeployID(r.dep.DeploymentID) {
			return "", &UsageError{
				Msg:  fmt.Sprintf("BG_DEPLOYMENT_ID %s is an ECS service deployment, and %s is deployed by CodeDeploy", r.dep.DeploymentID, r.target.Service),
				Hint: "unset BG_DEPLOYMENT_ID (the group's deployment in progress is found), or give the CodeDeploy deployment id (d-...)",
			}
		}
		return r.dep.DeploymentID, nil
	}
	active, err := r.cd.InFlight(ctx, r.target)
	if err != nil {
		return "", err
	}
	if active == nil {
		return "", nil
	}
	return *active.DeploymentId, nil
}

// buttonDeployment is the deployment a button (promote, finish) acts on.
// With none in progress it says so and returns "": a button pressed when
// there is nothing to do leaves the pipeline green (what names the action,
// needs what it acts on).
func (m *CodeDeployModel) buttonDeployment(ctx context.Context, r *codeDeployRun, what, needs string) (string, error) {
	id, err := r.deploymentID(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		m.d.Log.Info(fmt.Sprintf("nothing to %s: no deployment of %s/%s is in progress (%s)", what, r.target.Application, r.target.Group, needs))
	}
	return id, nil
}

func inFlight(s cdtypes.DeploymentStatus) bool {
	switch s {
	case cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
		cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking:
		return true
	}
	return false
}

// Promote lets a deployment waiting at Ready move production traffic,
// once the test traffic smoke check passed, then watches it to the end.
func (m *CodeDeployModel) Promote(ctx context.Context, _ snapshot.Colour) error {
	d := m.d
	run, err := m.resolve(ctx, needPlan)
	if err != nil {
		return err
	}
	id, err := m.buttonDeployment(ctx, run, "promote", "promote acts on a deployment waiting at Ready; run deploy first")
	if err != nil || id == "" {
		return err
	}
	info, err := run.cd.Describe(ctx, id)
	if err != nil {
		return err
	}
	if !inFlight(info.Status) {
		// A button pressed after the deployment ended has nothing to act
		// on: say so, and leave the pipeline green.
		d.Log.Info("nothing to promote: the deployment has ended", "deployment_id", id, "status", string(info.Status))
		return nil
	}
	if info.Status != cdtypes.DeploymentStatusReady {
		return &UsageError{
			Msg:  fmt.Sprintf("deployment %s is %s, not waiting at Ready", id, info.Status),
			Hint: "promote moves production traffic for a deployment group with deploymentReadyOption STOP_DEPLOYMENT, while the deployment waits",
		}
	}
	// The session promotes at Ready, after the test traffic smoke check (when
	// BG_TEST_URL is set) has passed; a failed check stops it with rollback.
	run.session.Promote = "auto"
	// Nothing changed since it was read: the watch starts from this read.
	run.session.Watcher.First = info
	// The way back if the production check fails once CodeDeploy can no
	// longer roll back: what the PRIMARY task set runs now (the original,
	// while the deployment waits at Ready), in an AppSpec made from the service.
	if prev := primaryTaskDefinition(run.target.ServiceState); prev != "" {
		src := &ServiceSource{Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.ServiceState}
		if spec, err := src.Spec(ctx); err == nil {
			run.session.Revert = run.revertTo(prev, render.NewAppSpec(prev, spec), Request{Origin: d.CI.Origin, OnBusy: BusyWait}, d.CI.JobURL)
		}
	}
	out, err := run.session.Watch(ctx, id)
	if err != nil {
		return err
	}
	d.Log.Info("deployment ended", "deployment_id", id, "status", string(out.Status))
	// Production now runs the promoted image: the registries' live tag
	// follows, as it does when deploy itself sees the deployment through.
	if s, err := m.Snapshot(ctx); err != nil {
		d.Log.Warn("the deployment ended but the live image could not be read to move the registry tags", "error", err.Error())
	} else {
		if d.Tags != nil {
			d.Tags.MoveColours(ctx, s)
		}
		if s.Live != "" {
			followLiveTag(ctx, d, s.Colour(s.Live))
		}
	}
	return nil
}

// Finish ends the termination wait, removing the original task set now,
// and watches the deployment to its end.
func (m *CodeDeployModel) Finish(ctx context.Context) error {
	d := m.d
	run, err := m.resolve(ctx, needNothing)
	if err != nil {
		return err
	}
	id, err := m.buttonDeployment(ctx, run, "finish", "finish acts on a deployment in its termination wait")
	if err != nil || id == "" {
		return err
	}
	info, err := run.cd.Describe(ctx, id)
	if err != nil {
		return err
	}
	if !inFlight(info.Status) {
		// Pressed after the deployment ended: the old colour is already
		// gone (or production never left it), so there is nothing to end.
		d.Log.Info("nothing to finish: the deployment has ended", "deployment_id", id, "status", string(info.Status))
		return nil
	}
	if err := run.cd.Finish(ctx, id); err != nil {
		return err
	}
	d.Log.Info("ending the termination wait: the original task set is removed now", "deployment_id", id)
	run.session.WaitFor = "complete"
	_, err = run.session.Watch(ctx, id)
	return err
}

// RedeployMarker marks the deploy that rollback runs, in its deployment's
// description (CI.Redeploy), so a retried rollback job of the same pipeline
// sees its own work done.
const RedeployMarker = "rollback: redeploying the previous image"

// Rollback stops the deployment in progress with rollback and watches the
// rollback to its end. With none in progress it redeploys the image the
// registry's previous tag names (deploy moved it there when that image
// stopped being live).
func (m *CodeDeployModel) Rollback(ctx context.Context) error {
	d := m.d
	run, err := m.resolve(ctx, needNothing)
	if err != nil {
		return err
	}
	id, err := run.deploymentID(ctx)
	if err != nil {
		return err
	}
	if id != "" {
		// BG_DEPLOYMENT_ID from deploy.env may name a deployment long finished.
		info, err := run.cd.Describe(ctx, id)
		if err != nil {
			return err
		}
		if !inFlight(info.Status) {
			id = ""
		}
	}
	if id == "" {
		if done := m.rolledBackAlready(ctx, run); done != "" {
			d.Log.Info("this pipeline's rollback already ran: nothing to do", "deployment_id", done)
			return nil
		}
		return m.redeployPrevious(ctx)
	}
	if err := run.cd.Stop(ctx, id, true); err != nil {
		return err
	}
	d.Log.Warn("stopping the deployment with rollback", "deployment_id", id)
	// The stop is what the user asked for: no smoke checks, and no
	// evidence gathered to explain a failure nobody needs explained.
	run.session.TestSmoke, run.session.ProdSmoke, run.session.Evidence = nil, nil, nil
	run.session.Watcher.Replacement.OnRead = nil
	run.session.Promote = "auto"
	_, err = run.session.Watch(ctx, id)
	var derr *DeploymentError
	if errors.As(err, &derr) && derr.RollbackID != "" && derr.RollbackStatus == "Succeeded" {
		// The rollback asked for is done: production is back on the previous
		// revision. That is this job's success.
		d.Log.Info("rolled back", "deployment_id", id, "rollback_deployment_id", derr.RollbackID)
		return nil
	}
	if err == nil {
		return fmt.Errorf("deployment %s ended Succeeded before the stop took effect: nothing was rolled back", id)
	}
	return err
}

// rolledBackAlready is the group's last successful deployment when this
// pipeline's rollback made it: a retried rollback job must not flip the
// colours again.
func (m *CodeDeployModel) rolledBackAlready(ctx context.Context, run *codeDeployRun) string {
	origin := m.d.CI.Origin
	g := run.target.GroupInfo
	if m.d.CI.Err != nil || origin == "" || g == nil || g.LastSuccessfulDeployment == nil || g.LastSuccessfulDeployment.DeploymentId == nil {
		return ""
	}
	info, err := run.cd.Describe(ctx, aws.ToString(g.LastSuccessfulDeployment.DeploymentId))
	if err != nil || info == nil {
		return ""
	}
	desc := aws.ToString(info.Description)
	if strings.HasPrefix(desc, origin) && strings.Contains(desc, RedeployMarker) {
		return aws.ToString(info.DeploymentId)
	}
	return ""
}

// redeployPrevious deploys the image the registry's previous tag names, with
// the task definition as deploy renders it; deploy then moves live and
// previous, so running rollback twice flips back.
func (m *CodeDeployModel) redeployPrevious(ctx context.Context) error {
	d := m.d
	if d.Tags == nil || d.Redeploy == nil {
		return &UsageError{
			Msg:  "no deployment is in progress, and no registry is configured to find the previous image in",
			Hint: "set BG_ECR_REPOSITORY (or BG_REGISTRY_IMAGE), whose previous tag deploy maintains; or run deploy with the image to go back to",
		}
	}
	prev, err := d.Tags.Previous(ctx)
	if err != nil {
		return err
	}
	d.Log.Warn("no deployment in progress: redeploying the previous image", "image", prev)
	return d.Redeploy(ctx, prev)
}
