package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// The ecs model: one service whose deploymentController is ECS with the
// BLUE_GREEN, LINEAR or CANARY strategy (aws-facts §5.2). ECS itself runs
// the deployment and writes the listener rules' weights; the tool starts it
// with UpdateService, watches the service deployment, and gates it: at a
// PAUSE hook after test traffic moved it smoke-checks the test URL and
// answers ContinueServiceDeployment, and without such a hook it checks while
// ECS gives time (test traffic, bake time) and stops with rollback on failure.

// ecsNativeAPI is the part of the ECS client the ecs model calls.
type ecsNativeAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
	ContinueServiceDeployment(ctx context.Context, in *ecs.ContinueServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error)
}

// targetGroupAttributesAPI reads a target group's deregistration delay.
type targetGroupAttributesAPI interface {
	DescribeTargetGroupAttributes(ctx context.Context, in *elb.DescribeTargetGroupAttributesInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupAttributesOutput, error)
}

// ECSNative deploys an ECS blue/green, linear or canary service.
type ECSNative struct {
	ECS ecsNativeAPI
	// ELB, when set, reads the target groups' deregistration delay
	// (LoadDrain), so the watcher knows when CLEAN_UP is due to end.
	ELB   targetGroupAttributesAPI
	Clock monitor.Clock
	Log   *slog.Logger
	// Progress prints one line of deployment progress.
	Progress func(at time.Time, line string)
	Smoke    smokeRunner
	// TestSmoke (BG_TEST_URL) and ProdSmoke (BG_PROD_URL); nil skips one.
	TestSmoke, ProdSmoke *verify.Smoke
	Promote              PromotePolicy
	WaitFor              WaitFor
	OnInterrupt          InterruptPolicy
	OnTimeout            TimeoutPolicy
	OnBusy               BusyPolicy
	// Timeout bounds a watch; zero means no bound beyond ctx.
	Timeout time.Duration
	// StopUntil is how long a stop after an interrupt or a timeout may keep
	// trying: the job's end (CI.JobEnd). Zero gives it stopGrace.
	StopUntil time.Time
	Region    string
}

// ECSService is an ecs-model service as Resolve read it.
type ECSService struct {
	Cluster, Service, ServiceARN string
	State                        *ecstypes.Service
	Strategy                     ecstypes.DeploymentStrategy
	Plan                         monitor.ServiceDeploymentPlan
	// ProdRule and TestRule are advancedConfiguration's listener rules
	// (TestRule empty without a test listener).
	ProdRule, TestRule string
	// GateHook is the PAUSE hook that holds the deployment after test
	// traffic moved (lifecycle stage TEST_TRAFFIC_SHIFT,
	// POST_TEST_TRAFFIC_SHIFT or PRE_PRODUCTION_TRAFFIC_SHIFT); nil when
	// the service has none.
	GateHook *ecstypes.DeploymentLifecycleHook
}

// IsECSNative reports whether ECS itself deploys the service blue/green,
// linear or canary: the ecs model.
func IsECSNative(svc *ecstypes.Service) bool {
	if svc == nil || svc.DeploymentController == nil || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs || svc.DeploymentConfiguration == nil {
		return false
	}
	switch svc.DeploymentConfiguration.Strategy {
	case ecstypes.DeploymentStrategyBlueGreen, ecstypes.DeploymentStrategyLinear, ecstypes.DeploymentStrategyCanary:
		return true
	}
	return false
}

// DescribeService reads one service (nil, nil when ECS reports it missing).
func (e *ECSNative) DescribeService(ctx context.Context, cluster, service string) (*ecstypes.Service, error) {
	out, err := e.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return nil, fmt.Errorf("describing ECS service %s in cluster %s: %w", service, cluster, err)
	}
	if len(out.Services) == 0 {
		return nil, nil
	}
	return &out.Services[0], nil
}

