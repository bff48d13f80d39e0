package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// ecsAPI is the part of the ECS client deploy reads.
type ecsAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// codeDeployAPI is the part of the CodeDeploy client deploy uses.
type codeDeployAPI interface {
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	GetDeploymentGroup(ctx context.Context, in *codedeploy.GetDeploymentGroupInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error)
	GetDeploymentConfig(ctx context.Context, in *codedeploy.GetDeploymentConfigInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentConfigOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	BatchGetDeployments(ctx context.Context, in *codedeploy.BatchGetDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentsOutput, error)
	CreateDeployment(ctx context.Context, in *codedeploy.CreateDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	ContinueDeployment(ctx context.Context, in *codedeploy.ContinueDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ContinueDeploymentOutput, error)
	StopDeployment(ctx context.Context, in *codedeploy.StopDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
}

// CodeDeploy drives the codedeploy model.
type CodeDeploy struct {
	ECS ecsAPI
	CD  codeDeployAPI
	// Clock paces the wait behind another deployment (the run's clock;
	// the wall clock when nil).
	Clock monitor.Clock
}

// Target is a resolved ECS service with the CodeDeploy group that deploys it.
type Target struct {
	Cluster, Service string
	ServiceARN       string
	Application      string
	Group            string
	// GroupInfo is the deployment group as CodeDeploy describes it.
	GroupInfo *cdtypes.DeploymentGroupInfo
	// ServiceState is the service as Resolve read it: the first observation's
	// service, so the snapshot of the same moment does not read it again.
	ServiceState *ecstypes.Service
	// Config is the deployment configuration a new deployment would use.
	Config string
	// Plan is the traffic timing of that configuration, once LoadPlan read
	// it (only the commands that watch a deployment need it).
	Plan monitor.Plan
	// ShiftTime is how long that configuration takes to move all production
	// traffic: the canary's bake, or every linear step but the last.
	ShiftTime time.Duration
	// Live is the deployment production runs, once read (LiveDeployment).
	Live *cdtypes.DeploymentInfo
	// inFlight is the group's deployment in progress as RefuseOutdated read
	// it (nil: none), for Start's first look; seen says it was read.
	inFlight *cdtypes.DeploymentInfo
	seen     bool
}

// Alarms names the deployment group's alarms when it watches them.
func (t *Target) Alarms() []string {
	var names []string
	if g := t.GroupInfo; g != nil && g.AlarmConfiguration != nil && g.AlarmConfiguration.Enabled {
		for _, a := range g.AlarmConfiguration.Alarms {
			names = append(names, aws.ToString(a.Name))
		}
	}
	return names
}

// ResolveError is a service that cannot be deployed by CodeDeploy as asked.
type ResolveError struct {
	Msg, Hint string
	// Service is the ECS service as read when its deployment controller is
	// not CODE_DEPLOY: the auto model decides on it without a second read.
	Service *ecstypes.Service
}

func (e *ResolveError) Error() string { return e.Msg }

// ExitCode is 2: the service or group is not as the settings say, and
// nothing was changed (DESIGN §3).
func (e *ResolveError) ExitCode() int { return 2 }

// ErrorHint says what to change.
func (e *ResolveError) ErrorHint() string { return e.Hint }

// Resolve finds the service and its CodeDeploy application and group. When
// application or group are empty they are found from the service itself: the
// PRIMARY task set of a CODE_DEPLOY service was created by a deployment whose
// id is the task set's externalId, and that deployment names its application
// and group. A service never deployed through CodeDeploy yet falls back to the
// names the ECS console gives (AppECS-<cluster>-<service>,
// DgpECS-<cluster>-<service>). No account-wide scan is made.
func (c *CodeDeploy) Resolve(ctx context.Context, cluster, service, application, group, configOverride string) (*Target, error) {
	out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return nil, fmt.Errorf("describing ECS service %s in cluster %s: %w", service, cluster, err)
	}
	if len(out.Services) == 0 {
		reason := "MISSING"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return nil, &ResolveError{
			Msg:  fmt.Sprintf("ECS service %s not found in cluster %s (%s)", service, cluster, reason),
			Hint: "check BG_CLUSTER and BG_SERVICE, and that AWS_REGION is the cluster's region",
		}
	}
	svc := out.Services[0]
	if st := aws.ToString(svc.Status); st != "ACTIVE" {
		return nil, &ResolveError{Msg: fmt.Sprintf("ECS service %s is %s", service, st), Hint: "deploy to an ACTIVE service"}
	}
	if svc.DeploymentController == nil || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeCodeDeploy {
		typ := "ECS"
		if svc.DeploymentController != nil {
			typ = string(svc.DeploymentController.Type)
		}
		return nil, &ResolveError{
			Service: &svc,
			Msg:     fmt.Sprintf("ECS service %s uses the %s deployment controller, not CODE_DEPLOY", service, typ),
			Hint:    "the codedeploy model needs a service created with deploymentController CODE_DEPLOY; for two services behind one listener set BG_BLUE_SERVICE and BG_GREEN_SERVICE",
		}
	}
	t := &Target{Cluster: cluster, Service: aws.ToString(svc.ServiceName), ServiceARN: aws.ToString(svc.ServiceArn), Application: application, Group: group, ServiceState: &svc}
	if t.Application == "" || t.Group == "" {
		c.findGroup(ctx, t, svc)
	}
	g, err := c.CD.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(t.Application), DeploymentGroupName: aws.String(t.Group)})
	if err != nil {
		var noApp *cdtypes.ApplicationDoesNotExistException
		var noGroup *cdtypes.DeploymentGroupDoesNotExistException
		if errors.As(err, &noApp) || errors.As(err, &noGroup) {
			return nil, &ResolveError{
				Msg:  fmt.Sprintf("CodeDeploy deployment group %s/%s does not exist", t.Application, t.Group),
				Hint: "set BG_CODEDEPLOY_APPLICATION and BG_CODEDEPLOY_DEPLOYMENT_GROUP to the group that deploys " + t.Service,
			}
		}
		return nil, fmt.Errorf("reading CodeDeploy deployment group %s/%s: %w", t.Application, t.Group, err)
	}
	t.GroupInfo = g.DeploymentGroupInfo
	if !groupDeploysService(t.GroupInfo, cluster, t.Service) {
		return nil, &ResolveError{
			Msg:  fmt.Sprintf("CodeDeploy deployment group %s/%s does not deploy ECS service %s in cluster %s", t.Application, t.Group, t.Service, cluster),
			Hint: "point BG_CODEDEPLOY_DEPLOYMENT_GROUP at the group whose ECS service is " + t.Service,
		}
	}
	t.Config = configOverride
	if t.Config == "" {
		t.Config = aws.ToString(t.GroupInfo.DeploymentConfigName)
	}
	t.Plan.TargetGroups = groupTargetGroups(t.GroupInfo)
	groupWaits(&t.Plan, t)
	return t, nil
}

