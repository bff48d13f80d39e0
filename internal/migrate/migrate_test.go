package migrate

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// configs answers GetDeploymentConfig with CodeDeploy's ECS configurations
// as CodeDeploy documents them.
type configs map[string]*cdtypes.TrafficRoutingConfig

func (c configs) GetDeploymentConfig(_ context.Context, in *codedeploy.GetDeploymentConfigInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentConfigOutput, error) {
	return &codedeploy.GetDeploymentConfigOutput{DeploymentConfigInfo: &cdtypes.DeploymentConfigInfo{DeploymentConfigName: in.DeploymentConfigName, TrafficRoutingConfig: c[aws.ToString(in.DeploymentConfigName)]}}, nil
}

func (configs) ListDeployments(context.Context, *codedeploy.ListDeploymentsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error) {
	return &codedeploy.ListDeploymentsOutput{}, nil
}

var ecsConfigs = configs{
	"CodeDeployDefault.ECSAllAtOnce":                    {Type: cdtypes.TrafficRoutingTypeAllAtOnce},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {Type: cdtypes.TrafficRoutingTypeTimeBasedLinear, TimeBasedLinear: &cdtypes.TimeBasedLinear{LinearPercentage: 10, LinearInterval: 3}},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {Type: cdtypes.TrafficRoutingTypeTimeBasedCanary, TimeBasedCanary: &cdtypes.TimeBasedCanary{CanaryPercentage: 10, CanaryInterval: 15}},
	"Custom.Linear1Percent":                             {Type: cdtypes.TrafficRoutingTypeTimeBasedLinear, TimeBasedLinear: &cdtypes.TimeBasedLinear{LinearPercentage: 1, LinearInterval: 1}},
}

func group(config string, mutate func(*cdtypes.DeploymentGroupInfo)) *cdtypes.DeploymentGroupInfo {
	g := &cdtypes.DeploymentGroupInfo{
		DeploymentConfigName: aws.String(config),
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 5},
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment},
		},
	}
	if mutate != nil {
		mutate(g)
	}
	return g
}