// Resolve checks that svc (nil: read it) is an ecs-model service and reads
// what the model needs from its configuration.
func (e *ECSNative) Resolve(ctx context.Context, cluster, service string, svc *ecstypes.Service) (*ECSService, error) {
	if svc == nil {
		var err error
		if svc, err = e.DescribeService(ctx, cluster, service); err != nil {
			return nil, err
		}
	}
	if svc == nil {
		return nil, &ResolveError{Msg: fmt.Sprintf("ECS service %s not found in cluster %s", service, cluster), Hint: "check BG_CLUSTER and BG_SERVICE, and that AWS_REGION is the cluster's region"}
	}
	if st := aws.ToString(svc.Status); st != "ACTIVE" {
		return nil, &ResolveError{Msg: fmt.Sprintf("ECS service %s is %s", service, st), Hint: "deploy to an ACTIVE service"}
	}
	if !IsECSNative(svc) {
		typ, strategy := "ECS", "ROLLING"
		if svc.DeploymentController != nil {
			typ = string(svc.DeploymentController.Type)
		}
		if svc.DeploymentConfiguration != nil && svc.DeploymentConfiguration.Strategy != "" {
			strategy = string(svc.DeploymentConfiguration.Strategy)
		}
		hint := "give the service deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY, or leave BG_MODE unset"
		if typ == string(ecstypes.DeploymentControllerTypeCodeDeploy) {
			hint = "run `ecs-bluegreen migrate` to move the service to ECS blue/green, or leave BG_MODE unset for the codedeploy model"
		}
		return nil, &ResolveError{Msg: fmt.Sprintf("BG_MODE=ecs: ECS service %s uses the %s deployment controller with the %s strategy, not ECS blue/green, linear or canary", service, typ, strategy), Hint: hint}
	}
	t := &ECSService{Cluster: cluster, Service: aws.ToString(svc.ServiceName), ServiceARN: aws.ToString(svc.ServiceArn), State: svc, Strategy: svc.DeploymentConfiguration.Strategy}
	for _, lb := range svc.LoadBalancers {
		if a := lb.AdvancedConfiguration; a != nil {
			t.Plan.TargetGroups = [2]string{aws.ToString(lb.TargetGroupArn), aws.ToString(a.AlternateTargetGroupArn)}
			t.ProdRule, t.TestRule = aws.ToString(a.ProductionListenerRule), aws.ToString(a.TestListenerRule)
			break
		}
	}
	if t.ProdRule == "" {
		return nil, &ResolveError{Msg: fmt.Sprintf("ECS service %s has no loadBalancers[].advancedConfiguration: ECS has no listener rule to move traffic on", service), Hint: "set advancedConfiguration (alternate target group, production listener rule, role) on the service's load balancer"}
	}
	cfg := svc.DeploymentConfiguration
	t.Plan.Bake = time.Duration(aws.ToInt32(cfg.BakeTimeInMinutes)) * time.Minute
	switch t.Strategy {
	case ecstypes.DeploymentStrategyLinear:
		t.Plan.StepBake = 6 * time.Minute // ECS's default
		if c := cfg.LinearConfiguration; c != nil && c.StepBakeTimeInMinutes != nil {
			t.Plan.StepBake = time.Duration(*c.StepBakeTimeInMinutes) * time.Minute
		}
	case ecstypes.DeploymentStrategyCanary:
		t.Plan.StepBake = 10 * time.Minute
		if c := cfg.CanaryConfiguration; c != nil && c.CanaryBakeTimeInMinutes != nil {
			t.Plan.StepBake = time.Duration(*c.CanaryBakeTimeInMinutes) * time.Minute
		}
	case ecstypes.DeploymentStrategyBlueGreen, ecstypes.DeploymentStrategyRolling:
	}
	for i, h := range cfg.LifecycleHooks {
		if h.TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause {
			continue
		}
		for _, st := range h.LifecycleStages {
			switch st {
			case ecstypes.DeploymentLifecycleHookStageTestTrafficShift, ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift, ecstypes.DeploymentLifecycleHookStagePreProductionTrafficShift:
				if t.GateHook == nil {
					t.GateHook = &cfg.LifecycleHooks[i]
				}
			default:
			}
		}
	}
	return t, nil
}

