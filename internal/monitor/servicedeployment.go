package monitor

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The ecs model's watcher: an ECS service deployment (deploymentController
// ECS with the BLUE_GREEN, LINEAR or CANARY strategy, aws-facts §5.2) read
// from DescribeServiceDeployments, evaluated the way Evaluate does a
// CodeDeploy deployment: the previous and the new observation give the
// lines to print and a decision, and nothing here talks to AWS.

// ServiceDeployment is what one read said about a service deployment.
type ServiceDeployment struct {
	// At is when it was read, on AWS's clock (as Observation.At).
	At     time.Time
	ARN    string
	Status ecstypes.ServiceDeploymentStatus
	Reason string
	// Stage is the lifecycle stage; ECS reports it only while the
	// deployment is IN_PROGRESS.
	Stage ecstypes.ServiceDeploymentLifecycleStage
	// Source is the revision production ran before (the first of
	// sourceServiceRevisions), Target the one being deployed.
	Source, Target Revision
	Hooks          []Hook
	CircuitBreaker Monitor
	Alarms         Monitor
	// RollbackReason and RollbackStarted are set once ECS rolls back.
	RollbackReason  string
	RollbackStarted time.Time
	// Created, Started, Finished and Updated are AWS's times.
	Created, Started, Finished, Updated time.Time
}

// Revision is one service revision's part in a deployment.
type Revision struct {
	ARN string
	// TargetGroup is the ARN of the target group the revision's tasks
	// are registered in (from DescribeServiceRevisions): it names the
	// colour. Empty when unknown.
	TargetGroup                 string
	Requested, Running, Pending int32
	// Production and Test are the requested traffic weights in percent.
	Production, Test float64
}

// Hook is one lifecycle hook run of the deployment.
type Hook struct {
	ID, TargetType, Status, TimeoutAction string
	Expires                               time.Time
}

// Monitor is the circuit breaker's or the alarms' state.
type Monitor struct {
	Status              ecstypes.ServiceDeploymentRollbackMonitorsStatus
	FailureCount, Limit int32
	Names, TriggeredBy  []string
}

// ServiceDeploymentFromSDK builds an observation from one of
// DescribeServiceDeployments' serviceDeployments; tgOf names the target
// group of a revision ARN (nil or "" when unknown).
func ServiceDeploymentFromSDK(at time.Time, d ecstypes.ServiceDeployment, tgOf func(revision string) string) ServiceDeployment {
	o := ServiceDeployment{
		At: at, ARN: aws.ToString(d.ServiceDeploymentArn), Status: d.Status, Reason: aws.ToString(d.StatusReason), Stage: d.LifecycleStage,
		Created: aws.ToTime(d.CreatedAt), Started: aws.ToTime(d.StartedAt), Finished: aws.ToTime(d.FinishedAt), Updated: aws.ToTime(d.UpdatedAt),
	}
	rev := func(r *ecstypes.ServiceRevisionSummary) Revision {
		if r == nil {
			return Revision{}
		}
		v := Revision{
			ARN: aws.ToString(r.Arn), Requested: r.RequestedTaskCount, Running: r.RunningTaskCount, Pending: r.PendingTaskCount,
			Production: aws.ToFloat64(r.RequestedProductionTrafficWeight), Test: aws.ToFloat64(r.RequestedTestTrafficWeight),
		}
		if tgOf != nil {
			v.TargetGroup = tgOf(v.ARN)
		}
		return v
	}
	o.Target = rev(d.TargetServiceRevision)
	if len(d.SourceServiceRevisions) > 0 {
		o.Source = rev(&d.SourceServiceRevisions[0])
	}
	for _, h := range d.LifecycleHookDetails {
		o.Hooks = append(o.Hooks, Hook{ID: aws.ToString(h.HookId), TargetType: string(h.TargetType), Status: string(h.Status), TimeoutAction: string(h.TimeoutAction), Expires: aws.ToTime(h.ExpiresAt)})
	}
	if c := d.DeploymentCircuitBreaker; c != nil {
		o.CircuitBreaker = Monitor{Status: c.Status, FailureCount: c.FailureCount, Limit: c.Threshold}
	}
	if a := d.Alarms; a != nil {
		o.Alarms = Monitor{Status: a.Status, Names: a.AlarmNames, TriggeredBy: a.TriggeredAlarmNames}
	}
	if r := d.Rollback; r != nil {
		o.RollbackReason, o.RollbackStarted = aws.ToString(r.Reason), aws.ToTime(r.StartedAt)
	}
	return o
}