// LoadPlan reads the deployment configuration's traffic timing into the
// target: the commands that watch or estimate a deployment need it, status
// and verify do not. A configuration that does not exist is a ResolveError,
// found before anything changes.
func (c *CodeDeploy) LoadPlan(ctx context.Context, t *Target) error {
	if t.Config == "" {
		return nil
	}
	plan, shift, err := c.plan(ctx, t.Config)
	if err != nil {
		return err
	}
	plan.TargetGroups = t.Plan.TargetGroups
	plan.ReadyTimeout, plan.TerminationWait, plan.TerminationKnown = t.Plan.ReadyTimeout, t.Plan.TerminationWait, t.Plan.TerminationKnown
	t.Plan, t.ShiftTime = plan, shift
	return nil
}

func (c *CodeDeploy) findGroup(ctx context.Context, t *Target, svc ecstypes.Service) {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) != "PRIMARY" || aws.ToString(ts.StartedBy) != "CODE_DEPLOY" || aws.ToString(ts.ExternalId) == "" {
			continue
		}
		d, err := c.CD.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: ts.ExternalId})
		if err != nil {
			break // an old deployment may have aged out; try the console names
		}
		if t.Application == "" {
			t.Application = aws.ToString(d.DeploymentInfo.ApplicationName)
		}
		if t.Group == "" {
			t.Group = aws.ToString(d.DeploymentInfo.DeploymentGroupName)
		}
		t.Live = d.DeploymentInfo
		return
	}
	clusterName := t.Cluster
	if i := strings.LastIndex(clusterName, "/"); i >= 0 {
		clusterName = clusterName[i+1:]
	}
	if t.Application == "" {
		t.Application = "AppECS-" + clusterName + "-" + t.Service
	}
	if t.Group == "" {
		t.Group = "DgpECS-" + clusterName + "-" + t.Service
	}
}