// LoadDrain reads the deregistration delay of the service's target groups
// into the plan: CLEAN_UP lasts about that long. A failed read leaves it
// unknown (the watcher then reads by its back-off).
func (e *ECSNative) LoadDrain(ctx context.Context, t *ECSService) {
	if e.ELB == nil {
		return
	}
	for _, tg := range t.Plan.TargetGroups {
		if tg == "" {
			continue
		}
		out, err := e.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			e.Log.Debug("the deregistration delay is not known", "target_group", tg, "error", err.Error())
			return
		}
		for _, a := range out.Attributes {
			if aws.ToString(a.Key) != "deregistration_delay.timeout_seconds" {
				continue
			}
			if n, err := strconv.Atoi(aws.ToString(a.Value)); err == nil {
				t.Plan.Drain = max(t.Plan.Drain, time.Duration(n)*time.Second)
			}
		}
	}
}

// Gate says, before a deployment starts, how its test traffic is checked.
func (e *ECSNative) Gate(t *ECSService) string {
	check := "no test check (BG_TEST_URL is not set)"
	if e.TestSmoke != nil {
		check = "the test URL is smoke-checked"
	}
	if t.GateHook != nil {
		what := "then ContinueServiceDeployment lets production traffic move (ROLLBACK if the check fails)"
		if e.Promote == PromoteManual {
			what = "then the job ends there and the promote job continues it (BG_PROMOTE=manual)"
		}
		return fmt.Sprintf("gate: the service's PAUSE hook holds the deployment after test traffic moves; %s, %s", check, what)
	}
	if e.TestSmoke == nil && e.ProdSmoke == nil {
		return "gate: the service has no PAUSE hook after test traffic and no smoke URL is set: ECS moves traffic by its own checks (circuit breaker, alarms) alone"
	}
	return "gate: the service has no PAUSE hook after test traffic: checks run while ECS moves on (test traffic, then bake time), and a failure stops the deployment with rollback (StopServiceDeployment ROLLBACK)"
}

// CheckPolicies refuses settings the service cannot honour, before
// anything changes: a manual promote needs a PAUSE hook to wait at.
func (e *ECSNative) CheckPolicies(t *ECSService) error {
	if e.Promote == PromoteManual && t.GateHook == nil {
		return &ResolveError{
			Msg:  fmt.Sprintf("BG_PROMOTE=manual: ECS service %s has no PAUSE lifecycle hook after test traffic, so nothing holds the deployment for the promote job", t.Service),
			Hint: "add a lifecycle hook {targetType: PAUSE, lifecycleStages: [POST_TEST_TRAFFIC_SHIFT]} to the service's deploymentConfiguration, or set BG_PROMOTE=auto",
		}
	}
	return nil
}

// ServiceDeploymentBrief is a service deployment in brief.
type ServiceDeploymentBrief struct {
	ARN            string
	Status         ecstypes.ServiceDeploymentStatus
	TargetRevision string
	// TaskDefinition is the target revision's (read only where needed).
	TaskDefinition string
}

// Current is the service's current service deployment (nil when it has none).
func (e *ECSNative) Current(ctx context.Context, t *ECSService) (*ecstypes.ServiceDeployment, error) {
	arn := aws.ToString(t.State.CurrentServiceDeployment)
	if arn == "" {
		return nil, nil
	}
	return e.describe(ctx, arn)
}

func (e *ECSNative) describe(ctx context.Context, arn string) (*ecstypes.ServiceDeployment, error) {
	out, err := e.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("reading service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, fmt.Errorf("service deployment %s not found", arn)
	}
	return &out.ServiceDeployments[0], nil
}

// revisionTaskDefs are the task definitions of service revisions.
func (e *ECSNative) revisionTaskDefs(ctx context.Context, arns ...string) (map[string]string, error) {
	out, err := e.ECS.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns})
	if err != nil {
		return nil, fmt.Errorf("reading service revisions: %w", err)
	}
	m := map[string]string{}
	for _, r := range out.ServiceRevisions {
		m[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
	}
	return m, nil
}

// ECSStarted is what Start did.
type ECSStarted struct {
	ARN string
	// Attached: this task definition's deployment was already running (a
	// retried job); Unchanged: the service already runs it, nothing started.
	Attached, Unchanged bool
}