// ServiceDeploymentPlan is what the service's configuration says: the
// colours' target groups and the timing of the strategy.
type ServiceDeploymentPlan struct {
	// TargetGroups are the blue and the green colour's target group ARNs:
	// the service's loadBalancers[0].targetGroupArn, then its
	// advancedConfiguration.alternateTargetGroupArn. A revision takes the
	// colour of the target group it runs in, whichever side ECS calls
	// source or target, so progress lines name colours as status does.
	TargetGroups [2]string
	// Bake is bakeTimeInMinutes; StepBake is the linear step's or the
	// canary's bake time (zero for BLUE_GREEN).
	Bake, StepBake time.Duration
	// Drain is the target groups' deregistration delay: how long CLEAN_UP
	// waits for the old revision's targets to drain (zero: unknown).
	Drain time.Duration
}

// ColourOf names the colour of a revision by its target group; "" when the
// plan does not know it.
func (p ServiceDeploymentPlan) ColourOf(r Revision) string {
	switch {
	case r.TargetGroup != "" && r.TargetGroup == p.TargetGroups[0]:
		return "blue"
	case r.TargetGroup != "" && r.TargetGroup == p.TargetGroups[1]:
		return "green"
	}
	return ""
}

// SDEventKind says what changed in a service deployment.
type SDEventKind int

// Kinds of change.
const (
	SDStatus   SDEventKind = iota // the status changed
	SDStage                       // the lifecycle stage changed
	SDTasks                       // a revision's task counts changed
	SDTraffic                     // production or test weights changed
	SDHook                        // a lifecycle hook run changed status
	SDMonitor                     // the circuit breaker or the alarms changed
	SDRollback                    // ECS started rolling back
)

// SDEvent is one change, printed as one log line.
type SDEvent struct {
	Kind SDEventKind
	At   time.Time
	// Line is the log line.
	Line string
}

func (e SDEvent) String() string { return e.Line }

// SDDecision is what the watcher should do after an observation.
type SDDecision struct {
	// Done is true once the deployment ended; Succeeded when it ended
	// SUCCESSFUL (every other end rolled back or stopped).
	Done, Succeeded bool
	// RollingBack is true while (and once) ECS rolls back.
	RollingBack bool
	// Edges, true on the first observation where each holds:
	// TestTrafficReady: the test listener rule sends all test traffic to
	// the target revision (run the test smoke check).
	TestTrafficReady bool
	// Paused names a PAUSE hook newly AWAITING_ACTION (ContinueServiceDeployment's hookId).
	Paused string
	// ProductionMoved: all production traffic is on the target revision.
	ProductionMoved bool
	// Baking: the bake time began (both revisions run, production moved).
	Baking bool
}

// inFlight reports whether a status is not final.
func inFlight(s ecstypes.ServiceDeploymentStatus) bool {
	switch s {
	case ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusStopped,
		ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return false
	}
	return true
}

// ServiceDeploymentInFlight reports whether a service deployment with this
// status has not ended.
func ServiceDeploymentInFlight(s ecstypes.ServiceDeploymentStatus) bool { return inFlight(s) }

