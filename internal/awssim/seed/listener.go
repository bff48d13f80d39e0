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
	base, err := createBase(ctx, c, o.Options, true)
	if err != nil {
		return nil, err
	}
	tgs := base.targetGroups
	w.TaskDefinitionARN, w.LoadBalancerARN, w.DNSName = base.taskDefinition, base.loadBalancer, base.dnsName
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