// Start points the service at taskDef, which makes ECS start a service
// deployment, or attaches to the one in flight that deploys taskDef. A
// deployment of something else in flight is waited for (BG_ON_BUSY=wait)
// or refused.
func (e *ECSNative) Start(ctx context.Context, t *ECSService, taskDef string, onBusy func(arn string)) (ECSStarted, error) {
	cur, err := e.Current(ctx, t)
	if err != nil {
		return ECSStarted{}, err
	}
	if cur != nil && monitor.ServiceDeploymentInFlight(cur.Status) {
		arn := aws.ToString(cur.ServiceDeploymentArn)
		target := ""
		if cur.TargetServiceRevision != nil {
			target = aws.ToString(cur.TargetServiceRevision.Arn)
		}
		if target != "" && (cur.Status == ecstypes.ServiceDeploymentStatusInProgress || cur.Status == ecstypes.ServiceDeploymentStatusPending) {
			tds, err := e.revisionTaskDefs(ctx, target)
			if err != nil {
				return ECSStarted{}, err
			}
			if tds[target] == taskDef {
				return ECSStarted{ARN: arn, Attached: true}, nil
			}
		}
		if e.OnBusy != BusyWait {
			return ECSStarted{}, &ECSBusyError{ARN: arn, Status: cur.Status}
		}
		if onBusy != nil {
			onBusy(arn)
		}
		if err := e.waitEnd(ctx, arn); err != nil {
			return ECSStarted{}, err
		}
	} else if aws.ToString(t.State.TaskDefinition) == taskDef {
		return ECSStarted{Unchanged: true}, nil
	}
	out, err := e.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(t.Cluster), Service: aws.String(t.Service), TaskDefinition: aws.String(taskDef)})
	if err != nil {
		return ECSStarted{}, fmt.Errorf("updating ECS service %s to %s: %w", t.Service, ShortTaskDef(taskDef), err)
	}
	if out.Service != nil {
		t.State = out.Service
	}
	arn := ""
	if out.Service != nil {
		arn = aws.ToString(out.Service.CurrentServiceDeployment)
	}
	if arn == "" || (cur != nil && arn == aws.ToString(cur.ServiceDeploymentArn)) {
		return ECSStarted{}, fmt.Errorf("ECS service %s was updated to %s but shows no new service deployment", t.Service, ShortTaskDef(taskDef))
	}
	return ECSStarted{ARN: arn}, nil
}

// waitEnd waits, quietly, for another deployment to end.
func (e *ECSNative) waitEnd(ctx context.Context, arn string) error {
	w := monitor.ServiceDeploymentWatcher{API: e.ECS, Clock: e.Clock, OnWarning: func(m string) { e.Log.Warn(m) }}
	_, err := w.Watch(ctx, arn)
	return err
}

// ECSBusyError is another service deployment in flight (BG_ON_BUSY=fail).
type ECSBusyError struct {
	ARN    string
	Status ecstypes.ServiceDeploymentStatus
}

func (e *ECSBusyError) Error() string {
	return fmt.Sprintf("service deployment %s is already %s on this service", e.ARN, e.Status)
}

// ExitCode is 1: this pipeline's deployment did not happen.
func (e *ECSBusyError) ExitCode() int { return 1 }

// ErrorHint says how to get past it.
func (e *ECSBusyError) ErrorHint() string {
	return "set BG_ON_BUSY=wait to queue behind it, or run rollback to stop it"
}

// Stop stops a service deployment with rollback.
func (e *ECSNative) Stop(ctx context.Context, arn string) error {
	_, err := e.ECS.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback})
	if err != nil {
		return fmt.Errorf("stopping service deployment %s with rollback: %w", arn, err)
	}
	return nil
}

// Continue answers a PAUSE hook: CONTINUE, or ROLLBACK.
func (e *ECSNative) Continue(ctx context.Context, arn, hookID string, rollback bool) error {
	action := ecstypes.DeploymentLifecycleHookActionContinue
	if rollback {
		action = ecstypes.DeploymentLifecycleHookActionRollback
	}
	_, err := e.ECS.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String(hookID), Action: action})
	if err == nil {
		return nil
	}
	// The answer may have landed (a lost response, or a retry after it
	// did): if the hook no longer waits, it was answered.
	if d, derr := e.describe(ctx, arn); derr == nil && !hookAwaiting(d, hookID) {
		return nil
	}
	return fmt.Errorf("answering the PAUSE hook %s of service deployment %s with %s: %w", hookID, arn, action, err)
}

