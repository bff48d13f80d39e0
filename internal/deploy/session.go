package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// smokeRunner runs a smoke check (verify.Checker in production).
type smokeRunner interface {
	Run(ctx context.Context, s verify.Smoke) (verify.Result, error)
}

// Policies read from settings.
type (
	// PromotePolicy is BG_PROMOTE: what to do when a deployment waits at Ready.
	PromotePolicy string
	// WaitFor is BG_WAIT_FOR: when the deploy job may end.
	WaitFor string
	// InterruptPolicy is BG_ON_INTERRUPT.
	InterruptPolicy string
	// TimeoutPolicy is BG_ON_TIMEOUT.
	TimeoutPolicy string
)

// Policy values.
const (
	PromoteAuto        PromotePolicy   = "auto"
	PromoteManual      PromotePolicy   = "manual"
	WaitForComplete    WaitFor         = "complete"
	WaitForTraffic     WaitFor         = "traffic"
	InterruptRollback  InterruptPolicy = "rollback"
	InterruptLeave     InterruptPolicy = "leave"
	TimeoutLeave       TimeoutPolicy   = "leave"
	TimeoutRollback    TimeoutPolicy   = "rollback"
	TimeoutStop        TimeoutPolicy   = "stop"
	stopGrace                          = 2 * time.Minute
	consoleURLTemplate                 = "https://%s.console.aws.amazon.com/codesuite/codedeploy/deployments/%s?region=%s"
)

// Session watches one deployment to its end and acts on what it sees: smoke
// checks when test traffic reaches the replacement, promotion at Ready, a
// production check once traffic moved, and the interrupt and timeout policies.
type Session struct {
	CD      *CodeDeploy
	Watcher monitor.Watcher
	Smoke   smokeRunner
	// TestSmoke and ProdSmoke are the checks to run; nil skips one.
	TestSmoke, ProdSmoke *verify.Smoke
	Promote              PromotePolicy
	WaitFor              WaitFor
	OnInterrupt          InterruptPolicy
	OnTimeout            TimeoutPolicy
	// Revert redeploys what production ran before and returns the new
	// deployment's id. It is the way back when the production check fails
	// after the deployment ended (a group whose termination wait is zero
	// leaves CodeDeploy nothing to roll back to).
	Revert func(ctx context.Context) (string, error)
	// Timeout bounds the watch; zero means no bound beyond ctx.
	Timeout time.Duration
	// StopUntil is how long a stop after an interrupt or a timeout may keep
	// trying: the job's end. Zero gives it stopGrace.
	StopUntil time.Time
	Region    string
	Log       *slog.Logger
	// Evidence, when set, explains a failure with ECS, ELB and alarm detail.
	Evidence *Evidence
}

// Outcome is how a watched deployment ended, when it did not fail.
type Outcome struct {
	DeploymentID string
	Status       cdtypes.DeploymentStatus
	// AwaitingPromotion: the deployment waits at Ready for a manual promote.
	AwaitingPromotion bool
	// InTerminationWait: traffic moved and the job ended before the original
	// task set was removed (BG_WAIT_FOR=traffic).
	InTerminationWait bool
}

// DeploymentError is a deployment that failed, was stopped or rolled back.
// The pipeline must fail: exit 1.
type DeploymentError struct {
	ID         string
	Status     cdtypes.DeploymentStatus
	Code       cdtypes.ErrorCode
	Reason     string
	RollbackID string
	// RollbackStatus is how the rollback deployment ended, if there was one.
	RollbackStatus cdtypes.DeploymentStatus
	ConsoleURL     string
	// Details explain the failure beyond CodeDeploy's message: stopped tasks,
	// unhealthy targets, alarms in ALARM.
	Details []string
}

