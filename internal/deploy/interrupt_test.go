package deploy

import (
	"testing"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

func TestProductionState(t *testing.T) {
	t.Parallel()
	moved := monitor.Observation{Target: &monitor.Target{TaskSets: []monitor.TaskSet{
		{Label: cdtypes.TargetLabelBlue, Weight: 10}, {Label: cdtypes.TargetLabelGreen, Weight: 90},
	}}}
	for _, tt := range []struct {
		name   string
		status cdtypes.DeploymentStatus
		last   monitor.Observation
		want   string
	}{
		{name: "shifting", status: cdtypes.DeploymentStatusInProgress, last: moved, want: "the deployment is InProgress: production traffic original 10%, replacement 90%"},
		{name: "not_read", status: cdtypes.DeploymentStatusInProgress, want: "the deployment is InProgress: where production traffic is was not read"},
		{name: "ready", status: cdtypes.DeploymentStatusReady, last: moved, want: "the deployment waits at Ready: production traffic is still on the original task set, test traffic on the replacement"},
		{name: "stopped", status: cdtypes.DeploymentStatusStopped, want: "the deployment ended Stopped: production is on the original task set"},
		{name: "succeeded", status: cdtypes.DeploymentStatusSucceeded, want: "the deployment succeeded: production runs the replacement"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ProductionState(tt.status, tt.last); got != tt.want {
				t.Errorf("ProductionState = %q, want %q", got, tt.want)
			}
		})
	}
}