func hookAwaiting(d *ecstypes.ServiceDeployment, hookID string) bool {
	for _, h := range d.LifecycleHookDetails {
		if aws.ToString(h.HookId) == hookID {
			return h.Status == ecstypes.DeploymentLifecycleHookStatusAwaitingAction
		}
	}
	return false
}

// Previous is the task definition production ran before the last
// successful deployment: where a rollback after the end goes back to.
func (e *ECSNative) Previous(ctx context.Context, t *ECSService) (string, error) {
	out, err := e.ECS.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(t.Cluster), Service: aws.String(t.Service), Status: []ecstypes.ServiceDeploymentStatus{ecstypes.ServiceDeploymentStatusSuccessful},
	})
	if err != nil {
		return "", fmt.Errorf("listing service deployments of %s: %w", t.Service, err)
	}
	briefs := out.ServiceDeployments
	slices.SortFunc(briefs, func(a, b ecstypes.ServiceDeploymentBrief) int {
		return aws.ToTime(b.CreatedAt).Compare(aws.ToTime(a.CreatedAt))
	})
	for _, b := range briefs {
		d, err := e.describe(ctx, aws.ToString(b.ServiceDeploymentArn))
		if err != nil {
			return "", err
		}
		if len(d.SourceServiceRevisions) == 0 {
			continue
		}
		src := aws.ToString(d.SourceServiceRevisions[0].Arn)
		tds, err := e.revisionTaskDefs(ctx, src)
		if err != nil {
			return "", err
		}
		if td := tds[src]; td != "" && td != aws.ToString(t.State.TaskDefinition) {
			return td, nil
		}
	}
	return "", nil
}

// ECSOutcome is how a watched service deployment ended, when it did not fail.
type ECSOutcome struct {
	ARN    string
	Status ecstypes.ServiceDeploymentStatus
	// AwaitingPromotion: held at the PAUSE hook for the promote job.
	AwaitingPromotion bool
	// Baking: production moved and the job ended in the bake time
	// (BG_WAIT_FOR=traffic).
	Baking bool
}

// ServiceDeploymentError is a service deployment that rolled back or was
// stopped: exit 1.
type ServiceDeploymentError struct {
	ARN    string
	Status ecstypes.ServiceDeploymentStatus
	Reason string
	// Cause is the tool's own reason (a failed smoke check), if it acted.
	Cause      string
	ConsoleURL string
}

func (e *ServiceDeploymentError) Error() string {
	s := fmt.Sprintf("service deployment %s ended %s", e.ARN, e.Status)
	if e.Cause != "" {
		s += ": " + e.Cause
	}
	if e.Reason != "" {
		s += " (ECS: " + e.Reason + ")"
	}
	return s
}

// ExitCode is 1: the pipeline fails (DESIGN §3).
func (e *ServiceDeploymentError) ExitCode() int { return 1 }

// Explain adds the console link under the error.
func (e *ServiceDeploymentError) Explain() []string {
	if e.ConsoleURL == "" {
		return nil
	}
	return []string{"see: " + e.ConsoleURL}
}

// RolledBack reports whether ECS rolled back to the previous revision.
func (e *ServiceDeploymentError) RolledBack() bool {
	return e.Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful
}

// ECSTimeoutError is a watch that ran out of time: exit 3.
type ECSTimeoutError struct {
	ARN     string
	After   time.Duration
	Stage   string
	Applied TimeoutPolicy
}

func (e *ECSTimeoutError) Error() string {
	what := map[TimeoutPolicy]string{
		TimeoutLeave:    "left running; a later job can attach to it, or run promote or rollback",
		TimeoutRollback: "stopped with rollback",
		TimeoutStop:     "left running: ECS has no stop without rollback that leaves traffic where it is (BG_ON_TIMEOUT=stop acts as leave here)",
	}[e.Applied]
	return fmt.Sprintf("service deployment %s did not end within %s (it was at %s); it was %s", e.ARN, e.After, e.Stage, what)
}

// ExitCode is 3 (DESIGN §3).
func (e *ECSTimeoutError) ExitCode() int { return 3 }

// WatchOptions change one watch.
type WatchOptions struct {
	// NoChecks: no smoke check and no gate (rollback's own watch, and the
	// way back after a failed production check).
	NoChecks bool
}