func TestDeploymentConfiguration(t *testing.T) {
	t.Parallel()
	pause := func(minutes int32) []ecstypes.DeploymentLifecycleHook {
		h := ecstypes.DeploymentLifecycleHook{TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift}}
		if minutes > 0 {
			h.TimeoutConfiguration = &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(minutes), Action: ecstypes.DeploymentLifecycleHookActionRollback}
		}
		return []ecstypes.DeploymentLifecycleHook{h}
	}
	base := func(s ecstypes.DeploymentStrategy, bake int32) *ecstypes.DeploymentConfiguration {
		return &ecstypes.DeploymentConfiguration{Strategy: s, BakeTimeInMinutes: aws.Int32(bake), MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
	}
	tests := []struct {
		name        string
		g           *cdtypes.DeploymentGroupInfo
		want        *ecstypes.DeploymentConfiguration
		wantMissing string
	}{
		{name: "all_at_once", g: group("CodeDeployDefault.ECSAllAtOnce", nil), want: base(ecstypes.DeploymentStrategyBlueGreen, 5)},
		{
			name: "linear", g: group("CodeDeployDefault.ECSLinear10PercentEvery3Minutes", nil),
			want: func() *ecstypes.DeploymentConfiguration {
				c := base(ecstypes.DeploymentStrategyLinear, 5)
				c.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(10), StepBakeTimeInMinutes: aws.Int32(3)}
				return c
			}(),
		},
		{
			name: "canary_with_ready_wait_alarms_and_rollback",
			g: group("CodeDeployDefault.ECSCanary10Percent15Minutes", func(g *cdtypes.DeploymentGroupInfo) {
				g.BlueGreenDeploymentConfiguration.DeploymentReadyOption = &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: 60}
				g.AlarmConfiguration = &cdtypes.AlarmConfiguration{Enabled: true, Alarms: []cdtypes.Alarm{{Name: aws.String("web-5xx")}}}
				g.AutoRollbackConfiguration = &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure, cdtypes.AutoRollbackEventDeploymentStopOnAlarm}}
			}),
			want: func() *ecstypes.DeploymentConfiguration {
				c := base(ecstypes.DeploymentStrategyCanary, 5)
				c.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(15)}
				c.LifecycleHooks = pause(60)
				c.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}
				c.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}
				return c
			}(),
		},
		{
			name: "ready_wait_without_end_and_long_termination_wait",
			g: group("CodeDeployDefault.ECSAllAtOnce", func(g *cdtypes.DeploymentGroupInfo) {
				g.BlueGreenDeploymentConfiguration.DeploymentReadyOption = &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment}
				g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes = 2880
			}),
			want: func() *ecstypes.DeploymentConfiguration {
				c := base(ecstypes.DeploymentStrategyBlueGreen, 1440)
				c.LifecycleHooks = pause(0)
				return c
			}(),
		},
		{
			name: "linear_steps_too_small", g: group("Custom.Linear1Percent", nil),
			want: func() *ecstypes.DeploymentConfiguration {
				c := base(ecstypes.DeploymentStrategyLinear, 5)
				c.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(1), StepBakeTimeInMinutes: aws.Int32(1)}
				return c
			}(),
			wantMissing: "ECS's linear steps are 3% to 100%",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, lines, missing, err := deploymentConfiguration(context.Background(), ecsConfigs, &ecstypes.Service{}, tt.g)
			if err != nil {
				t.Fatal(err)
			}
			ignore := cmpopts.IgnoreUnexported(ecstypes.DeploymentConfiguration{}, ecstypes.LinearConfiguration{}, ecstypes.CanaryConfiguration{}, ecstypes.DeploymentLifecycleHook{},
				ecstypes.DeploymentLifecycleHookTimeoutConfiguration{}, ecstypes.DeploymentAlarms{}, ecstypes.DeploymentCircuitBreaker{})
			if diff := cmp.Diff(tt.want, got, ignore); diff != "" {
				t.Errorf("configuration (-want +got):\n%s", diff)
			}
			if len(lines) < 2 {
				t.Errorf("lines %q: want one per setting", lines)
			}
			if tt.wantMissing == "" && len(missing) > 0 || tt.wantMissing != "" && (len(missing) != 1 || !strings.Contains(missing[0], tt.wantMissing)) {
				t.Errorf("missing %q, want %q", missing, tt.wantMissing)
			}
		})
	}
}

func TestBothActionsKeepsTheSplit(t *testing.T) {
	t.Parallel()
	pair := [2]string{"blue", "green"}
	tests := []struct {
		name    string
		actions []elbtypes.Action
		want    [2]int32
	}{
		{name: "bare_target_group_on_green", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("green")}}, want: [2]int32{0, 100}},
		{name: "weighted_blue_only", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("blue"), Weight: aws.Int32(1)}}}}}, want: [2]int32{100, 0}},
		{name: "both_weighted", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String("blue"), Weight: aws.Int32(0)}, {TargetGroupArn: aws.String("green"), Weight: aws.Int32(999)},
		}}}}, want: [2]int32{0, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := bothActions(tt.actions, pair)[0].ForwardConfig.TargetGroups
			if aws.ToString(got[0].TargetGroupArn) != "blue" || aws.ToString(got[1].TargetGroupArn) != "green" || [2]int32{aws.ToInt32(got[0].Weight), aws.ToInt32(got[1].Weight)} != tt.want {
				t.Errorf("got %s %d, %s %d; want %v", aws.ToString(got[0].TargetGroupArn), aws.ToInt32(got[0].Weight), aws.ToString(got[1].TargetGroupArn), aws.ToInt32(got[1].Weight), tt.want)
			}
		})
	}
}
