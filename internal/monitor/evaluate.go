package monitor

import (
	"fmt"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// Stage is where a deployment is, derived from its status, its ECS target's
// status and its lifecycle events.
type Stage int

// Stages in the order a deployment passes them.
const (
	StagePending         Stage = iota // Created or Queued
	StageInstalling                   // creating the replacement task set
	StageTestTraffic                  // the test listener points at the replacement
	StageReady                        // waiting at Ready for ContinueDeployment(READY_WAIT)
	StageShifting                     // production traffic is moving
	StageTrafficMoved                 // production traffic is all on the replacement
	StageTerminationWait              // done except deleting the original task set
	StageSucceeded
	StageFailed
	StageStopped
)

var stageNames = [...]string{"pending", "installing", "test traffic", "ready", "shifting traffic", "traffic moved", "termination wait", "succeeded", "failed", "stopped"}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return fmt.Sprintf("stage(%d)", int(s))
}

// Terminal reports whether the deployment has ended.
func (s Stage) Terminal() bool { return s >= StageSucceeded }

// Lifecycle event names of an ECS deployment, in order (aws-facts §2.3).
const (
	EventBeforeInstall         = "BeforeInstall"
	EventInstall               = "Install"
	EventAfterInstall          = "AfterInstall"
	EventAllowTestTraffic      = "AllowTestTraffic"
	EventAfterAllowTestTraffic = "AfterAllowTestTraffic"
	EventBeforeAllowTraffic    = "BeforeAllowTraffic"
	EventAllowTraffic          = "AllowTraffic"
	EventAfterAllowTraffic     = "AfterAllowTraffic"
)

// UnknownStatusError reports a status value this build does not know: an SDK
// upgrade added it. The loop keeps polling (the deployment may still end in a
// known state) and says so once.
type UnknownStatusError struct {
	Kind, Value string
}

func (e *UnknownStatusError) Error() string {
	return fmt.Sprintf("CodeDeploy reported %s %q, which this version of ecs-bluegreen does not know; still watching", e.Kind, e.Value)
}

// StageOf derives the stage of an observation.
func StageOf(o Observation) (Stage, error) {
	switch o.Status {
	case cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued:
		return StagePending, nil
	case cdtypes.DeploymentStatusReady:
		return StageReady, nil
	case cdtypes.DeploymentStatusSucceeded:
		return StageSucceeded, nil
	case cdtypes.DeploymentStatusFailed:
		return StageFailed, nil
	case cdtypes.DeploymentStatusStopped:
		return StageStopped, nil
	case cdtypes.DeploymentStatusInProgress, cdtypes.DeploymentStatusBaking:
		// Baking has no documented ECS meaning: treat it as in progress.
		return progressStage(o.Target)
	default:
		return StagePending, &UnknownStatusError{Kind: "deployment status", Value: string(o.Status)}
	}
}

// progressStage reads an InProgress deployment's target. The termination wait
// shows as an InProgress deployment whose ECS target already Succeeded
// (instanceTerminationWaitTimeStarted stays false for ECS: aws-facts §2.2).
func progressStage(t *Target) (Stage, error) {
	if t == nil {
		return StageInstalling, nil
	}
	switch t.Status {
	case cdtypes.TargetStatusSucceeded:
		return StageTerminationWait, nil
	case cdtypes.TargetStatusReady:
		return StageReady, nil
	case cdtypes.TargetStatusPending, cdtypes.TargetStatusInProgress, cdtypes.TargetStatusFailed,
		cdtypes.TargetStatusSkipped, cdtypes.TargetStatusUnknown:
		// Failed/Skipped targets of a deployment still InProgress: the deployment
		// status will follow; until then the lifecycle tells where it is.
	default:
		return StageInstalling, &UnknownStatusError{Kind: "target status", Value: string(t.Status)}
	}
	done := func(name string) bool {
		e, ok := t.Event(name)
		return ok && (e.Status == cdtypes.LifecycleEventStatusSucceeded || e.Status == cdtypes.LifecycleEventStatusSkipped)
	}
	started := func(name string) bool {
		e, ok := t.Event(name)
		return ok && e.Status != cdtypes.LifecycleEventStatusPending && e.Status != ""
	}
	switch {
	case done(EventAllowTraffic):
		return StageTrafficMoved, nil
	case started(EventBeforeAllowTraffic) || started(EventAllowTraffic):
		return StageShifting, nil
	case testTrafficOnGreen(t):
		return StageTestTraffic, nil
	default:
		return StageInstalling, nil
	}
}

