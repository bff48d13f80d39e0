// Package seed creates a typical blue/green world in an AWS account through
// the AWS APIs themselves (so it works against the simulator and would work
// against AWS): a cluster, a task definition, a CODE_DEPLOY service behind an
// ALB with production and test listeners and two target groups, a CodeDeploy
// application and deployment group, and an ECR repository.
package seed

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Clients are the clients seeding uses.
type Clients struct {
	ECS        *ecs.Client
	ELB        *elb.Client
	CodeDeploy *codedeploy.Client
	ECR        *ecr.Client
}

// Options shape the world; zero values take the defaults shown.
type Options struct {
	Cluster, Service, Container string // prod, web, web
	Port                        int32  // 8080
	Image                       string // public.ecr.aws/nginx/nginx:latest
	DesiredCount                int32  // 2
	DeploymentConfig            string // CodeDeployDefault.ECSAllAtOnce
	// ReadyWaitMinutes > 0 makes the group wait at Ready (STOP_DEPLOYMENT).
	ReadyWaitMinutes       int32
	TerminationWaitMinutes int32
	Alarms                 []string
	// NoTestListener leaves the test traffic route out.
	NoTestListener bool
	// HealthCheckIntervalSeconds and HealthyThreshold tune how fast targets
	// turn healthy (defaults 5 and 2: ten seconds).
	HealthCheckIntervalSeconds, HealthyThreshold int32
	// DeregistrationDelaySeconds > 0 sets the target groups'
	// deregistration_delay.timeout_seconds (0: ELBv2's default, 300 s), how
	// long a replaced task set drains before a deployment is done.
	DeregistrationDelaySeconds int32
	// VpcID and Subnets place the load balancer and target groups (defaults
	// vpc-1, subnet-a and subnet-b: the simulator has no EC2 and takes any
	// ids; moto wants real ones).
	VpcID          string
	Subnets        []string
	SecurityGroups []string
}

// World names what Create made.
type World struct {
	Cluster, Service, Container string
	Port                        int32
	TaskDefinitionARN           string
	LoadBalancerARN, DNSName    string
	ProdListenerARN             string
	TestListenerARN             string
	BlueTargetGroupARN          string
	GreenTargetGroupARN         string
	BlueTargetGroup             string
	GreenTargetGroup            string
	Application, Group          string
	Repository, RepositoryURI   string
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Cluster, "prod")
	def(&o.Service, "web")
	def(&o.Container, "web")
	def(&o.Image, "public.ecr.aws/nginx/nginx:latest")
	def(&o.DeploymentConfig, "CodeDeployDefault.ECSAllAtOnce")
	def(&o.VpcID, "vpc-1")
	if len(o.Subnets) == 0 {
		o.Subnets = []string{"subnet-a", "subnet-b"}
	}
	if len(o.SecurityGroups) == 0 {
		o.SecurityGroups = []string{"sg-1"}
	}
	if o.Port == 0 {
		o.Port = 8080
	}
	if o.DesiredCount == 0 {
		o.DesiredCount = 2
	}
	if o.HealthCheckIntervalSeconds == 0 {
		o.HealthCheckIntervalSeconds = 5
	}
	if o.HealthyThreshold == 0 {
		o.HealthyThreshold = 2
	}
}

