package deploy

import (
	"context"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

// stopRetrying is Stop after an interrupt or a timeout: retried for as
// long as ctx allows (the job's end) while AWS answers with a server
// error, a throttle or not at all. A refusal after a first try whose answer
// was lost is judged by the deployment's state: one already stopping or
// rolling back was stopped.
func (e *ECSNative) stopRetrying(ctx context.Context, arn string) error {
	var clk monitor.Clock = monitor.RealClock{}
	if e.Clock != nil {
		clk = e.Clock
	}
	wait := time.Second
	for try := 1; ; try++ {
		err := e.Stop(ctx, arn)
		if err == nil {
			return nil
		}
		if !retryable(err) {
			if try > 1 && e.stopTookEffect(ctx, arn) {
				return nil
			}
			return err
		}
		e.Log.Warn("stopping the service deployment failed: trying again", "service_deployment", arn, "error", err.Error())
		select {
		case <-ctx.Done():
			return err
		case <-clk.After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

// stopTookEffect reports whether the service deployment is stopping,
// stopped or rolling back, as ECS reads it now.
func (e *ECSNative) stopTookEffect(ctx context.Context, arn string) bool {
	d, err := e.describe(ctx, arn)
	if err != nil {
		return false
	}
	switch d.Status {
	case ecstypes.ServiceDeploymentStatusStopRequested, ecstypes.ServiceDeploymentStatusStopped,
		ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress,
		ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}
