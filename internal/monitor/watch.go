package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// codeDeployAPI is the part of the CodeDeploy client the watcher reads.
type codeDeployAPI interface {
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	ListDeploymentTargets(ctx context.Context, in *codedeploy.ListDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	BatchGetDeploymentTargets(ctx context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error)
}

// Clock is the watcher's time source; tests replace it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns the current time.
func (RealClock) Now() time.Time { return time.Now() }

// After waits for d on the wall clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ScaledClock is the run's clock against a simulator whose time runs Speed
// times faster than real time (the sandbox): it reads Start plus Speed times
// the wall time since, and waits a Speed-th of each duration, so the polling
// plan, which works in AWS's time, decides the same at every speed.
type ScaledClock struct {
	Start time.Time
	Speed float64
}

// Now returns the scaled time.
func (c ScaledClock) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.Start)) * c.speed()))
}

// After waits d of scaled time.
func (c ScaledClock) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / c.speed()))
}

func (c ScaledClock) speed() float64 {
	if c.Speed <= 0 {
		return 1
	}
	return c.Speed
}

// Watcher polls one deployment to its end.
type Watcher struct {
	API   codeDeployAPI
	Clock Clock
	Plan  Plan
	// Replacement, when set, follows the replacement task set through ECS
	// and ELBv2 while it starts, so CodeDeploy is read only when they show a
	// change (and every watchInterval regardless).
	Replacement *Replacement
	// OnEvent receives every change, in order.
	OnEvent func(Event)
	// OnDecision is called after every observation, before the next poll; the
	// caller acts on edges (smoke checks, promotion) here. An error stops the
	// watch and is returned.
	OnDecision func(ctx context.Context, o Observation, d Decision) error
	// OnWarning receives problems worth a log line that do not stop the watch.
	OnWarning func(msg string)
	// MaxConsecutiveErrors is how many polls in a row may fail (after the SDK's
	// own retries) before the watch gives up; default 10.
	MaxConsecutiveErrors int
	// First, when set, is the deployment as the caller read it just before
	// the watch, with nothing changed since (promote reads it to check that
	// it waits at Ready): the first observation of that deployment uses it
	// instead of reading it again.
	First *cdtypes.DeploymentInfo
}

// Result is how a watched deployment ended.
type Result struct {
	// Final is the last observation of the deployment that was asked for.
	Final Observation
	// Rollback is the final observation of the rollback deployment CodeDeploy
	// started, when there was one.
	Rollback *Observation
	// Stopped is true when the watch ended early by the caller's decision
	// (e.g. at Ready for a manual promote, or at the termination wait); the
	// deployment is still running.
	Stopped bool
}

// Succeeded reports whether the deployment itself succeeded.
func (r Result) Succeeded() bool { return r.Final.Status == cdtypes.DeploymentStatusSucceeded }

// ErrStopWatching is returned by OnDecision to end the watch without error
// while the deployment continues (manual promote, BG_WAIT_FOR=traffic).
var ErrStopWatching = errors.New("stop watching")

