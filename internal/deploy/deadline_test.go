package deploy

import (
	"errors"
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

func TestDeadline(t *testing.T) {
	t.Parallel()
	long := &Estimate{Total: 3 * time.Hour}
	tests := []struct {
		name       string
		timeout    time.Duration
		jobTimeout string
		est        *Estimate
		want       time.Duration
		wantErr    bool
	}{
		{name: "nothing_set", want: time.Hour},
		{name: "bg_timeout", timeout: 20 * time.Minute, want: 20 * time.Minute},
		{name: "job_timeout_less_margin", jobTimeout: "3600", want: 55 * time.Minute},
		{name: "bg_timeout_beyond_the_job", timeout: 2 * time.Hour, jobTimeout: "3600", wantErr: true},
		{name: "estimate_beyond_the_job", jobTimeout: "3600", est: long, wantErr: true},
		{name: "long_estimate_without_a_job_timeout", est: long, want: 4*time.Hour + 30*time.Minute},
		{name: "job_timeout_too_short_to_count", jobTimeout: "300", want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Deadline(tt.timeout, tt.jobTimeout, tt.est, Inputs{}, nil)
			var be *BudgetError
			if tt.wantErr != errors.As(err, &be) || !tt.wantErr && got != tt.want {
				t.Errorf("Deadline = %s, %v; want %s (error %v)", got, err, tt.want, tt.wantErr)
			}
			if be != nil && (be.ExitCode() != 2 || be.ErrorHint() == "") {
				t.Errorf("BudgetError %v: exit %d, hint %q", be, be.ExitCode(), be.ErrorHint())
			}
		})
	}
}
