package deploy

import (
	"errors"
	"strings"
	"testing"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

func TestIsECSNative(t *testing.T) {
	t.Parallel()
	svc := func(controller ecstypes.DeploymentControllerType, strategy ecstypes.DeploymentStrategy) *ecstypes.Service {
		return &ecstypes.Service{DeploymentController: &ecstypes.DeploymentController{Type: controller}, DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: strategy}}
	}
	tests := []struct {
		name string
		svc  *ecstypes.Service
		want bool
	}{
		{name: "blue_green", svc: svc(ecstypes.DeploymentControllerTypeEcs, ecstypes.DeploymentStrategyBlueGreen), want: true},
		{name: "linear", svc: svc(ecstypes.DeploymentControllerTypeEcs, ecstypes.DeploymentStrategyLinear), want: true},
		{name: "canary", svc: svc(ecstypes.DeploymentControllerTypeEcs, ecstypes.DeploymentStrategyCanary), want: true},
		{name: "rolling", svc: svc(ecstypes.DeploymentControllerTypeEcs, ecstypes.DeploymentStrategyRolling)},
		{name: "no_strategy", svc: svc(ecstypes.DeploymentControllerTypeEcs, "")},
		{name: "codedeploy", svc: svc(ecstypes.DeploymentControllerTypeCodeDeploy, "")},
		{name: "no_controller", svc: &ecstypes.Service{DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}}},
		{name: "nil", svc: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsECSNative(tt.svc); got != tt.want {
				t.Errorf("IsECSNative = %t, want %t", got, tt.want)
			}
		})
	}
}

// The gate is said before the deployment starts, and a manual promote
// without a PAUSE hook is refused (exit 2) before anything changes.
func TestECSGateAndPolicies(t *testing.T) {
	t.Parallel()
	pause := &ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause}
	smoke := &verify.Smoke{}
	tests := []struct {
		name      string
		hook      *ecstypes.DeploymentLifecycleHook
		test      *verify.Smoke
		promote   PromotePolicy
		wantGate  string
		wantUsage bool
	}{
		{name: "pause_auto", hook: pause, test: smoke, promote: PromoteAuto, wantGate: "the test URL is smoke-checked, then ContinueServiceDeployment lets production traffic move"},
		{name: "pause_manual", hook: pause, test: smoke, promote: PromoteManual, wantGate: "the job ends there and the promote job continues it"},
		{name: "pause_without_url", hook: pause, promote: PromoteAuto, wantGate: "no test check (BG_TEST_URL is not set)"},
		{name: "no_pause", test: smoke, promote: PromoteAuto, wantGate: "a failure stops the deployment with rollback (StopServiceDeployment ROLLBACK)"},
		{name: "no_pause_no_checks", promote: PromoteAuto, wantGate: "ECS moves traffic by its own checks (circuit breaker, alarms) alone"},
		{name: "no_pause_manual", test: smoke, promote: PromoteManual, wantGate: "checks run while ECS moves on", wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &ECSNative{TestSmoke: tt.test, Promote: tt.promote}
			s := &ECSService{Service: "web", GateHook: tt.hook}
			if got := e.Gate(s); !strings.Contains(got, tt.wantGate) {
				t.Errorf("Gate = %q, want it to say %q", got, tt.wantGate)
			}
			err := e.CheckPolicies(s)
			var re *ResolveError
			if tt.wantUsage != (err != nil) || err != nil && (!errors.As(err, &re) || re.ExitCode() != 2 || !strings.Contains(re.ErrorHint(), "PAUSE")) {
				t.Errorf("CheckPolicies = %v, want a usage error %t", err, tt.wantUsage)
			}
		})
	}
}

func TestServiceDeploymentErrorExitsOne(t *testing.T) {
	t.Parallel()
	e := &ServiceDeploymentError{ARN: "arn:sd", Status: ecstypes.ServiceDeploymentStatusRollbackSuccessful, Reason: "circuit breaker", Cause: "the test traffic smoke check failed"}
	if e.ExitCode() != 1 || !e.RolledBack() || !strings.Contains(e.Error(), "ROLLBACK_SUCCESSFUL: the test traffic smoke check failed (ECS: circuit breaker)") {
		t.Errorf("%v exit %d rolled back %t", e, e.ExitCode(), e.RolledBack())
	}
	if (&ECSTimeoutError{Applied: TimeoutLeave}).ExitCode() != 3 || (&ECSBusyError{ARN: "x"}).ExitCode() != 1 {
		t.Error("exit codes")
	}
}