// Watch polls the deployment until it ends, following a rollback deployment
// to its own end. It returns when the deployment is final, when OnDecision
// returns ErrStopWatching or another error, or when ctx ends. When to read is
// NextRead's plan (pace.go); while the replacement starts, Replacement (when
// set) is followed instead of CodeDeploy.
func (w *Watcher) Watch(ctx context.Context, deploymentID string) (Result, error) {
	res := Result{}
	id := deploymentID
	var prev *Observation
	targetID := ""
	failures := 0
	next := time.Duration(0)
	readTargets := true
	warned := map[string]bool{}
	maxErrors := w.MaxConsecutiveErrors
	if maxErrors == 0 {
		maxErrors = 10
	}
	var tm awsTime
	var changed time.Time // AWS time of the last change seen
	f := follower{r: w.Replacement}
	first := w.First
	for {
		if next > 0 {
			installing := prev != nil && f.on() && stageOf(*prev) == StageInstalling
			var err error
			if installing {
				var moved bool
				moved, err = f.until(ctx, w, id, next)
				if moved {
					changed, readTargets = tm.now(w.Clock.Now()), true
				}
			} else {
				err = w.sleep(ctx, next)
			}
			if err != nil {
				if prev != nil {
					res.Final = *prev
				}
				return res, err
			}
		}
		o, err := w.observe(ctx, id, &targetID, readTargets, prev, first)
		first = nil
		if err != nil {
			if ctx.Err() != nil {
				return res, context.Cause(ctx)
			}
			var ae smithy.APIError
			if errors.As(err, &ae) && isThrottle(ae.ErrorCode()) {
				next = Throttled(next)
				continue
			}
			failures++
			if failures >= maxErrors {
				return res, fmt.Errorf("reading deployment %s: %w (%d reads in a row failed)", id, err, failures)
			}
			w.warn(fmt.Sprintf("reading deployment %s failed, retrying: %v", id, err))
			next = Throttled(next)
			continue
		}
		failures = 0
		// From here on the observation is dated on AWS's clock, as the
		// times it carries are, so progress lines and the next shift agree.
		local := o.At
		tm.observe(local, latestTime(o))
		o.At = tm.now(local)
		events, d, evalErr := Evaluate(prev, o, w.Plan)
		if evalErr != nil && !warned[evalErr.Error()] {
			warned[evalErr.Error()] = true
			w.warn(evalErr.Error())
		}
		if len(events) > 0 || changed.IsZero() {
			changed = o.At
		}
		for _, e := range events {
			if w.OnEvent != nil {
				w.OnEvent(e)
			}
		}
		prev = &o
		if w.OnDecision != nil {
			if err := w.OnDecision(ctx, o, d); err != nil {
				w.record(&res, id, deploymentID, o)
				if errors.Is(err, ErrStopWatching) {
					res.Stopped = true
					return res, nil
				}
				return res, err
			}
		}
		w.record(&res, id, deploymentID, o)
		switch {
		case d.FollowRollback != "" && id == deploymentID:
			if w.OnEvent != nil {
				w.OnEvent(Event{Kind: EventRollback, At: o.At, Deployment: d.FollowRollback})
			}
			id, prev, targetID = d.FollowRollback, nil, ""
			next, readTargets, changed = 0, true, time.Time{}
			f.reset()
			continue
		case d.Done || d.FollowRollback != "":
			return res, nil
		}
		// OnDecision may have taken a while (smoke checks): plan from now,
		// and when it acted on an edge (promoted, checked), count its end as
		// the last change: what it did shows soon.
		now := tm.now(w.Clock.Now())
		if d.TestTrafficReady || d.EnteredReady || d.ProductionMoved || d.TerminationWait {
			changed = now
		}
		r := NextRead(Moment{Plan: w.Plan, Obs: o, Stage: d.Stage, Now: now, Changed: changed, Following: f.on()})
		next, readTargets = max(tm.wait(r.At.Sub(now)), time.Millisecond), r.Targets
	}
}

// awsTime maps the run's clock to AWS's, from the times AWS's answers carry.
// Every timestamp is a lower bound of AWS's clock when the answer left, so
// the offset is the largest one seen (never below zero). The run's clock
// should run as fast as AWS's (real time against AWS; the sandbox passes one
// as fast as its simulator); when it does not, as for a binary pointed at
// `sandbox serve` without one, the offset grows by far more than any clock
// error could, and the rate is learnt from that growth, so the plan's waits
// still shrink with the simulator's speed.
type awsTime struct {
	init   bool
	last   time.Time     // run's clock at the last observation
	offset time.Duration // AWS minus run's clock at last
	refAt  time.Time     // the first observation
	refOff time.Duration
	rate   float64 // AWS seconds per second of the run's clock, at least 1
}

// driftFloor is offset growth no clock error explains: above it the run's
// clock is taken to run slower than AWS's.
const driftFloor = time.Minute

func (a *awsTime) r() float64 { return max(a.rate, 1) }

// now is AWS's time at the run's time at.
func (a *awsTime) now(at time.Time) time.Time {
	if !a.init {
		return at
	}
	return at.Add(a.offset + time.Duration(float64(at.Sub(a.last))*(a.r()-1)))
}

