package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

// stopContext is the context a stop after an interrupt or a timeout runs
// in: the job's is already cancelled, and the stop protects production, so
// it gets what is left of the job (StopUntil), or stopGrace when the job's
// end is not known.
func (s *Session) stopContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return untilJobEnd(ctx, s.StopUntil)
}

// untilJobEnd is a context that outlives ctx's cancellation (a signal, a
// timeout) for what protects production afterwards: until the job's end,
// or stopGrace when that is unknown or already past.
func untilJobEnd(ctx context.Context, end time.Time) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(ctx)
	if !end.IsZero() && time.Until(end) > 0 {
		return context.WithDeadline(base, end)
	}
	return context.WithTimeout(base, stopGrace)
}

// gaveUp logs, when a stop could not be made in the time there was, what
// state production is left in, read afresh (the last observation when AWS
// does not answer), and what to do about it.
func (s *Session) gaveUp(ctx context.Context, id string, last monitor.Observation, err error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	status := last.Status
	if d, derr := s.CD.describe(rctx, id); derr == nil && d != nil {
		status = d.Status
		if t := s.readTarget(rctx, id); t != nil {
			last = monitor.FromSDK(time.Now(), d, t)
		}
	}
	next := "run rollback (or stop it in the CodeDeploy console) to finish the stop"
	switch status {
	case cdtypes.DeploymentStatusSucceeded:
		next = "run rollback to redeploy the previous release"
	case cdtypes.DeploymentStatusStopped, cdtypes.DeploymentStatusFailed:
		next = "nothing more to do: it ended by itself"
	}
	s.Log.Error("gave up stopping the deployment: production is left as it is now",
		"deployment_id", id, "status", string(status), "production", ProductionState(status, last), "next", next, "error", err.Error())
}

// ProductionState says in a few words where production traffic is, from a
// deployment's status and the last observation of its task sets.
func ProductionState(status cdtypes.DeploymentStatus, last monitor.Observation) string {
	var weights []string
	if last.Target != nil {
		for _, ts := range last.Target.TaskSets {
			role := "original"
			if ts.Label == cdtypes.TargetLabelGreen {
				role = "replacement"
			}
			weights = append(weights, fmt.Sprintf("%s %.0f%%", role, ts.Weight))
		}
	}
	switch status {
	case cdtypes.DeploymentStatusStopped, cdtypes.DeploymentStatusFailed:
		return "the deployment ended " + string(status) + ": production is on the original task set"
	case cdtypes.DeploymentStatusSucceeded:
		return "the deployment succeeded: production runs the replacement"
	case cdtypes.DeploymentStatusReady:
		return "the deployment waits at Ready: production traffic is still on the original task set, test traffic on the replacement"
	}
	if len(weights) == 0 {
		return "the deployment is " + string(status) + ": where production traffic is was not read"
	}
	return "the deployment is " + string(status) + ": production traffic " + strings.Join(weights, ", ")
}

// stopEnded stops id and returns the status it ended in: Stopped or Failed
// when the stop took effect, Succeeded when the deployment finished first
// (then nothing was rolled back, and the caller must not say it was).
func (s *Session) stopEnded(ctx context.Context, id string, rollback bool) (cdtypes.DeploymentStatus, error) {
	if err := s.CD.Stop(ctx, id, rollback); err != nil {
		return "", err
	}
	d, err := s.CD.describe(ctx, id)
	if err != nil {
		return "", fmt.Errorf("deployment %s was stopped; reading how it ended: %w", id, err)
	}
	return d.Status, nil
}

// readTarget reads the deployment's ECS target (its task sets and their
// traffic) afresh; nil when it cannot be read.
func (s *Session) readTarget(ctx context.Context, id string) *cdtypes.ECSTarget {
	if s.Watcher.API == nil {
		return nil
	}
	list, err := s.Watcher.API.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil || len(list.TargetIds) == 0 {
		return nil
	}
	out, err := s.Watcher.API.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: list.TargetIds[:1]})
	if err != nil {
		return nil
	}
	for _, t := range out.DeploymentTargets {
		if t.EcsTarget != nil {
			return t.EcsTarget
		}
	}
	return nil
}
