package migrate

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestApplyAgainstTheSimulator migrates a CodeDeploy service whose test
// listener already routes by a rule that reaches one target group: the
// production listener gets a rule in place of its default action, the test
// rule is made to reach both groups, and the service's controller,
// strategy and advancedConfiguration follow, with traffic where it was.
func TestApplyAgainstTheSimulator(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC))
	hs := httptest.NewServer(awssim.New(awssim.WithClock(clk)))
	t.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	ecsc, elbc, cd := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg), codedeploy.NewFromConfig(cfg)
	ctx := context.Background()
	w, err := seed.Create(ctx, seed.Clients{ECS: ecsc, ELB: elbc, CodeDeploy: cd}, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", TerminationWaitMinutes: 15})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	testRule, err := elbc.CreateRule(ctx, &elb.CreateRuleInput{
		ListenerArn: aws.String(w.TestListenerARN), Priority: aws.Int32(5),
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(w.BlueTargetGroupARN)}},
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ruleARN := aws.ToString(testRule.Rules[0].RuleArn)
	svc, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(w.Application), DeploymentGroupName: aws.String(w.Group)})
	if err != nil {
		t.Fatal(err)
	}
	c := Clients{ECS: ecsc, CodeDeploy: cd, ELB: elbc}
	const role = "arn:aws:iam::123456789012:role/ecs-lb"
	p, err := Prepare(ctx, c, Input{Cluster: "prod", Service: &svc.Services[0], Application: w.Application, Group: w.Group, GroupInfo: g.DeploymentGroupInfo, RoleARN: role})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p.Write(&out, false)
	for _, want := range []string{
		"1. create a rule on the production listener", "forwarding to web-blue 100, web-green 0",
		"2. make the test rule", "forward to both target groups (web-blue 100, web-green 0)",
		"3. UpdateService prod/web: deploymentController CODE_DEPLOY -> ECS", "strategy LINEAR, 10% every 3 min", "bakeTimeInMinutes 15",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	if len(p.Missing) != 0 {
		t.Errorf("missing %q", p.Missing)
	}
	if err := p.Apply(ctx, c, func(string) {}); err != nil {
		t.Fatal(err)
	}
	rules, err := elbc.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{ruleARN}})
	if err != nil || len(forwardTargets(rules.Rules[0].Actions)) != 2 {
		t.Errorf("test rule after the migration: %+v (%v)", rules, err)
	}
	after, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	s := after.Services[0]
	a := s.LoadBalancers[0].AdvancedConfiguration
	if s.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs || s.DeploymentConfiguration.Strategy != ecstypes.DeploymentStrategyLinear || a == nil ||
		aws.ToString(a.TestListenerRule) != ruleARN || aws.ToString(a.AlternateTargetGroupArn) != w.GreenTargetGroupARN || aws.ToString(a.RoleArn) != role ||
		!strings.Contains(aws.ToString(a.ProductionListenerRule), ":listener-rule/") {
		t.Errorf("service after the migration: %+v %+v %+v", s.DeploymentController, s.DeploymentConfiguration, a)
	}
}