// Create builds the world.
func Create(ctx context.Context, c Clients, o Options) (*World, error) {
	o.defaults()
	w := &World{
		Cluster: o.Cluster, Service: o.Service, Container: o.Container, Port: o.Port,
		Application: "AppECS-" + o.Cluster + "-" + o.Service, Group: "DgpECS-" + o.Cluster + "-" + o.Service,
	}
	base, err := createBase(ctx, c, o, false)
	if err != nil {
		return nil, err
	}
	tgs := base.targetGroups
	w.TaskDefinitionARN, w.LoadBalancerARN, w.DNSName = base.taskDefinition, base.loadBalancer, base.dnsName
	w.BlueTargetGroupARN, w.GreenTargetGroupARN = tgs[0], tgs[1]
	w.BlueTargetGroup, w.GreenTargetGroup = o.Service+"-blue", o.Service+"-green"
	forward := func(tg string) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
	}
	// Production forwards to blue, and to green at weight 0, as CodeDeploy
	// leaves a listener after a deployment: the group traffic moved away
	// from stays in the forward action, so the load balancer keeps
	// health-checking it and the next replacement is checked during Install.
	prodActions := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(tgs[0]), Weight: aws.Int32(100)}, {TargetGroupArn: aws.String(tgs[1]), Weight: aws.Int32(0)},
	}}}}
	prod, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: prodActions})
	if err != nil {
		return nil, fmt.Errorf("creating the production listener: %w", err)
	}
	w.ProdListenerARN = aws.ToString(prod.Listeners[0].ListenerArn)
	if !o.NoTestListener {
		test, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(w.LoadBalancerARN), Port: aws.Int32(8080), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: forward(tgs[0])})
		if err != nil {
			return nil, fmt.Errorf("creating the test listener: %w", err)
		}
		w.TestListenerARN = aws.ToString(test.Listeners[0].ListenerArn)
	}
	if _, err := c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(o.Cluster), ServiceName: aws.String(o.Service), TaskDefinition: aws.String(w.TaskDefinitionARN),
		DesiredCount: aws.Int32(o.DesiredCount), LaunchType: ecstypes.LaunchTypeFargate,
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeCodeDeploy},
		LoadBalancers:        []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tgs[0]), ContainerName: aws.String(o.Container), ContainerPort: aws.Int32(o.Port)}},
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: o.Subnets[:1], SecurityGroups: o.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled}},
	}); err != nil {
		return nil, fmt.Errorf("creating the service: %w", err)
	}
	if _, err := c.CodeDeploy.CreateApplication(ctx, &codedeploy.CreateApplicationInput{ApplicationName: aws.String(w.Application), ComputePlatform: cdtypes.ComputePlatformEcs}); err != nil {
		return nil, fmt.Errorf("creating the CodeDeploy application: %w", err)
	}
	pair := cdtypes.TargetGroupPairInfo{
		TargetGroups:     []cdtypes.TargetGroupInfo{{Name: aws.String(w.BlueTargetGroup)}, {Name: aws.String(w.GreenTargetGroup)}},
		ProdTrafficRoute: &cdtypes.TrafficRoute{ListenerArns: []string{w.ProdListenerARN}},
	}
	if w.TestListenerARN != "" {
		pair.TestTrafficRoute = &cdtypes.TrafficRoute{ListenerArns: []string{w.TestListenerARN}}
	}
	ready := &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionContinueDeployment}
	if o.ReadyWaitMinutes > 0 {
		ready = &cdtypes.DeploymentReadyOption{ActionOnTimeout: cdtypes.DeploymentReadyActionStopDeployment, WaitTimeInMinutes: o.ReadyWaitMinutes}
	}
	in := &codedeploy.CreateDeploymentGroupInput{
		ApplicationName: aws.String(w.Application), DeploymentGroupName: aws.String(w.Group), DeploymentConfigName: aws.String(o.DeploymentConfig),
		ServiceRoleArn:  aws.String("arn:aws:iam::123456789012:role/codedeploy"),
		EcsServices:     []cdtypes.ECSService{{ClusterName: aws.String(o.Cluster), ServiceName: aws.String(o.Service)}},
		DeploymentStyle: &cdtypes.DeploymentStyle{DeploymentType: cdtypes.DeploymentTypeBlueGreen, DeploymentOption: cdtypes.DeploymentOptionWithTrafficControl},
		BlueGreenDeploymentConfiguration: &cdtypes.BlueGreenDeploymentConfiguration{
			DeploymentReadyOption:                     ready,
			TerminateBlueInstancesOnDeploymentSuccess: &cdtypes.BlueInstanceTerminationOption{Action: cdtypes.InstanceActionTerminate, TerminationWaitTimeInMinutes: o.TerminationWaitMinutes},
		},
		LoadBalancerInfo:          &cdtypes.LoadBalancerInfo{TargetGroupPairInfoList: []cdtypes.TargetGroupPairInfo{pair}},
		AutoRollbackConfiguration: &cdtypes.AutoRollbackConfiguration{Enabled: true, Events: []cdtypes.AutoRollbackEvent{cdtypes.AutoRollbackEventDeploymentFailure, cdtypes.AutoRollbackEventDeploymentStopOnAlarm, cdtypes.AutoRollbackEventDeploymentStopOnRequest}},
	}
	if len(o.Alarms) > 0 {
		ac := &cdtypes.AlarmConfiguration{Enabled: true}
		for _, a := range o.Alarms {
			ac.Alarms = append(ac.Alarms, cdtypes.Alarm{Name: aws.String(a)})
		}
		in.AlarmConfiguration = ac
	}
	if _, err := c.CodeDeploy.CreateDeploymentGroup(ctx, in); err != nil {
		return nil, fmt.Errorf("creating the deployment group: %w", err)
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

// base is what both models start from: a cluster, the task definition, a
// load balancer and a target group per colour.
type base struct {
	taskDefinition        string
	loadBalancer, dnsName string
	targetGroups          [2]string // blue, green
}

// createBase creates the base; tagged gives the target groups the
// IsProduction tag the listener model keeps (blue true, green false).
func createBase(ctx context.Context, c Clients, o Options, tagged bool) (*base, error) {
	b := &base{}
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
	b.taskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	lb, err := c.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(o.Service + "-alb"), Subnets: o.Subnets})
	if err != nil {
		return nil, fmt.Errorf("creating the load balancer: %w", err)
	}
	b.loadBalancer, b.dnsName = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn), aws.ToString(lb.LoadBalancers[0].DNSName)
	for i, colour := range []string{"blue", "green"} {
		in := &elb.CreateTargetGroupInput{
			Name: aws.String(o.Service + "-" + colour), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(o.Port), VpcId: aws.String(o.VpcID),
			TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
			HealthCheckIntervalSeconds: aws.Int32(o.HealthCheckIntervalSeconds), HealthyThresholdCount: aws.Int32(o.HealthyThreshold), UnhealthyThresholdCount: aws.Int32(2),
		}
		if tagged {
			in.Tags = []elbtypes.Tag{{Key: aws.String("IsProduction"), Value: aws.String(fmt.Sprint(colour == "blue"))}}
		}
		out, err := c.ELB.CreateTargetGroup(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("creating target group %s: %w", colour, err)
		}
		b.targetGroups[i] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
		if o.DeregistrationDelaySeconds > 0 {
			if _, err := c.ELB.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
				TargetGroupArn: out.TargetGroups[0].TargetGroupArn,
				Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(fmt.Sprint(o.DeregistrationDelaySeconds))}},
			}); err != nil {
				return nil, fmt.Errorf("setting the deregistration delay of target group %s: %w", colour, err)
			}
		}
	}
	return b, nil
}