func (e *DeploymentError) Error() string {
	s := fmt.Sprintf("deployment %s %s", e.ID, lower(e.Status))
	if e.Code != "" {
		s += " (" + string(e.Code) + ")"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.RollbackID != "" {
		s += fmt.Sprintf("; rolled back by deployment %s (%s)", e.RollbackID, lower(e.RollbackStatus))
	}
	return s
}

// ExitCode is 1: the pipeline fails (DESIGN §3).
func (e *DeploymentError) ExitCode() int { return 1 }

// Explain is what the job log shows under the error: the details, then the
// console link.
func (e *DeploymentError) Explain() []string {
	out := make([]string, 0, len(e.Details)+1)
	for _, d := range e.Details {
		out = append(out, "  - "+d)
	}
	if e.ConsoleURL != "" {
		out = append(out, "see: "+e.ConsoleURL)
	}
	return out
}

// TimeoutError is a watch that ran out of time: exit 3.
type TimeoutError struct {
	ID      string
	After   time.Duration
	Stage   monitor.Stage
	Applied TimeoutPolicy
}

func (e *TimeoutError) Error() string {
	what := map[TimeoutPolicy]string{
		TimeoutLeave:    "left running; a later job can attach to it, or run promote, rollback or finish",
		TimeoutRollback: "stopped with rollback",
		TimeoutStop:     "stopped without rollback",
	}[e.Applied]
	return fmt.Sprintf("deployment %s did not end within %s (it was at %s); it was %s", e.ID, e.After, e.Stage, what)
}

// ExitCode is 3 (DESIGN §3).
func (e *TimeoutError) ExitCode() int { return 3 }

// InterruptedError wraps the interrupt cause with what was done about it;
// its exit code is the cause's (130 or 143).
type InterruptedError struct {
	ID      string
	Cause   error
	Applied InterruptPolicy
}

func (e *InterruptedError) Error() string {
	if e.Applied == InterruptRollback {
		return fmt.Sprintf("%v: deployment %s was stopped with rollback", e.Cause, e.ID)
	}
	return fmt.Sprintf("%v: deployment %s was left running", e.Cause, e.ID)
}

func (e *InterruptedError) Unwrap() error { return e.Cause }

var errTimedOut = errors.New("timed out")

// Watch follows deployment id to its end.
func (s *Session) Watch(ctx context.Context, id string) (Outcome, error) {
	wctx := ctx
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeoutCause(ctx, s.Timeout, errTimedOut)
		defer cancel()
	}
	var smokeFailure error
	stopping := false    // a smoke check failed and the deployment is being stopped
	lateFailure := false // the production check failed after the deployment succeeded
	var last monitor.Observation
	out := Outcome{DeploymentID: id}
	w := s.Watcher
	prevDecision := w.OnDecision
	w.OnDecision = func(ctx context.Context, o monitor.Observation, d monitor.Decision) error {
		last = o
		if prevDecision != nil {
			if err := prevDecision(ctx, o, d); err != nil {
				return err
			}
		}
		if o.DeploymentID != id || stopping {
			return nil // following a rollback, or already stopping: just watch
		}
		if s.Evidence != nil {
			s.Evidence.Observe(ctx, o)
		}
		if d.TestTrafficReady && s.TestSmoke != nil {
			if err := s.smoke(ctx, "test", *s.TestSmoke); err != nil {
				smokeFailure, stopping = err, true
				return s.stopForSmoke(ctx, id, err)
			}
		}
		if d.EnteredReady {
			if s.Promote == PromoteManual {
				s.Log.Info("the replacement is ready and checked; production traffic moves when promote runs", "deployment_id", id)
				out.AwaitingPromotion = true
				return monitor.ErrStopWatching
			}
			s.Log.Info("promoting: production traffic starts moving", "deployment_id", id)
			if err := s.CD.Promote(ctx, id); err != nil {
				return err
			}
		}
		if d.ProductionMoved && s.ProdSmoke != nil {
			if err := s.smoke(ctx, "production", *s.ProdSmoke); err != nil {
				smokeFailure, stopping = err, true
				if d.Stage == monitor.StageSucceeded {
					// The original tasks are gone: no stop can roll back.
					lateFailure = true
					return nil
				}
				return s.stopForSmoke(ctx, id, err)
			}
		}
		if d.TerminationWait && s.WaitFor == WaitForTraffic {
			s.Log.Info("production traffic moved; the original task set stays until the termination wait ends (run finish to end it now)", "deployment_id", id)
			out.InTerminationWait = true
			return monitor.ErrStopWatching
		}
		return nil
	}
	res, err := w.Watch(wctx, id)
	if err != nil {
		if wctx.Err() == nil {
			return out, err
		}
		ended, err := s.interrupted(ctx, wctx, id, last)
		if err != nil || ended != cdtypes.DeploymentStatusSucceeded {
			return out, err
		}
		// BG_TIMEOUT's stop came too late: AWS says the deployment
		// succeeded, so the job does too, once production passes its check.
		out.Status = ended
		return out, s.succeededAtStop(ctx, id)
	}
	out.Status = res.Final.Status
	// A production check that failed while the deployment was finishing:
	// the stop came too late (CodeDeploy answered that the deployment had
	// completed) and the original tasks are gone, as when it failed after
	// the end. The job must not pass.
	if lateFailure || smokeFailure != nil && res.Succeeded() {
		return out, s.revert(ctx, id, smokeFailure)
	}
	if res.Stopped || res.Succeeded() {
		return out, nil
	}
	derr := &DeploymentError{
		ID: id, Status: res.Final.Status, Code: res.Final.ErrorCode, Reason: res.Final.ErrorMessage,
		ConsoleURL: fmt.Sprintf(consoleURLTemplate, s.Region, id, s.Region),
	}
	if ev := failedEvent(res.Final); ev != "" {
		derr.Reason = ev
	}
	if smokeFailure != nil {
		derr.Reason = smokeFailure.Error()
	}
	if res.Rollback != nil {
		derr.RollbackID = res.Rollback.DeploymentID
		derr.RollbackStatus = res.Rollback.Status
	}
	if s.Evidence != nil && smokeFailure == nil {
		derr.Details = s.Evidence.Explain(ctx)
	}
	return out, derr
}