// Watch follows a service deployment to its end, acting at the gate.
func (e *ECSNative) Watch(ctx context.Context, t *ECSService, arn string, opt WatchOptions) (ECSOutcome, error) {
	wctx := ctx
	if e.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, e.Timeout, errTimedOut)
		defer cancel()
	}
	out := ECSOutcome{ARN: arn}
	var cause string // the check that failed, when the tool rolled back
	var lateFailure error
	tested := false
	var last monitor.ServiceDeployment
	w := monitor.ServiceDeploymentWatcher{
		API: e.ECS, Clock: e.Clock, Plan: t.Plan,
		OnEvent: func(ev monitor.SDEvent) {
			if e.Progress != nil {
				e.Progress(ev.At, ev.String())
			}
		},
		OnWarning: func(m string) { e.Log.Warn(m) },
		OnDecision: func(ctx context.Context, o monitor.ServiceDeployment, d monitor.SDDecision) error {
			last = o
			if cause != "" || d.RollingBack {
				return nil
			}
			if opt.NoChecks {
				if d.Paused != "" {
					return e.Continue(ctx, arn, d.Paused, false)
				}
				return nil
			}
			if d.TestTrafficReady && t.GateHook == nil && e.TestSmoke != nil {
				tested = true
				if err := e.smoke(ctx, "test", *e.TestSmoke); err != nil {
					cause = "the test traffic smoke check failed: " + err.Error()
					return e.stopFor(ctx, arn, err)
				}
			}
			if d.Paused != "" {
				if !tested && e.TestSmoke != nil && o.Target.Test >= 100 {
					tested = true
					if err := e.smoke(ctx, "test", *e.TestSmoke); err != nil {
						cause = "the test traffic smoke check failed: " + err.Error()
						e.Log.Error("smoke check failed: rolling back at the PAUSE hook", "service_deployment", arn, "error", err.Error())
						return e.Continue(ctx, arn, d.Paused, true)
					}
				}
				if e.Promote == PromoteManual {
					e.Log.Info("the new revision takes test traffic and is checked; production traffic moves when promote runs", "service_deployment", arn, "hook", d.Paused)
					out.AwaitingPromotion = true
					return monitor.ErrStopWatching
				}
				e.Log.Info("continuing: production traffic starts moving", "service_deployment", arn, "hook", d.Paused)
				return e.Continue(ctx, arn, d.Paused, false)
			}
			if (d.Baking || (d.ProductionMoved && t.Plan.Bake == 0)) && e.ProdSmoke != nil {
				if err := e.smoke(ctx, "production", *e.ProdSmoke); err != nil {
					if t.Plan.Bake == 0 {
						lateFailure = err
						return nil
					}
					cause = "the production smoke check failed in the bake time: " + err.Error()
					return e.stopFor(ctx, arn, err)
				}
			}
			if d.Baking && e.WaitFor == WaitForTraffic {
				e.Log.Info("production traffic moved; the old revision stays until the bake time ends", "service_deployment", arn)
				out.Baking = true
				return monitor.ErrStopWatching
			}
			return nil
		},
	}
	res, err := w.Watch(wctx, arn)
	if err != nil {
		if wctx.Err() != nil {
			return out, e.interrupted(ctx, wctx, arn, last)
		}
		return out, err
	}
	out.Status = res.Final.Status
	if res.Stopped {
		return out, nil
	}
	if lateFailure != nil && res.Final.Status == ecstypes.ServiceDeploymentStatusSuccessful {
		return out, &ServiceDeploymentError{
			ARN: arn, Status: res.Final.Status, ConsoleURL: e.consoleURL(t),
			Cause: "the production smoke check failed after production moved, and the bake time is 0, so ECS had nothing to roll back to (" + lateFailure.Error() + "); run rollback to go back to the previous revision",
		}
	}
	if res.Final.Status == ecstypes.ServiceDeploymentStatusSuccessful {
		return out, nil
	}
	reason := res.Final.RollbackReason
	if reason == "" {
		reason = res.Final.Reason
	}
	return out, &ServiceDeploymentError{ARN: arn, Status: res.Final.Status, Reason: reason, Cause: cause, ConsoleURL: e.consoleURL(t)}
}

