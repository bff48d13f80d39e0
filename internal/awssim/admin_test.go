package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// errCode is the AWS error code of err ("" for none).
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "not an API error: " + err.Error()
	}
	return ""
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := errCode(err); got != code {
		t.Errorf("%s: error %q, want %q", what, got, code)
	}
}

func TestCodeDeployAdmin_groups(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, app, group := context.Background(), e.world.Application, e.world.Group
	get := func(name string) *cdtypes.DeploymentGroupInfo {
		t.Helper()
		out, err := e.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(app), DeploymentGroupName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out.DeploymentGroupInfo
	}
	before := get(group)
	if before.OutdatedInstancesStrategy != cdtypes.OutdatedInstancesStrategyUpdate {
		t.Errorf("a new group's outdatedInstancesStrategy = %q, want UPDATE", before.OutdatedInstancesStrategy)
	}
	trigger := cdtypes.TriggerConfig{TriggerName: aws.String("notify"), TriggerTargetArn: aws.String("arn:aws:sns:eu-west-1:123456789012:deploys"), TriggerEvents: []cdtypes.TriggerEventType{cdtypes.TriggerEventTypeDeploymentFailure}}
	if _, err := e.cd.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{
		ApplicationName: aws.String(app), CurrentDeploymentGroupName: aws.String(group), NewDeploymentGroupName: aws.String("renamed"),
		DeploymentConfigName: aws.String("CodeDeployDefault.ECSLinear10PercentEvery1Minutes"), OutdatedInstancesStrategy: cdtypes.OutdatedInstancesStrategyIgnore,
		TriggerConfigurations: []cdtypes.TriggerConfig{trigger},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: 30},
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: 7},
		},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := e.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(app), DeploymentGroupName: aws.String(group)})
	wantCode(t, "the old name after a rename", err, "DeploymentGroupDoesNotExistException")
	after := get("renamed")
	if aws.ToString(after.DeploymentConfigName) != "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" || after.OutdatedInstancesStrategy != cdtypes.OutdatedInstancesStrategyIgnore ||
		len(after.TriggerConfigurations) != 1 || aws.ToString(after.TriggerConfigurations[0].TriggerName) != "notify" ||
		after.BlueGreenDeploymentConfiguration.DeploymentReadyOption.WaitTimeInMinutes != 30 ||
		after.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes != 7 {
		t.Errorf("the update did not take: %+v", after)
	}
	// Members the update did not name are kept.
	if aws.ToString(after.DeploymentGroupId) != aws.ToString(before.DeploymentGroupId) || aws.ToString(after.ServiceRoleArn) != aws.ToString(before.ServiceRoleArn) ||
		len(after.LoadBalancerInfo.TargetGroupPairInfoList) != 1 || len(after.EcsServices) != 1 {
		t.Errorf("the update lost members it did not name: %+v", after)
	}
	// A refused update changes nothing.
	_, err = e.cd.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{ApplicationName: aws.String(app), CurrentDeploymentGroupName: aws.String("renamed"), DeploymentConfigName: aws.String("Nope")})
	wantCode(t, "an unknown config", err, "DeploymentConfigDoesNotExistException")
	_, err = e.cd.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{
		ApplicationName: aws.String(app), CurrentDeploymentGroupName: aws.String("renamed"),
		TriggerConfigurations: []cdtypes.TriggerConfig{{TriggerName: aws.String("x"), TriggerTargetArn: aws.String("not-a-topic")}},
	})
	wantCode(t, "a trigger without a topic", err, "InvalidTriggerConfigException")
	if aws.ToString(get("renamed").DeploymentConfigName) != "CodeDeployDefault.ECSLinear10PercentEvery1Minutes" {
		t.Error("a refused update changed the group")
	}

	batch, err := e.cd.BatchGetDeploymentGroups(ctx, &codedeploy.BatchGetDeploymentGroupsInput{ApplicationName: aws.String(app), DeploymentGroupNames: []string{"renamed", "ghost"}})
	if err != nil || len(batch.DeploymentGroupsInfo) != 1 || aws.ToString(batch.ErrorMessage) == "" {
		t.Errorf("BatchGetDeploymentGroups = %+v, %v; want one group and an error message naming ghost", batch, err)
	}
	apps, err := e.cd.BatchGetApplications(ctx, &codedeploy.BatchGetApplicationsInput{ApplicationNames: []string{app}})
	if err != nil || len(apps.ApplicationsInfo) != 1 || apps.ApplicationsInfo[0].ComputePlatform != cdtypes.ComputePlatformEcs {
		t.Errorf("BatchGetApplications = %+v, %v", apps, err)
	}
	_, err = e.cd.BatchGetApplications(ctx, &codedeploy.BatchGetApplicationsInput{ApplicationNames: []string{app, "ghost"}})
	wantCode(t, "BatchGetApplications with a missing name", err, "ApplicationDoesNotExistException")

	// Tags on the application and the group, by ARN.
	appARN, groupARN := "arn:aws:codedeploy:eu-west-1:123456789012:application:"+app, "arn:aws:codedeploy:eu-west-1:123456789012:deploymentgroup:"+app+"/renamed"
	for _, arn := range []string{appARN, groupARN} {
		if _, err := e.cd.TagResource(ctx, &codedeploy.TagResourceInput{ResourceArn: aws.String(arn), Tags: []cdtypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("tier"), Value: aws.String("1")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cd.UntagResource(ctx, &codedeploy.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"tier"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := e.cd.ListTagsForResource(ctx, &codedeploy.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
			t.Errorf("tags of %s = %+v, %v", arn, tags, err)
		}
	}
	_, err = e.cd.ListTagsForResource(ctx, &codedeploy.ListTagsForResourceInput{ResourceArn: aws.String("not-an-arn")})
	wantCode(t, "a malformed ARN", err, "InvalidArnException")
	_, err = e.cd.TagResource(ctx, &codedeploy.TagResourceInput{ResourceArn: aws.String("arn:aws:codedeploy:eu-west-1:123456789012:application:ghost"), Tags: []cdtypes.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantCode(t, "tagging a missing application", err, "ApplicationDoesNotExistException")

	// Renaming the application carries its groups and tags along.
	if _, err := e.cd.UpdateApplication(ctx, &codedeploy.UpdateApplicationInput{ApplicationName: aws.String(app), NewApplicationName: aws.String("app2")}); err != nil {
		t.Fatal(err)
	}
	groups, err := e.cd.ListDeploymentGroups(ctx, &codedeploy.ListDeploymentGroupsInput{ApplicationName: aws.String("app2")})
	if err != nil || len(groups.DeploymentGroups) != 1 {
		t.Errorf("groups of the renamed application = %+v, %v", groups, err)
	}
	tags, err := e.cd.ListTagsForResource(ctx, &codedeploy.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:codedeploy:eu-west-1:123456789012:application:app2")})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("tags of the renamed application = %+v, %v", tags, err)
	}
	if _, err := e.cd.DeleteDeploymentGroup(ctx, &codedeploy.DeleteDeploymentGroupInput{ApplicationName: aws.String("app2"), DeploymentGroupName: aws.String("renamed")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String("app2"), DeploymentGroupName: aws.String("renamed")})
	wantCode(t, "a deleted group", err, "DeploymentGroupDoesNotExistException")
	if _, err := e.cd.DeleteApplication(ctx, &codedeploy.DeleteApplicationInput{ApplicationName: aws.String("app2")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cd.GetApplication(ctx, &codedeploy.GetApplicationInput{ApplicationName: aws.String("app2")})
	wantCode(t, "a deleted application", err, "ApplicationDoesNotExistException")
	// Deleting what is gone succeeds, as CodeDeploy answers.
	if _, err := e.cd.DeleteApplication(ctx, &codedeploy.DeleteApplicationInput{ApplicationName: aws.String("app2")}); err != nil {
		t.Errorf("deleting a deleted application: %v", err)
	}
}

func TestCodeDeployAdmin_configsAndRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	if _, err := e.cd.CreateDeploymentConfig(ctx, &codedeploy.CreateDeploymentConfigInput{
		DeploymentConfigName: aws.String("Canary20"), ComputePlatform: cdtypes.ComputePlatformEcs,
		TrafficRoutingConfig: &cdtypes.TrafficRoutingConfig{Type: cdtypes.TrafficRoutingTypeTimeBasedCanary, TimeBasedCanary: &cdtypes.TimeBasedCanary{CanaryPercentage: 20, CanaryInterval: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	list, err := e.cd.ListDeploymentConfigs(ctx, &codedeploy.ListDeploymentConfigsInput{})
	if err != nil || len(list.DeploymentConfigsList) != 6 {
		t.Errorf("ListDeploymentConfigs = %v, %v; want the 5 predefined ECS configs and Canary20", list.DeploymentConfigsList, err)
	}
	_, err = e.cd.DeleteDeploymentConfig(ctx, &codedeploy.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String("CodeDeployDefault.ECSAllAtOnce")})
	wantCode(t, "deleting a predefined config", err, "InvalidOperationException")
	if _, err := e.cd.UpdateDeploymentGroup(ctx, &codedeploy.UpdateDeploymentGroupInput{ApplicationName: aws.String(e.world.Application), CurrentDeploymentGroupName: aws.String(e.world.Group), DeploymentConfigName: aws.String("Canary20")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.cd.DeleteDeploymentConfig(ctx, &codedeploy.DeleteDeploymentConfigInput{DeploymentConfigName: aws.String("Canary20")})
	wantCode(t, "deleting a config a group uses", err, "DeploymentConfigInUseException")

	_, id := e.deploy(t, "registry.example/web:2", "")
	d := e.status(t, id)
	rev, err := e.cd.GetApplicationRevision(ctx, &codedeploy.GetApplicationRevisionInput{ApplicationName: aws.String(e.world.Application), Revision: d.Revision})
	if err != nil || rev.Revision.AppSpecContent == nil || aws.ToString(rev.Revision.AppSpecContent.Content) == "" ||
		len(rev.RevisionInfo.DeploymentGroups) != 1 || rev.RevisionInfo.FirstUsedTime == nil {
		t.Errorf("GetApplicationRevision = %+v, %v; want the AppSpec content and the group that used it", rev, err)
	}
	_, err = e.cd.GetApplicationRevision(ctx, &codedeploy.GetApplicationRevisionInput{
		ApplicationName: aws.String(e.world.Application),
		Revision:        &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Sha256: aws.String("00")}},
	})
	wantCode(t, "an unknown revision", err, "RevisionDoesNotExistException")
}

// overrideAlarmConfiguration replaces the group's alarms for one deployment.
func TestCodeDeployAdmin_overrideAlarmConfiguration(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		groupAlarms []string
		override    *cdtypes.AlarmConfiguration
		want        cdtypes.DeploymentStatus
	}{
		{name: "override_adds_a_firing_alarm", override: &cdtypes.AlarmConfiguration{Enabled: true, Alarms: []cdtypes.Alarm{{Name: aws.String("web-5xx")}}}, want: cdtypes.DeploymentStatusStopped},
		{name: "override_disables_the_groups_firing_alarm", groupAlarms: []string{"web-5xx"}, override: &cdtypes.AlarmConfiguration{Enabled: false}, want: cdtypes.DeploymentStatusSucceeded},
		{name: "no_override_the_groups_alarm_stops_it", groupAlarms: []string{"web-5xx"}, want: cdtypes.DeploymentStatusStopped},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, seed.Options{Alarms: c.groupAlarms})
			ctx, cw := context.Background(), e.cloudWatch(t)
			if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
				AlarmName: aws.String("web-5xx"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
				ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
				t.Fatal(err)
			}
			id := e.deployChanged(t, "registry.example/web:3", func(in *codedeploy.CreateDeploymentInput) { in.OverrideAlarmConfiguration = c.override })
			for range 60 {
				e.clk.Advance(10 * time.Second)
				if st := e.status(t, id).Status; st != cdtypes.DeploymentStatusInProgress && st != cdtypes.DeploymentStatusCreated {
					break
				}
			}
			d := e.status(t, id)
			if d.Status != c.want {
				t.Errorf("status %s (%v), want %s", d.Status, d.ErrorInformation, c.want)
			}
			if c.override != nil && (d.OverrideAlarmConfiguration == nil || d.OverrideAlarmConfiguration.Enabled != c.override.Enabled) {
				t.Errorf("GetDeployment's overrideAlarmConfiguration = %+v, want %+v", d.OverrideAlarmConfiguration, c.override)
			}
		})
	}
}

// deployChanged is env.deploy with a hook to change the CreateDeployment input.
func (e *env) deployChanged(t *testing.T, image string, change func(*codedeploy.CreateDeploymentInput)) string {
	t.Helper()
	ctx := context.Background()
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(e.world.Service), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"" + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\"\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	in := &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String(e.world.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
	}
	change(in)
	out, err := e.cd.CreateDeployment(ctx, in)
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	return aws.ToString(out.DeploymentId)
}

func httpGet(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp, resp.Body.Close()
}

func TestELBv2Admin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, w := context.Background(), e.world
	attrs := func(as []elbtypes.LoadBalancerAttribute) map[string]string {
		m := map[string]string{}
		for _, a := range as {
			m[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		return m
	}
	lb, err := e.elb.DescribeLoadBalancerAttributes(ctx, &elb.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(w.LoadBalancerARN)})
	if err != nil || attrs(lb.Attributes)["idle_timeout.timeout_seconds"] != "60" || attrs(lb.Attributes)["deletion_protection.enabled"] != "false" {
		t.Errorf("DescribeLoadBalancerAttributes = %v, %v", lb, err)
	}
	mod, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Attributes: []elbtypes.LoadBalancerAttribute{
		{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")}, {Key: aws.String("deletion_protection.enabled"), Value: aws.String("true")},
	}})
	if err != nil || attrs(mod.Attributes)["idle_timeout.timeout_seconds"] != "120" || len(mod.Attributes) != len(lb.Attributes) {
		t.Errorf("ModifyLoadBalancerAttributes = %v, %v; want every attribute, idle timeout 120", mod, err)
	}
	for _, c := range []struct {
		name, key, value, code string
	}{
		{"unknown_key", "no.such.key", "1", "ValidationError"},
		{"not_a_boolean", "routing.http2.enabled", "yes", "InvalidConfigurationRequest"},
		{"timeout_out_of_range", "idle_timeout.timeout_seconds", "0", "InvalidConfigurationRequest"},
	} {
		_, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String(c.key), Value: aws.String(c.value)}}})
		wantCode(t, c.name, err, c.code)
	}
	_, err = e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN)})
	wantCode(t, "deleting a protected load balancer", err, "OperationNotPermitted")

	la, err := e.elb.ModifyListenerAttributes(ctx, &elb.ModifyListenerAttributesInput{ListenerArn: aws.String(w.ProdListenerARN), Attributes: []elbtypes.ListenerAttribute{{Key: aws.String("routing.http.response.server.enabled"), Value: aws.String("false")}}})
	if err != nil || len(la.Attributes) == 0 {
		t.Fatalf("ModifyListenerAttributes = %v, %v", la, err)
	}
	dp := e.sim.DataPlane()
	t.Cleanup(dp.Close)
	addr, err := dp.Bind(ctx, w.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpGet(ctx, "http://"+addr+"/")
	if err != nil || resp.Header.Get("Server") != "" {
		t.Errorf("with routing.http.response.server.enabled=false the listener still sends Server %q (%v)", resp.Header.Get("Server"), err)
	}

	tg, err := e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{
		TargetGroupArn: aws.String(w.GreenTargetGroupARN), HealthCheckPath: aws.String("/healthz"),
		HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(4), HealthyThresholdCount: aws.Int32(3), Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-299")},
	})
	if err != nil || aws.ToString(tg.TargetGroups[0].HealthCheckPath) != "/healthz" || aws.ToInt32(tg.TargetGroups[0].HealthCheckIntervalSeconds) != 10 ||
		aws.ToInt32(tg.TargetGroups[0].HealthCheckTimeoutSeconds) != 4 || aws.ToString(tg.TargetGroups[0].Matcher.HttpCode) != "200-299" {
		t.Errorf("ModifyTargetGroup = %+v, %v", tg, err)
	}
	_, err = e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN), HealthCheckIntervalSeconds: aws.Int32(1)})
	wantCode(t, "an interval under 5 s", err, "ValidationError")
	_, err = e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ghost/0")})
	wantCode(t, "a missing target group", err, "TargetGroupNotFound")

	var rules []string
	for _, p := range []int32{10, 20} {
		r, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: aws.String(w.ProdListenerARN), Priority: aws.Int32(p),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{fmt.Sprintf("/p%d", p)}}},
			Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(w.GreenTargetGroupARN)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, aws.ToString(r.Rules[0].RuleArn))
	}
	swap, err := e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: aws.String(rules[0]), Priority: aws.Int32(20)}, {RuleArn: aws.String(rules[1]), Priority: aws.Int32(10)}}})
	if err != nil || len(swap.Rules) != 2 || aws.ToString(swap.Rules[0].Priority) != "20" {
		t.Errorf("swapping two priorities in one call = %+v, %v", swap, err)
	}
	_, err = e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: aws.String(rules[0]), Priority: aws.Int32(10)}}})
	wantCode(t, "a priority another rule has", err, "PriorityInUse")
	desc, _ := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(w.ProdListenerARN)})
	def := desc.Rules[len(desc.Rules)-1].RuleArn
	_, err = e.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: def, Priority: aws.Int32(5)}}})
	wantCode(t, "the default rule's priority", err, "OperationNotPermitted")
	_, err = e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: def})
	wantCode(t, "deleting the default rule", err, "OperationNotPermitted")

	_, err = e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN)})
	wantCode(t, "deleting a target group a rule forwards to", err, "ResourceInUse")
	if _, err := e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(rules[0])}); err != nil {
		t.Fatal(err)
	}
	_, err = e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(rules[0])})
	wantCode(t, "deleting a deleted rule", err, "RuleNotFound")
	if _, err := e.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(w.TestListenerARN)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.elb.DescribeListenerAttributes(ctx, &elb.DescribeListenerAttributesInput{ListenerArn: aws.String(w.TestListenerARN)})
	wantCode(t, "a deleted listener", err, "ListenerNotFound")
	if _, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("deletion_protection.enabled"), Value: aws.String("false")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{rules[1]}}); errCode(err) != "RuleNotFound" {
		t.Errorf("the load balancer's rules outlived it: %v", err)
	}
	// Its target groups no longer name it, and can now go.
	if _, err := e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN)}); err != nil {
		t.Errorf("deleting a target group no listener uses: %v", err)
	}
}