// groupWaits puts the group's waits into the schedule the watcher polls by
// (the termination wait, a Ready wait that times out): every command that
// watches has them without a further call, where LoadPlan's traffic steps
// cost GetDeploymentConfig.
func groupWaits(p *monitor.Plan, t *Target) {
	p.TerminationWait, p.TerminationKnown = t.TerminationWait()
	if g := t.GroupInfo; g != nil && g.BlueGreenDeploymentConfiguration != nil {
		if r := g.BlueGreenDeploymentConfiguration.DeploymentReadyOption; r != nil && r.ActionOnTimeout == cdtypes.DeploymentReadyActionStopDeployment {
			p.ReadyTimeout = time.Duration(r.WaitTimeInMinutes) * time.Minute
		}
	}
}

// groupTargetGroups are the group's blue and green target group names, in
// the group's order: the colours the snapshot names.
func groupTargetGroups(g *cdtypes.DeploymentGroupInfo) [2]string {
	var out [2]string
	if g == nil || g.LoadBalancerInfo == nil || len(g.LoadBalancerInfo.TargetGroupPairInfoList) == 0 {
		return out
	}
	for i, tg := range g.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups {
		if i < 2 {
			out[i] = aws.ToString(tg.Name)
		}
	}
	return out
}

func groupDeploysService(g *cdtypes.DeploymentGroupInfo, cluster, service string) bool {
	clusterName := cluster
	if i := strings.LastIndex(clusterName, "/"); i >= 0 {
		clusterName = clusterName[i+1:]
	}
	for _, s := range g.EcsServices {
		if aws.ToString(s.ServiceName) == service && (aws.ToString(s.ClusterName) == clusterName || aws.ToString(s.ClusterName) == cluster) {
			return true
		}
	}
	return false
}

func (c *CodeDeploy) plan(ctx context.Context, config string) (monitor.Plan, time.Duration, error) {
	out, err := c.CD.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String(config)})
	if err != nil {
		var missing *cdtypes.DeploymentConfigDoesNotExistException
		if errors.As(err, &missing) {
			return monitor.Plan{}, 0, &ResolveError{Msg: fmt.Sprintf("CodeDeploy deployment configuration %s does not exist", config), Hint: "check BG_DEPLOYMENT_CONFIG; ECS configurations are named like CodeDeployDefault.ECSCanary10Percent5Minutes"}
		}
		return monitor.Plan{}, 0, fmt.Errorf("reading deployment configuration %s: %w", config, err)
	}
	var plan monitor.Plan
	var shift time.Duration
	if info := out.DeploymentConfigInfo; info != nil && info.TrafficRoutingConfig != nil {
		r := info.TrafficRoutingConfig
		switch {
		case r.TimeBasedCanary != nil:
			plan.ShiftInterval = time.Duration(r.TimeBasedCanary.CanaryInterval) * time.Minute
			plan.StepPercent = float64(r.TimeBasedCanary.CanaryPercentage)
			shift = plan.ShiftInterval
		case r.TimeBasedLinear != nil:
			plan.ShiftInterval = time.Duration(r.TimeBasedLinear.LinearInterval) * time.Minute
			plan.Linear, plan.StepPercent = true, float64(r.TimeBasedLinear.LinearPercentage)
			if p := int(r.TimeBasedLinear.LinearPercentage); p > 0 {
				steps := (100 + p - 1) / p // the last step needs no wait after it
				shift = time.Duration(steps-1) * plan.ShiftInterval
			}
		}
	}
	return plan, shift, nil
}

