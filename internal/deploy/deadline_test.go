package deploy

import (
	"testing"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

func TestEstimate(t *testing.T) {
	t.Parallel()
	group := func(ready *cdtypes.DeploymentReadyOption, terminationMinutes int32) *cdtypes.DeploymentGroupInfo {
		return &cdtypes.DeploymentGroupInfo{BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption: ready,
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{
				Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: terminationMinutes,
			},
		}}
	}
	continueAfter := func(m int32) *cdtypes.DeploymentReadyOption {
		return &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment, WaitTimeInMinutes: m}
	}
	stopAt := &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: 60}
	for _, tt := range []struct {
		name    string
		target  Target
		promote PromotePolicy
		waitFor WaitFor
		want    time.Duration
	}{
		{"all_at_once_no_waits", Target{GroupInfo: group(continueAfter(0), 0)}, PromoteAuto, WaitForComplete, installAllowance},
		{"canary_and_termination", Target{GroupInfo: group(continueAfter(0), 60), ShiftTime: 15 * time.Minute}, PromoteAuto, WaitForComplete, installAllowance + 75*time.Minute},
		{"wait_for_traffic_skips_termination", Target{GroupInfo: group(continueAfter(0), 60), ShiftTime: 15 * time.Minute}, PromoteAuto, WaitForTraffic, installAllowance + 15*time.Minute},
		{"ready_wait_that_continues", Target{GroupInfo: group(continueAfter(30), 5)}, PromoteAuto, WaitForComplete, installAllowance + 35*time.Minute},
		{"stop_at_ready_auto_promotes", Target{GroupInfo: group(stopAt, 5), ShiftTime: 27 * time.Minute}, PromoteAuto, WaitForComplete, installAllowance + 32*time.Minute},
		{"stop_at_ready_manual_ends_there", Target{GroupInfo: group(stopAt, 600), ShiftTime: 27 * time.Minute}, PromoteManual, WaitForComplete, installAllowance},
		{"no_group_info", Target{}, PromoteAuto, WaitForComplete, installAllowance},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.target.Estimate(tt.promote, tt.waitFor); got.Total != tt.want {
				t.Errorf("Estimate() = %s, want %s", got, tt.want)
			}
		})
	}
}