// testTrafficOnGreen reports whether the test listener points at the
// replacement task set: AllowTestTraffic succeeded (Skipped means there is no
// test listener, so there is no test traffic to check).
func testTrafficOnGreen(t *Target) bool {
	e, ok := t.Event(EventAllowTestTraffic)
	return ok && e.Status == cdtypes.LifecycleEventStatusSucceeded
}

// productionOnGreen reports whether all production traffic is on the replacement.
func productionOnGreen(t *Target) bool {
	if t == nil {
		return false
	}
	green, ok := t.TaskSet(cdtypes.TargetLabelGreen)
	if ok && green.Weight >= 100 {
		return true
	}
	e, ok := t.Event(EventAllowTraffic)
	return ok && e.Status == cdtypes.LifecycleEventStatusSucceeded
}

// Plan is what the deployment group and configuration say about timing:
// the schedule the polling plan (pace.go) reads rarely through and quickly
// around. Zero values mean unknown.
type Plan struct {
	// ShiftInterval is the canary or linear interval; zero for all-at-once.
	ShiftInterval time.Duration
	// Linear is true for a linear configuration (StepPercent every
	// ShiftInterval); false for a canary (StepPercent, then the rest after
	// ShiftInterval).
	Linear bool
	// StepPercent is the canary or linear percentage.
	StepPercent float64
	// ReadyTimeout is how long the group waits at Ready before it stops the
	// deployment itself (STOP_DEPLOYMENT with a wait); zero when the wait has
	// no end or the group does not wait.
	ReadyTimeout time.Duration
	// TerminationWait is how long the original task set is kept once traffic
	// moved; TerminationKnown says the group gave it (0 is a real value).
	TerminationWait  time.Duration
	TerminationKnown bool
	// TargetGroups are the deployment group's two target group names in the
	// group's order: the blue colour's, then the green colour's. A task set
	// takes the colour of its target group, never CodeDeploy's Blue/Green
	// label (the original set is always labelled Blue, whichever group it
	// serves), so progress lines name colours the way status does.
	TargetGroups [2]string
}

// ColourOf names the colour a task set serves: its target group's, or its
// CodeDeploy label when the plan does not know the groups.
func (p Plan) ColourOf(ts TaskSet) string {
	switch {
	case ts.TargetGroup != "" && ts.TargetGroup == p.TargetGroups[0]:
		return "blue"
	case ts.TargetGroup != "" && ts.TargetGroup == p.TargetGroups[1]:
		return "green"
	default:
		return colour(ts.Label)
	}
}

// Decision is what the watcher should do after an observation.
type Decision struct {
	Stage Stage
	// Done is true once the deployment ended (and no rollback is to be followed).
	Done bool
	// FollowRollback names the rollback deployment CodeDeploy started; the
	// watcher switches to it and reports the original as rolled back.
	FollowRollback string
	// Edges: true on the first observation where the condition holds.
	TestTrafficReady bool // the test listener now serves the replacement: run the test smoke check
	EnteredReady     bool // waiting at Ready: promote now, or stop here for a manual promote
	ProductionMoved  bool // production traffic is all on the replacement: run the production smoke check
	TerminationWait  bool // only the original's termination is left: the job may end (BG_WAIT_FOR=traffic)
}

// Evaluate compares the previous observation (nil for the first) with the new
// one and returns the events to print, in order, and the decision. When to
// read next is NextRead's (pace.go).
func Evaluate(prev *Observation, cur Observation, plan Plan) ([]Event, Decision, error) {
	stage, err := StageOf(cur)
	var prevStage Stage = -1
	if prev != nil {
		prevStage, _ = StageOf(*prev)
	}
	events := diff(prev, cur, stage, prevStage, plan)

	d := Decision{Stage: stage}
	var prevTarget *Target
	if prev != nil {
		prevTarget = prev.Target
	}
	if cur.Target != nil {
		d.TestTrafficReady = testTrafficOnGreen(cur.Target) && (prevTarget == nil || !testTrafficOnGreen(prevTarget))
		d.ProductionMoved = productionOnGreen(cur.Target) && (prevTarget == nil || !productionOnGreen(prevTarget))
	}
	d.EnteredReady = stage == StageReady && prevStage != StageReady
	d.TerminationWait = stage == StageTerminationWait && prevStage != StageTerminationWait
	if stage.Terminal() {
		if stage != StageSucceeded && cur.RollbackDeploymentID != "" {
			d.FollowRollback = cur.RollbackDeploymentID
		} else {
			d.Done = true
		}
	}

	return events, d, err
}