// activeStatuses are the statuses of a deployment that still holds its group.
var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking,
}

// InFlight returns the group's active deployment, or nil.
func (c *CodeDeploy) InFlight(ctx context.Context, t *Target) (*cdtypes.DeploymentInfo, error) {
	out, err := c.CD.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(t.Application), DeploymentGroupName: aws.String(t.Group), IncludeOnlyStatuses: activeStatuses,
	})
	if err != nil {
		return nil, fmt.Errorf("listing active deployments of %s/%s: %w", t.Application, t.Group, err)
	}
	if len(out.Deployments) == 0 {
		return nil, nil
	}
	return c.describe(ctx, out.Deployments[0])
}

// Describe reads one deployment.
func (c *CodeDeploy) Describe(ctx context.Context, id string) (*cdtypes.DeploymentInfo, error) {
	return c.describe(ctx, id)
}

func (c *CodeDeploy) describe(ctx context.Context, id string) (*cdtypes.DeploymentInfo, error) {
	d, err := snapshot.ReadDeployment(ctx, c.CD, id)
	if err != nil {
		return nil, fmt.Errorf("reading deployment %s: %w", id, err)
	}
	return d, nil
}

// Request is a deployment to create.
type Request struct {
	// AppSpec is the appspec content exactly as sent; its SHA-256 goes with it.
	AppSpec []byte
	// Description names the pipeline and job; see Describe.
	Description string
	// Origin identifies this pipeline inside Description, so a retried job can
	// recognise its own deployment.
	Origin string
	// OnBusy says what to do when another pipeline's deployment holds the group.
	OnBusy BusyPolicy
	// BusyPoll is how often to look again while waiting for the group.
	BusyPoll time.Duration
	// Outdated, when set, refuses to wait for a deployment in progress that
	// this one must not replace (see OutdatedBy).
	Outdated func(*cdtypes.DeploymentInfo) error
}

// BusyPolicy is BG_ON_BUSY.
type BusyPolicy string

// Busy policies.
const (
	BusyWait BusyPolicy = "wait"
	BusyFail BusyPolicy = "fail"
)

// BusyError is another pipeline's deployment holding the group.
type BusyError struct {
	DeploymentID, Description string
}

// ExitCode is 1: this pipeline's deployment did not happen (DESIGN §3).
func (e *BusyError) ExitCode() int { return 1 }

// ErrorHint says how to get past the other deployment.
func (e *BusyError) ErrorHint() string {
	return "set BG_ON_BUSY=wait to queue behind it, or stop it first"
}

func (e *BusyError) Error() string {
	s := fmt.Sprintf("deployment %s is already in progress on this deployment group", e.DeploymentID)
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	return s
}

// Started is the outcome of Start.
type Started struct {
	DeploymentID string
	// Attached is true when this pipeline's deployment was already running
	// (a retried job) and no new one was created.
	Attached bool
}

// Start creates the deployment, or attaches to this pipeline's deployment if
// one is in flight. Another pipeline's deployment is waited for or reported,
// per the request's policy.
func (c *CodeDeploy) Start(ctx context.Context, t *Target, r Request, onWait func(busy *BusyError)) (Started, error) {
	for {
		active, err := t.inFlight, error(nil)
		if !t.seen {
			active, err = c.InFlight(ctx, t)
		}
		t.inFlight, t.seen = nil, false // read afresh from the next look on
		if err != nil {
			return Started{}, err
		}
		if active == nil {
			id, err := c.create(ctx, t, r)
			var busy *BusyError
			if errors.As(err, &busy) {
				// Another deployment started between the check and the create.
				if err := c.waitOrFail(ctx, r, busy, onWait); err != nil {
					return Started{}, err
				}
				continue
			}
			return Started{DeploymentID: id}, err
		}
		if r.Origin != "" && strings.Contains(aws.ToString(active.Description), r.Origin) {
			return Started{DeploymentID: aws.ToString(active.DeploymentId), Attached: true}, nil
		}
		if r.Outdated != nil {
			if err := r.Outdated(active); err != nil {
				return Started{}, err
			}
		}
		busy := &BusyError{DeploymentID: aws.ToString(active.DeploymentId), Description: aws.ToString(active.Description)}
		if err := c.waitOrFail(ctx, r, busy, onWait); err != nil {
			return Started{}, err
		}
	}
}

