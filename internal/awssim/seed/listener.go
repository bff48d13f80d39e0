package seed

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TwoServices names what CreateTwoServices made: the listener model.
type TwoServices struct {
	Cluster                                 string
	BlueService, GreenService               string
	Container                               string
	Port                                    int32
	TaskDefinitionARN                       string
	LoadBalancerARN, DNSName                string
	ProdListenerARN, TestListenerARN        string
	BlueTargetGroupARN, GreenTargetGroupARN string
	BlueTargetGroup, GreenTargetGroup       string
	// ProdRuleARN is the production rule when ProdRule was asked for; then
	// ProdListenerARN's default action answers 404.
	ProdRuleARN string
}

// TwoServicesOptions shape the listener model's world.
type TwoServicesOptions struct {
	Options
	// ProdRule routes production through a listener rule (path /*) instead
	// of the listener's default action.
	ProdRule bool
}

// CreateTwoServices builds the listener model (DESIGN §2): two ECS-controlled
// services, <service>-blue and <service>-green, each behind its own target
// group; the production listener forwards to blue, the test listener to
// green, and the target groups carry the IsProduction tag.
func CreateTwoServices(ctx context.Context, c Clients, o TwoServicesOptions) (*TwoServices, error) {
	o.defaults()
	w := &TwoServices{Cluster: o.Cluster, BlueService: o.Service + "-blue", GreenService: o.Service + "-green", Container: o.Container, Port: o.Port}
	if _, err := c.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(o.Cluster)}); err != nil {
		return nil, fmt.Errorf("creating cluster: %w", err)
	}
	td, err := c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(o.Service), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(o.Container), Image: aws.String(o.Image), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(o.Port), Protocol: ecstypes.TransportProtocolTcp}},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("registering the task definition: %w", err)
	}
	w.TaskDefinitionARN = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	lb, err := c.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(o.Service + "-alb"), Subnets: o.Subnets})
	if err != nil {
		return nil, fmt.Errorf("creating the load balancer: %w", err)
	}
	w.LoadBalancerARN, w.DNSName = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), aws.ToString(lb.LoadBalancers[0].DNSName)
	tgs := make([]string, 2)
	for i, colour := range []string{"blue", "green"} {
		out, err := c.ELB.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(o.Service + "-" + colour), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(o.Port), VpcId: aws.String(o.VpcID),
			TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
			HealthCheckIntervalSeconds: aws.Int32(o.HealthCheckIntervalSeconds), HealthyThresholdCount: aws.Int32(o.HealthyThreshold), UnhealthyThresholdCount: aws.Int32(2),
			Tags: []elbtypes.Tag{{Key: aws.String("IsProduction"), Value: aws.String(fmt.Sprint(colour == "blue"))}},
		})
		if err != nil {
			return nil, fmt.Errorf("creating target group %s: %w", colour, err)
		}
		tgs[i] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	w.BlueTargetGroupARN, w.GreenTargetGroupARN = tgs[0], tgs[1]
	w.BlueTargetGroup, w.GreenTargetGroup = o.Service+"-blue", o.Service+"-green"
	forward := func(tg string) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg), Weight: aws.Int32(1)}},
		}}}
	}
	prodDefault := forward(tgs[0])
	if o.ProdRule {
		prodDefault = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no route")}}}
	}
	prod, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: prodDefault})
	if err != nil {
		return nil, fmt.Errorf("creating the production listener: %w", err)
	}
	w.ProdListenerARN = aws.ToString(prod.Listeners[0].ListenerArn)
	if o.ProdRule {
		rule, err := c.ELB.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: aws.String(w.ProdListenerARN), Priority: aws.Int32(10), Actions: forward(tgs[0]),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
		})
		if err != nil {
			return nil, fmt.Errorf("creating the production rule: %w", err)
		}
		w.ProdRuleARN = aws.ToString(rule.Rules[0].RuleArn)
	}
	test, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: forward(tgs[1])})
	if err != nil {
		return nil, fmt.Errorf("creating the test listener: %w", err)
	}
	w.TestListenerARN = aws.ToString(test.Listeners[0].ListenerArn)
	for i, name := range []string{w.BlueService, w.GreenService} {
		if _, err := c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String(o.Cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(w.TaskDefinitionARN),
			DesiredCount: aws.Int32(o.DesiredCount), LaunchType: ecstypes.LaunchTypeFargate,
			LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tgs[i]), ContainerName: aws.String(o.Container), ContainerPort: aws.Int32(o.Port)}},
			NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: o.Subnets[:1], SecurityGroups: o.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
		}); err != nil {
			return nil, fmt.Errorf("creating service %s: %w", name, err)
		}
	}
	return w, nil
}
