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

// Watcher polls one deployment to its end.
type Watcher struct {
	API   codeDeployAPI
	Clock Clock
	Plan  Plan
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
// returns ErrStopWatching or another error, or when ctx ends.
func (w *Watcher) Watch(ctx context.Context, deploymentID string) (Result, error) {
	res := Result{}
	id := deploymentID
	var prev *Observation
	var nextShift time.Time // when the next traffic step is expected, once one was seen
	targetID := ""
	poll := 0
	failures := 0
	next := time.Duration(0)
	readTargets := true
	warned := map[string]bool{}
	maxErrors := w.MaxConsecutiveErrors
	if maxErrors == 0 {
		maxErrors = 10
	}
	for {
		if next > 0 {
			select {
			case <-ctx.Done():
				if prev != nil {
					res.Final = *prev
				}
				return res, context.Cause(ctx)
			case <-w.Clock.After(next):
			}
		}
		o, err := w.observe(ctx, id, &targetID, readTargets, prev)
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
		poll++
		plan := w.Plan
		plan.NextShift = nextShift
		events, d, evalErr := Evaluate(prev, o, plan, poll)
		if evalErr != nil && !warned[evalErr.Error()] {
			warned[evalErr.Error()] = true
			w.warn(evalErr.Error())
		}
		for _, e := range events {
			if !e.NextShift.IsZero() {
				nextShift = e.NextShift
			}
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
			id, prev, targetID, poll = d.FollowRollback, nil, "", 0
			next, readTargets = 0, true
			continue
		case d.Done || d.FollowRollback != "":
			return res, nil
		}
		next, readTargets = d.NextPoll, d.ReadTargets
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
func (w *Watcher) observe(ctx context.Context, id string, targetID *string, readTargets bool, prev *Observation) (Observation, error) {
	out, err := w.API.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return Observation{}, err
	}
	info := out.DeploymentInfo
	if info == nil {
		return Observation{}, fmt.Errorf("GetDeployment %s returned no deploymentInfo", id)
	}
	statusChanged := prev == nil || prev.Status != info.Status
	var target *cdtypes.ECSTarget
	if readTargets || statusChanged {
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
	if *targetID == "" {
		list, err := w.API.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
		var notStarted *cdtypes.DeploymentNotStartedException
		if errors.As(err, &notStarted) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(list.TargetIds) == 0 {
			return nil, nil
		}
		*targetID = list.TargetIds[0]
	}
	out, err := w.API.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{*targetID}})
	if err != nil {
		return nil, err
	}
	for _, t := range out.DeploymentTargets {
		if t.EcsTarget != nil {
			return t.EcsTarget, nil
		}
	}
	return nil, nil
}

func isThrottle(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled":
		return true
	}
	return false
}