func (c *CodeDeploy) waitOrFail(ctx context.Context, r Request, busy *BusyError, onWait func(*BusyError)) error {
	if r.OnBusy != BusyWait {
		return busy
	}
	if onWait != nil {
		onWait(busy)
	}
	poll := r.BusyPoll
	if poll <= 0 {
		poll = 15 * time.Second
	}
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.clock().After(poll):
		return nil
	}
}

func (c *CodeDeploy) clock() monitor.Clock {
	if c.Clock != nil {
		return c.Clock
	}
	return monitor.RealClock{}
}

// activeDeploymentID finds the id in DeploymentLimitExceededException's
// message, the only place CodeDeploy names it (aws-facts §2.6).
var activeDeploymentID = regexp.MustCompile(`\bd-[A-Z0-9]{9}\b`)

func (c *CodeDeploy) create(ctx context.Context, t *Target, r Request) (string, error) {
	sum := sha256.Sum256(r.AppSpec)
	in := &codedeploy.CreateDeploymentInput{
		ApplicationName:     aws.String(t.Application),
		DeploymentGroupName: aws.String(t.Group),
		Revision: &cdtypes.RevisionLocation{
			RevisionType: cdtypes.RevisionLocationTypeAppSpecContent,
			AppSpecContent: &cdtypes.AppSpecContent{
				Content: aws.String(string(r.AppSpec)),
				Sha256:  aws.String(hex.EncodeToString(sum[:])),
			},
		},
		Description: aws.String(r.Description),
	}
	if t.Config != "" && t.GroupInfo != nil && t.Config != aws.ToString(t.GroupInfo.DeploymentConfigName) {
		in.DeploymentConfigName = aws.String(t.Config)
	}
	out, err := c.CD.CreateDeployment(ctx, in)
	if err != nil {
		var limit *cdtypes.DeploymentLimitExceededException
		if errors.As(err, &limit) {
			return "", &BusyError{DeploymentID: activeDeploymentID.FindString(aws.ToString(limit.Message))}
		}
		// The answer may be lost while the deployment was created (a
		// dropped connection, a 5xx after the work was done): AWS's state
		// says. Start found none of ours in flight just before, so one now
		// is the one this call created.
		if id := c.ours(ctx, t, r.Origin); id != "" {
			return id, nil
		}
		return "", fmt.Errorf("creating the deployment on %s/%s: %w", t.Application, t.Group, err)
	}
	return aws.ToString(out.DeploymentId), nil
}