func (e *ECSNative) consoleURL(t *ECSService) string {
	return fmt.Sprintf("https://%s.console.aws.amazon.com/ecs/v2/clusters/%s/services/%s/deployments?region=%s", e.Region, t.Cluster, t.Service, e.Region)
}

func (e *ECSNative) smoke(ctx context.Context, which string, check verify.Smoke) error {
	e.Log.Info("smoke check started", "traffic", which, "url", check.URL.Redacted())
	res, err := e.Smoke.Run(ctx, check)
	if err != nil {
		return err
	}
	e.Log.Info("smoke check passed", "traffic", which, "requests", res.Probes, "duration", res.Duration.Round(time.Millisecond).String())
	return nil
}

func (e *ECSNative) stopFor(ctx context.Context, arn string, cause error) error {
	if ctx.Err() != nil {
		return cause
	}
	e.Log.Error("smoke check failed: stopping the service deployment with rollback", "service_deployment", arn, "error", cause.Error())
	if err := e.Stop(ctx, arn); err != nil {
		return fmt.Errorf("%w; and %w", cause, err)
	}
	return nil
}

// succeededBeforeStop is a timeout's stop that came after the service
// deployment had succeeded: production runs the new revision. Its
// production check, which the timeout cut short, runs now; a failure is
// exit 1 with the way back (rollback goes to the previous revision).
func (e *ECSNative) succeededBeforeStop(ctx context.Context, arn string) error {
	e.Log.Warn("the service deployment succeeded before the timeout's stop reached it: nothing was stopped or rolled back, production runs the new revision", "service_deployment", arn)
	if e.ProdSmoke == nil {
		return nil
	}
	if err := e.smoke(ctx, "production", *e.ProdSmoke); err != nil {
		return fmt.Errorf("service deployment %s succeeded before the timeout's stop, and the production smoke check then failed: %w; run rollback to go back to the previous revision", arn, err)
	}
	return nil
}

// interrupted applies the timeout or interrupt policy; the stop has a
// context of its own, the job's being cancelled.
func (e *ECSNative) interrupted(ctx, wctx context.Context, arn string, last monitor.ServiceDeployment) error {
	cause := context.Cause(wctx)
	stopCtx, cancel := untilJobEnd(ctx, e.StopUntil)
	defer cancel()
	stage := strings.ToLower(string(last.Status))
	if last.Stage != "" {
		stage = string(last.Stage)
	}
	live := monitor.ServiceDeploymentInFlight(last.Status) && last.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress && last.Status != ecstypes.ServiceDeploymentStatusRollbackRequested
	if errors.Is(cause, errTimedOut) {
		terr := &ECSTimeoutError{ARN: arn, After: e.Timeout, Stage: stage, Applied: e.OnTimeout}
		if e.OnTimeout == TimeoutRollback && live {
			serr := e.stopRetrying(stopCtx, arn)
			// The outcome is what ECS says happened, not what was asked: a
			// deployment that ended SUCCESSFUL before the stop reached it
			// was neither stopped nor rolled back.
			if d, err := e.describe(stopCtx, arn); err == nil && d.Status == ecstypes.ServiceDeploymentStatusSuccessful {
				return e.succeededBeforeStop(stopCtx, arn)
			}
			if serr != nil {
				return fmt.Errorf("%w; %w", terr, serr)
			}
		}
		return terr
	}
	ierr := &InterruptedError{ID: arn, Cause: cause, Applied: e.OnInterrupt}
	if e.OnInterrupt == InterruptRollback && live {
		e.Log.Warn("interrupted: stopping the service deployment with rollback", "service_deployment", arn)
		serr := e.stopRetrying(stopCtx, arn)
		if d, err := e.describe(stopCtx, arn); err == nil && d.Status == ecstypes.ServiceDeploymentStatusSuccessful {
			return fmt.Errorf("%w: service deployment %s had already succeeded when the stop reached it, so production runs the new revision; run rollback to go back to the previous one", cause, arn)
		}
		if serr != nil {
			return fmt.Errorf("%w: stopping service deployment %s with rollback failed: %w", cause, arn, serr)
		}
	}
	return ierr
}