func rollingBack(s ecstypes.ServiceDeploymentStatus) bool {
	switch s {
	case ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress,
		ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

// EvaluateServiceDeployment compares the previous observation (nil for the
// first) with the new one and returns the lines to print, in order, and
// the decision.
func EvaluateServiceDeployment(prev *ServiceDeployment, cur ServiceDeployment, plan ServiceDeploymentPlan) ([]SDEvent, SDDecision) {
	var ev []SDEvent
	add := func(k SDEventKind, format string, a ...any) {
		ev = append(ev, SDEvent{Kind: k, At: cur.At, Line: fmt.Sprintf(format, a...)})
	}
	var p ServiceDeployment
	if prev != nil {
		p = *prev
	}
	if prev == nil || p.Status != cur.Status {
		line := "service deployment " + string(cur.Status)
		if cur.Reason != "" && !inFlight(cur.Status) {
			line += ": " + cur.Reason
		}
		add(SDStatus, "%s", line)
	}
	if cur.Stage != "" && (prev == nil || p.Stage != cur.Stage) {
		add(SDStage, "stage %s", cur.Stage)
	}
	for _, r := range []struct {
		cur, old Revision
		role     string
	}{{cur.Source, p.Source, "source"}, {cur.Target, p.Target, "target"}} {
		if r.cur.ARN == "" {
			continue
		}
		if prev != nil && r.old.ARN == r.cur.ARN && r.old.Requested == r.cur.Requested && r.old.Running == r.cur.Running && r.old.Pending == r.cur.Pending {
			continue
		}
		c := plan.ColourOf(r.cur)
		if c == "" {
			c = r.role
		}
		add(SDTasks, "%-5s revision %s (%s): %d/%d running, %d pending", c, shortRevision(r.cur.ARN), r.role, r.cur.Running, r.cur.Requested, r.cur.Pending)
	}
	blue, green := sdWeights(cur, plan, false)
	tb, tg := sdWeights(cur, plan, true)
	if prev == nil || func() bool { b, g := sdWeights(p, plan, false); return b != blue || g != green }() {
		add(SDTraffic, "traffic %s", Bar(blue, green))
	}
	if prev != nil && func() bool { b, g := sdWeights(p, plan, true); return b != tb || g != tg }() {
		add(SDTraffic, "test    %s", Bar(tb, tg))
	}
	for _, h := range cur.Hooks {
		old, ok := findHook(p.Hooks, h.ID)
		if ok && old.Status == h.Status {
			continue
		}
		line := fmt.Sprintf("hook %s %s %s", h.TargetType, shortID(h.ID), h.Status)
		if h.Status == string(ecstypes.DeploymentLifecycleHookStatusAwaitingAction) && !h.Expires.IsZero() {
			layout := "15:04:05"
			if h.Expires.Sub(cur.At) > 20*time.Hour {
				layout = "2006-01-02 15:04"
			}
			line += fmt.Sprintf(" (until %s UTC, then %s)", h.Expires.UTC().Format(layout), h.TimeoutAction)
		}
		add(SDHook, "%s", line)
	}
	if cur.CircuitBreaker.Status != "" && cur.CircuitBreaker.Status != p.CircuitBreaker.Status && (prev != nil || cur.CircuitBreaker.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered) {
		add(SDMonitor, "circuit breaker %s (%d of %d tasks failed)", cur.CircuitBreaker.Status, cur.CircuitBreaker.FailureCount, cur.CircuitBreaker.Limit)
	}
	if cur.Alarms.Status != "" && (cur.Alarms.Status != p.Alarms.Status || strings.Join(cur.Alarms.TriggeredBy, ",") != strings.Join(p.Alarms.TriggeredBy, ",")) &&
		(prev != nil || len(cur.Alarms.TriggeredBy) > 0) {
		line := "alarms " + string(cur.Alarms.Status)
		if len(cur.Alarms.TriggeredBy) > 0 {
			line += ": " + strings.Join(cur.Alarms.TriggeredBy, ", ")
		}
		add(SDMonitor, "%s", line)
	}
	if !cur.RollbackStarted.IsZero() && p.RollbackStarted.IsZero() {
		add(SDRollback, "rolling back to revision %s: %s", shortRevision(cur.Source.ARN), cur.RollbackReason)
	}

	d := SDDecision{Done: !inFlight(cur.Status), RollingBack: rollingBack(cur.Status) || !cur.RollbackStarted.IsZero()}
	d.Succeeded = cur.Status == ecstypes.ServiceDeploymentStatusSuccessful
	forward := cur.Status == ecstypes.ServiceDeploymentStatusInProgress
	testOn := func(o ServiceDeployment) bool {
		return o.Target.Test >= 100 && stageAfter(o.Stage, ecstypes.ServiceDeploymentLifecycleStageTestTrafficShift, true)
	}
	prodOn := func(o ServiceDeployment) bool { return o.Target.Production >= 100 }
	if forward {
		d.TestTrafficReady = testOn(cur) && (prev == nil || !testOn(p))
		d.ProductionMoved = prodOn(cur) && (prev == nil || !prodOn(p))
		d.Baking = cur.Stage == ecstypes.ServiceDeploymentLifecycleStageBakeTime && (prev == nil || p.Stage != cur.Stage)
		for _, h := range cur.Hooks {
			if h.TargetType != string(ecstypes.DeploymentLifecycleHookTargetTypePause) || h.Status != string(ecstypes.DeploymentLifecycleHookStatusAwaitingAction) {
				continue
			}
			if old, ok := findHook(p.Hooks, h.ID); !ok || old.Status != h.Status {
				d.Paused = h.ID
			}
		}
	}
	return ev, d
}

// AwaitingHook is the PAUSE hook the deployment waits at, if any.
func (o ServiceDeployment) AwaitingHook() (Hook, bool) {
	for _, h := range o.Hooks {
		if h.TargetType == string(ecstypes.DeploymentLifecycleHookTargetTypePause) && h.Status == string(ecstypes.DeploymentLifecycleHookStatusAwaitingAction) {
			return h, true
		}
	}
	return Hook{}, false
}

// sdStages is the order of the lifecycle stages (aws-facts §5.2).
var sdStages = []ecstypes.ServiceDeploymentLifecycleStage{
	ecstypes.ServiceDeploymentLifecycleStageReconcileService, ecstypes.ServiceDeploymentLifecycleStagePreScaleUp,
	ecstypes.ServiceDeploymentLifecycleStageScaleUp, ecstypes.ServiceDeploymentLifecycleStagePostScaleUp,
	ecstypes.ServiceDeploymentLifecycleStageTestTrafficShift, ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift,
	ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift, ecstypes.ServiceDeploymentLifecycleStagePostProductionTrafficShift,
	ecstypes.ServiceDeploymentLifecycleStageBakeTime, ecstypes.ServiceDeploymentLifecycleStageCleanUp,
}

// stageAfter reports whether stage s comes after ref (or is ref, with orAt).
func stageAfter(s, ref ecstypes.ServiceDeploymentLifecycleStage, orAt bool) bool {
	si, ri := -1, -1
	for i, x := range sdStages {
		if x == s {
			si = i
		}
		if x == ref {
			ri = i
		}
	}
	return si >= 0 && ri >= 0 && (si > ri || orAt && si == ri)
}

// sdWeights are the blue and green colours' production (or test) shares.
// With the colours unknown, the source counts as blue, the target as green.
func sdWeights(o ServiceDeployment, plan ServiceDeploymentPlan, test bool) (blue, green float64) {
	for _, r := range []struct {
		rev  Revision
		side string
	}{{o.Source, "blue"}, {o.Target, "green"}} {
		if r.rev.ARN == "" {
			continue
		}
		w := r.rev.Production
		if test {
			w = r.rev.Test
		}
		c := plan.ColourOf(r.rev)
		if c == "" {
			c = r.side
		}
		if c == "blue" {
			blue += w
		} else {
			green += w
		}
	}
	return blue, green
}

func findHook(hs []Hook, id string) (Hook, bool) {
	for _, h := range hs {
		if h.ID == id {
			return h, true
		}
	}
	return Hook{}, false
}

// shortRevision is a service revision ARN's last part.
func shortRevision(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// sdLatest is the latest AWS timestamp an observation carries.
func sdLatest(o ServiceDeployment) time.Time {
	latest := o.Created
	for _, t := range []time.Time{o.Started, o.Finished, o.Updated, o.RollbackStarted} {
		if t.After(latest) {
			latest = t
		}
	}
	return latest
}