// ours is the group's deployment in flight that origin created, if any. It
// reads AWS with a context of its own: the caller's may be what ended.
func (c *CodeDeploy) ours(ctx context.Context, t *Target, origin string) string {
	if origin == "" {
		return ""
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
	defer cancel()
	// A call cut short by a signal may still be on its way to CodeDeploy,
	// which then makes the deployment a moment after the job stopped
	// waiting: look a few times before concluding that none was made.
	looks := 1
	if ctx.Err() != nil {
		looks = createdLooks
	}
	for i := range looks {
		active, err := c.InFlight(rctx, t)
		if err == nil && active != nil && strings.Contains(aws.ToString(active.Description), origin) {
			return aws.ToString(active.DeploymentId)
		}
		if i < looks-1 {
			select {
			case <-rctx.Done():
				return ""
			case <-c.clock().After(time.Second):
			}
		}
	}
	return ""
}

// createdLooks is how many times, a second apart, an interrupted
// CreateDeployment is looked for.
const createdLooks = 5

// maxDescription is CodeDeploy's limit on a deployment description.
const maxDescription = 256

// Describe builds the deployment description: the origin marker first (so
// truncation never cuts it), then the links a person follows from the
// CodeDeploy console back to GitLab.
func Describe(origin string, details ...string) string {
	parts := []string{origin}
	for _, d := range details {
		if d != "" {
			parts = append(parts, d)
		}
	}
	s := strings.Join(parts, " ")
	if len(s) > maxDescription {
		s = s[:maxDescription]
	}
	return s
}

// Origin is the marker that identifies a pipeline's deployment.
func Origin(project, pipelineID string) string {
	if pipelineID == "" {
		return ""
	}
	return fmt.Sprintf("[ecs-bluegreen %s pipeline %s]", project, pipelineID)
}

// Promote lets a deployment waiting at Ready move production traffic. An
// answer lost on the way is judged by the deployment's state: no longer
// Ready means the promotion happened.
func (c *CodeDeploy) Promote(ctx context.Context, id string) error {
	_, err := c.CD.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait})
	var apiErr smithy.APIError
	if err != nil && !errors.As(err, &apiErr) {
		if d, derr := c.describe(ctx, id); derr == nil && d.Status != cdtypes.DeploymentStatusReady {
			return nil
		}
	}
	if err != nil {
		var notReady *cdtypes.DeploymentIsNotInReadyStateException
		if errors.As(err, &notReady) {
			return &ResolveError{Msg: fmt.Sprintf("deployment %s is not waiting at Ready", id), Hint: "promote applies to a deployment group with deploymentReadyOption STOP_DEPLOYMENT, while the deployment waits"}
		}
		return fmt.Errorf("promoting deployment %s: %w", id, err)
	}
	return nil
}

// Finish ends the termination wait: the original task set is removed now.
//
// Ending the wait twice is harmless, so a call whose answer was lost is
// made again: the deployment having completed meanwhile is the first call's
// work.
func (c *CodeDeploy) Finish(ctx context.Context, id string) error {
	for attempt := 1; ; attempt++ {
		_, err := c.CD.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait})
		var done *cdtypes.DeploymentAlreadyCompletedException
		var apiErr smithy.APIError
		switch {
		case err == nil, attempt > 1 && errors.As(err, &done):
			return nil
		case errors.As(err, &apiErr) && apiErr.ErrorFault() != smithy.FaultServer, attempt == 5, ctx.Err() != nil:
			return fmt.Errorf("finishing deployment %s: %w", id, err)
		}
	}
}

// Stop stops the deployment, rolling it back when rollback is true. A
// failure the service may recover from (throttling, a 5xx, a lost answer)
// is retried for as long as ctx allows: the caller gives it the time the
// job has left. A deployment already ended needs no stop.
func (c *CodeDeploy) Stop(ctx context.Context, id string, rollback bool) error {
	wait := time.Second
	for {
		_, err := c.CD.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(rollback)})
		var done *cdtypes.DeploymentAlreadyCompletedException
		var apiErr smithy.APIError
		switch {
		case errors.As(err, &done):
			return nil // nothing left to stop; the watcher reports how it ended
		case err == nil:
			return c.stopped(ctx, id)
		case errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultClient && !isThrottle(apiErr.ErrorCode()):
			return fmt.Errorf("stopping deployment %s: %w", id, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopping deployment %s (retried until the job ran out of time): %w", id, err)
		case <-c.clock().After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

// stopped waits for a stop to take effect. StopDeployment may answer
// Pending: CodeDeploy stops (and starts the rollback) a moment later, and
// until then the deployment still reads as it was, Ready included, so a
// caller that looked at once could promote what it just stopped.
func (c *CodeDeploy) stopped(ctx context.Context, id string) error {
	for {
		d, err := c.describe(ctx, id)
		if err != nil {
			return fmt.Errorf("deployment %s was asked to stop; reading whether it has: %w", id, err)
		}
		switch d.Status {
		case cdtypes.DeploymentStatusStopped, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusSucceeded:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deployment %s was asked to stop and is still %s: %w", id, d.Status, context.Cause(ctx))
		case <-c.clock().After(time.Second):
		}
	}
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded":
		return true
	}
	return false
}
