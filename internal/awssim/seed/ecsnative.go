package seed

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ECSNative names what CreateECSNative made: the ecs model, a service that
// ECS itself deploys blue/green.
type ECSNative struct {
	Cluster, Service, Container             string
	Port                                    int32
	TaskDefinitionARN                       string
	LoadBalancerARN, DNSName                string
	ProdListenerARN, TestListenerARN        string
	ProdRuleARN, TestRuleARN                string
	BlueTargetGroupARN, GreenTargetGroupARN string
	// RoleARN is the role ECS is given to change the listener rules.
	RoleARN                   string
	Repository, RepositoryURI string
}

// ECSNativeOptions shape the ecs model's world.
type ECSNativeOptions struct {
	Options
	// Strategy is BLUE_GREEN (default), LINEAR or CANARY.
	Strategy ecstypes.DeploymentStrategy
	// BakeTimeInMinutes is deploymentConfiguration.bakeTimeInMinutes
	// (default 0: CLEAN_UP follows the production shift at once).
	BakeTimeInMinutes int32
	// Linear and Canary configure those strategies (ECS's defaults when nil).
	Linear *ecstypes.LinearConfiguration
	Canary *ecstypes.CanaryConfiguration
	// Hooks are the service's lifecycle hooks.
	Hooks []ecstypes.DeploymentLifecycleHook
	// CircuitBreaker turns the deployment circuit breaker on, with rollback.
	CircuitBreaker bool
}

// CreateECSNative builds the ecs model: an ECS-controlled service with the
// BLUE_GREEN, LINEAR or CANARY strategy behind a production listener rule
// (port 80, path /*) and a test listener rule (port 8080, path /*), both
// forwarding to blue at weight 100 and green at weight 0, with
// loadBalancers[].advancedConfiguration naming the green target group, the
// two rules and the role; the listeners' default actions answer 404, since
// ECS shifts the weights of rules, not of default actions.
func CreateECSNative(ctx context.Context, c Clients, o ECSNativeOptions) (*ECSNative, error) {
	o.defaults()
	if o.Strategy == "" {
		o.Strategy = ecstypes.DeploymentStrategyBlueGreen
	}
	w := &ECSNative{Cluster: o.Cluster, Service: o.Service, Container: o.Container, Port: o.Port, RoleARN: "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"}
	base, err := createBase(ctx, c, o.Options, false)
	if err != nil {
		return nil, err
	}
	tgs := base.targetGroups
	w.TaskDefinitionARN, w.LoadBalancerARN, w.DNSName = base.taskDefinition, base.loadBalancer, base.dnsName
	w.BlueTargetGroupARN, w.GreenTargetGroupARN = tgs[0], tgs[1]
	notFound := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no route")}}}
	both := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(tgs[0]), Weight: aws.Int32(100)}, {TargetGroupArn: aws.String(tgs[1]), Weight: aws.Int32(0)},
	}}}}
	for _, l := range []struct {
		port           int32
		listener, rule *string
		what           string
	}{{80, &w.ProdListenerARN, &w.ProdRuleARN, "production"}, {8080, &w.TestListenerARN, &w.TestRuleARN, "test"}} {
		if l.port == 8080 && o.NoTestListener {
			continue
		}
		out, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Port: aws.Int32(l.port), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: notFound})
		if err != nil {
			return nil, fmt.Errorf("creating the %s listener: %w", l.what, err)
		}
		*l.listener = aws.ToString(out.Listeners[0].ListenerArn)
		rule, err := c.ELB.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: l.listener, Priority: aws.Int32(10), Actions: both,
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
		})
		if err != nil {
			return nil, fmt.Errorf("creating the %s rule: %w", l.what, err)
		}
		*l.rule = aws.ToString(rule.Rules[0].RuleArn)
	}
	adv := &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(tgs[1]), ProductionListenerRule: aws.String(w.ProdRuleARN), RoleArn: aws.String(w.RoleARN)}
	if w.TestRuleARN != "" {
		adv.TestListenerRule = aws.String(w.TestRuleARN)
	}
	cfg := &ecstypes.DeploymentConfiguration{
		Strategy: o.Strategy, BakeTimeInMinutes: aws.Int32(o.BakeTimeInMinutes), MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
		LinearConfiguration: o.Linear, CanaryConfiguration: o.Canary, LifecycleHooks: o.Hooks,
	}
	if o.CircuitBreaker {
		cfg.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}
	}
	if len(o.Alarms) > 0 {
		cfg.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: o.Alarms, Enable: true, Rollback: true}
	}
	if _, err := c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(o.Cluster), ServiceName: aws.String(o.Service), TaskDefinition: aws.String(w.TaskDefinitionARN),
		DesiredCount: aws.Int32(o.DesiredCount), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentController:    &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		DeploymentConfiguration: cfg,
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String(tgs[0]), ContainerName: aws.String(o.Container), ContainerPort: aws.Int32(o.Port), AdvancedConfiguration: adv,
		}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: o.Subnets[:1], SecurityGroups: o.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
	}); err != nil {
		return nil, fmt.Errorf("creating the service: %w", err)
	}
	if c.ECR != nil {
		repo, err := c.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(o.Service)})
		if err != nil {
			return nil, fmt.Errorf("creating the ECR repository: %w", err)
		}
		w.Repository, w.RepositoryURI = o.Service, aws.ToString(repo.Repository.RepositoryUri)
	}
	return w, nil
}