// wait is the run's wait for an AWS duration.
func (a *awsTime) wait(d time.Duration) time.Duration {
	return time.Duration(float64(d) / a.r())
}

// observe takes an observation read at the run's time at whose latest AWS
// timestamp is latest.
func (a *awsTime) observe(at, latest time.Time) {
	est := a.now(at)
	if latest.After(est) {
		est = latest
	}
	if !a.init {
		a.init, a.refAt = true, at
		a.offset = max(est.Sub(at), 0)
		a.refOff, a.last = a.offset, at
		return
	}
	a.offset, a.last = est.Sub(at), at
	if drift := a.offset - a.refOff; drift > driftFloor && at.After(a.refAt) {
		a.rate = max(a.rate, 1+float64(drift)/float64(at.Sub(a.refAt)))
	}
}

// stageOf is StageOf without the unknown-value warning (Evaluate gives it).
func stageOf(o Observation) Stage {
	s, _ := StageOf(o)
	return s
}

// sleep waits d on the run's clock, or until ctx ends.
func (w *Watcher) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-w.Clock.After(d):
		return nil
	}
}

// follower reads the replacement through ECS and ELBv2 while it starts.
type follower struct {
	r       *Replacement
	off     bool // a read failed: CodeDeploy alone paces the watch from then on
	last    replacementState
	changed time.Time // run's clock
}

func (f *follower) on() bool { return f.r != nil && !f.off }

func (f *follower) reset() { f.last, f.changed = replacementState{}, time.Time{} }

// until follows the replacement for up to d (the time to the next CodeDeploy
// read); it returns early with moved when the task set or its targets
// changed, or look ready, so CodeDeploy is read then.
func (f *follower) until(ctx context.Context, w *Watcher, id string, d time.Duration) (moved bool, err error) {
	end := w.Clock.Now().Add(d)
	for {
		now := w.Clock.Now()
		if f.changed.IsZero() {
			f.changed = now
		}
		gap := min(max(now.Sub(f.changed)/2, followMin), followMax)
		if !now.Add(gap).Before(end) {
			return false, w.sleep(ctx, end.Sub(now))
		}
		if err := w.sleep(ctx, gap); err != nil {
			return false, err
		}
		st, err := f.r.read(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return false, context.Cause(ctx)
			}
			f.off = true
			w.warn(fmt.Sprintf("following the replacement of deployment %s through ECS: %v; reading CodeDeploy instead", id, err))
			return true, nil
		}
		if st != f.last || st.settled() {
			if st != f.last {
				f.changed = w.Clock.Now()
			}
			f.last = st
			return true, nil
		}
	}
}

func (w *Watcher) record(res *Result, id, original string, o Observation) {
	if id == original {
		res.Final = o
		return
	}
	res.Rollback = &o
}

func (w *Watcher) warn(msg string) {
	if w.OnWarning != nil {
		w.OnWarning(msg)
	}
}

// observe reads the deployment and, when asked (or when the status changed),
// its ECS target. The target id is cached: an ECS deployment has exactly one.
func (w *Watcher) observe(ctx context.Context, id string, targetID *string, readTargets bool, prev *Observation, first *cdtypes.DeploymentInfo) (Observation, error) {
	info := first
	if info == nil || aws.ToString(info.DeploymentId) != id {
		var err error
		if info, err = snapshot.ReadDeployment(ctx, w.API, id); err != nil {
			return Observation{}, err
		}
	}
	statusChanged := prev == nil || prev.Status != info.Status
	var target *cdtypes.ECSTarget
	if readTargets || statusChanged {
		var err error
		target, err = w.readTarget(ctx, id, targetID)
		if err != nil {
			return Observation{}, err
		}
	} else if prev != nil && prev.Target != nil {
		// Keep the last target so the evaluator compares like with like.
		o := FromSDK(w.Clock.Now(), info, nil)
		o.Target = prev.Target
		return o, nil
	}
	return FromSDK(w.Clock.Now(), info, target), nil
}

func (w *Watcher) readTarget(ctx context.Context, id string, targetID *string) (*cdtypes.ECSTarget, error) {
	return snapshot.ReadDeploymentTarget(ctx, w.API, id, targetID)
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled":
		return true
	}
	return false
}