// revert redeploys the previous revision after a production check failed on
// a deployment that had already succeeded, and watches that deployment. The
// job fails either way (exit 1): what it deployed did not pass.
func (s *Session) revert(ctx context.Context, id string, cause error) error {
	derr := &DeploymentError{
		ID: id, Status: cdtypes.DeploymentStatusSucceeded, ConsoleURL: fmt.Sprintf(consoleURLTemplate, s.Region, id, s.Region),
		Reason: "the production smoke check failed after the deployment had ended (" + cause.Error() + ")",
	}
	if s.Revert == nil {
		derr.Reason += "; nothing could roll it back: redeploy the previous revision"
		return derr
	}
	s.Log.Error("production smoke check failed after the deployment ended: redeploying the previous revision", "deployment_id", id, "error", cause.Error())
	back, err := s.Revert(ctx)
	if err != nil {
		derr.Reason += "; redeploying the previous revision failed: " + err.Error()
		return derr
	}
	derr.RollbackID = back
	w := s.Watcher
	// The way back is not held at Ready for a promote button, and runs no
	// smoke check: it restores what passed before.
	w.OnDecision = func(ctx context.Context, o monitor.Observation, d monitor.Decision) error {
		if d.EnteredReady && o.DeploymentID == back {
			return s.CD.Promote(ctx, back)
		}
		return nil
	}
	res, err := w.Watch(ctx, back)
	if err != nil {
		derr.Reason += "; watching the redeployment failed: " + err.Error()
		return derr
	}
	derr.RollbackStatus = res.Final.Status
	return derr
}

// smoke runs one check and logs its result.
func (s *Session) smoke(ctx context.Context, which string, check verify.Smoke) error {
	s.Log.Info("smoke check started", "traffic", which, "url", check.URL.Redacted())
	res, err := s.Smoke.Run(ctx, check)
	if err != nil {
		return err
	}
	s.Log.Info("smoke check passed", "traffic", which, "requests", res.Probes, "duration", res.Duration.Round(time.Millisecond).String())
	return nil
}

func (s *Session) stopForSmoke(ctx context.Context, id string, cause error) error {
	if ctx.Err() != nil {
		return cause
	}
	s.Log.Error("smoke check failed: stopping the deployment with rollback", "deployment_id", id, "error", cause.Error())
	if err := s.CD.Stop(ctx, id, true); err != nil {
		return fmt.Errorf("%w; and stopping deployment %s failed: %w", cause, id, err)
	}
	return nil
}

