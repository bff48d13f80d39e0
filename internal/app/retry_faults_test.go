package app

import (
	"strconv"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// throttledAttempts counts the calls the simulator answered with throttling.
func throttledAttempts(calls []awssim.Call) (throttled, all int) {
	for _, c := range calls {
		if c.ErrorCode == "ThrottlingException" || c.ErrorCode == "Throttling" {
			throttled++
		}
	}
	return throttled, len(calls)
}

// TestVerifyUnderThirtyPercentThrottling: with 30% of every AWS call
// throttled, verify of a healthy service still passes and status still
// reports, run after run (the SDK's five attempts alone failed some).
func TestVerifyUnderThirtyPercentThrottling(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(30)
	s := startSim(t, seed.Options{}, awssim.WithFaults(faults))
	if code, _, stderr := runIn(t, deployEnv(s), "deploy"); code != ExitOK {
		t.Fatalf("deploy before the faults: exit %d\n%s", code, stderr)
	}
	before := len(s.srv.Calls())
	faults.SetRates(0.30, 0, 0)
	const runs = 10
	outcomes := map[string]int{}
	for i := range runs {
		cmd := []string{"verify", "status"}[i%2]
		code, stdout, stderr := runIn(t, s.environ(), cmd)
		outcomes[cmd+" exit "+strconv.Itoa(code)]++
		if code != ExitOK {
			t.Errorf("%s of a healthy service at 30%% throttling: exit %d\n%s\n%s", cmd, code, stdout, stderr)
		}
	}
	faults.SetRates(0, 0, 0)
	throttled, all := throttledAttempts(s.srv.Calls()[before:])
	t.Logf("30%% throttling: %d runs, outcomes %v; %d of %d AWS calls throttled", runs, outcomes, throttled, all)
	if throttled == 0 {
		t.Error("nothing was throttled: the test proves nothing")
	}
}

// TestUnreachableAWSSaysNothingChanged: when AWS throttles every call for the
// whole job, the commands fail saying AWS could not be reached and that
// nothing was changed, and change nothing; the exit code is 3 (the job's
// time ran out), neither 1 (no deployment failed) nor 4 (no finding).
func TestUnreachableAWSSaysNothingChanged(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(31)
	s := startSim(t, seed.Options{}, awssim.WithFaults(faults))
	faults.SetRates(1, 0, 0)
	defer faults.SetRates(0, 0, 0)
	for _, cmd := range []string{"status", "verify", "deploy"} {
		before := len(s.srv.Calls())
		// A 4-second job: the calls retry for its time, less a margin to say so.
		code, _, stderr := runIn(t, deployEnv(s, "CI_JOB_TIMEOUT=4", "BG_TIMEOUT=3s"), cmd)
		t.Logf("%s with AWS throttling every call: exit %d: %s", cmd, code, strings.TrimSpace(stderr[strings.LastIndex(stderr, "error:"):]))
		if code != ExitTimeout {
			t.Errorf("%s: exit %d, want %d (AWS did not answer within the job's time)\n%s", cmd, code, ExitTimeout, stderr)
		}
		for _, want := range []string{"AWS could not be reached", "throttled", "nothing was changed"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: the error does not say %q:\n%s", cmd, want, stderr)
			}
		}
		for _, c := range s.srv.Calls()[before:] {
			if c.ErrorCode == "" {
				t.Errorf("%s: %s:%s succeeded although every call is throttled", cmd, c.Service, c.Operation)
			}
		}
	}
}

// TestDeployTimesOutUnderThirtyPercentThrottling: a deployment that outlasts
// BG_TIMEOUT ends the job with exit 3 even when AWS throttles 30% of the
// calls: no read gives up first and turns the timeout into a failure.
func TestDeployTimesOutUnderThirtyPercentThrottling(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(32)
	s := startSim(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"}, awssim.WithFaults(faults))
	faults.SetRates(0.30, 0, 0)
	defer faults.SetRates(0, 0, 0)
	code, _, stderr := runIn(t, deployEnv(s, "BG_TIMEOUT=1s"), "deploy")
	throttled, all := throttledAttempts(s.srv.Calls())
	t.Logf("deploy past BG_TIMEOUT at 30%% throttling: exit %d; %d of %d AWS calls throttled", code, throttled, all)
	if code != ExitTimeout {
		t.Errorf("deploy: exit %d, want %d\n%s", code, ExitTimeout, stderr)
	}
}