// interrupted applies the timeout or interrupt policy after the watch ended
// early. The stop uses a context of its own: the job's is already cancelled.
// A timeout's stop is judged by how AWS says the deployment ended: it
// returns Succeeded and no error when the deployment had succeeded by the
// time the stop reached it (nothing was stopped or rolled back), and a
// DeploymentError when it had failed on its own.
func (s *Session) interrupted(ctx, wctx context.Context, id string, last monitor.Observation) (cdtypes.DeploymentStatus, error) {
	cause := context.Cause(wctx)
	stage, _ := monitor.StageOf(last)
	stopCtx, cancel := s.stopContext(ctx)
	defer cancel()
	if errors.Is(cause, errTimedOut) {
		terr := &TimeoutError{ID: id, After: s.Timeout, Stage: stage, Applied: s.OnTimeout}
		switch s.OnTimeout {
		case TimeoutRollback, TimeoutStop:
			ended, err := s.stopEnded(stopCtx, id, s.OnTimeout == TimeoutRollback)
			if err != nil {
				s.gaveUp(ctx, id, last, err)
				return "", fmt.Errorf("%w; stopping it failed: %w", terr, err)
			}
			switch ended {
			case cdtypes.DeploymentStatusSucceeded:
				s.Log.Warn("the deployment succeeded just as the timeout's stop reached it: nothing was stopped or rolled back, production runs the new release",
					"deployment_id", id, "timeout", s.Timeout.String())
				return ended, nil
			case cdtypes.DeploymentStatusFailed:
				return ended, &DeploymentError{
					ID: id, Status: ended, ConsoleURL: fmt.Sprintf(consoleURLTemplate, s.Region, id, s.Region),
					Reason: fmt.Sprintf("it failed on its own just as the stop for the timeout (%s) reached it", s.Timeout),
				}
			}
		case TimeoutLeave:
		}
		return "", terr
	}
	ierr := &InterruptedError{ID: id, Cause: cause, Applied: s.OnInterrupt}
	if s.OnInterrupt == InterruptRollback && !stage.Terminal() {
		s.Log.Warn("interrupted: stopping the deployment with rollback", "deployment_id", id)
		ended, err := s.stopEnded(stopCtx, id, true)
		if err != nil {
			s.gaveUp(ctx, id, last, err)
			return "", fmt.Errorf("%w: stopping deployment %s with rollback failed: %w", cause, id, err)
		}
		if ended == cdtypes.DeploymentStatusSucceeded {
			return "", fmt.Errorf("%w: deployment %s had already succeeded when the stop reached it, so production runs the new release; run rollback to go back to the previous one", cause, id)
		}
	}
	return "", ierr
}

// succeededAtStop is the end of a watch whose timeout's stop found the
// deployment already succeeded: the production check the watch did not get
// to runs now, in what is left of the job, and a failure redeploys the
// previous revision (exit 1) as after any end.
func (s *Session) succeededAtStop(ctx context.Context, id string) error {
	if s.ProdSmoke == nil {
		return nil
	}
	checkCtx, cancel := s.stopContext(ctx)
	defer cancel()
	if err := s.smoke(checkCtx, "production", *s.ProdSmoke); err != nil {
		return s.revert(checkCtx, id, err)
	}
	return nil
}

func failedEvent(o monitor.Observation) string {
	if o.Target == nil {
		return ""
	}
	for _, e := range o.Target.LifecycleEvents {
		if e.Status == cdtypes.LifecycleEventStatusFailed {
			s := "lifecycle event " + e.Name + " failed"
			if e.ErrorCode != "" {
				s += " (" + string(e.ErrorCode) + ")"
			}
			if e.Message != "" {
				s += ": " + e.Message
			}
			return s
		}
	}
	return ""
}

func lower(s cdtypes.DeploymentStatus) string {
	switch s {
	case cdtypes.DeploymentStatusFailed:
		return "failed"
	case cdtypes.DeploymentStatusStopped:
		return "was stopped"
	case cdtypes.DeploymentStatusSucceeded:
		return "succeeded"
	default:
		return "ended " + string(s)
	}
}
