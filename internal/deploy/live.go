package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
)

// ServiceSource reads what the repository files leave out from the live
// service: its task definition, and the container, port and placement a
// generated AppSpec takes. It reads the service and the task definition
// once each (State may hold the service already read in this observation).
type ServiceSource struct {
	ECS interface {
		DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
		DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	}
	Cluster, Service string
	State            *ecstypes.Service
	// liveOut is the live task definition as read, once: render and the
	// diff each parse their own copy (render changes its copy).
	liveOut *ecs.DescribeTaskDefinitionOutput
}

// Describe reads the service (once).
func (s *ServiceSource) Describe(ctx context.Context) (*ecstypes.Service, error) {
	if s.State != nil {
		return s.State, nil
	}
	out, err := s.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.Cluster), Services: []string{s.Service}})
	if err != nil {
		return nil, fmt.Errorf("describing service %s: %w", s.Service, err)
	}
	if len(out.Services) == 0 {
		return nil, fmt.Errorf("service %s not found in cluster %s", s.Service, s.Cluster)
	}
	s.State = &out.Services[0]
	return s.State, nil
}

// TaskDefinition is the live task definition, parsed afresh on each call
// (render changes its copy).
func (s *ServiceSource) TaskDefinition(ctx context.Context) (*render.TaskDef, error) {
	svc, err := s.Describe(ctx)
	if err != nil {
		return nil, err
	}
	arn := aws.ToString(svc.TaskDefinition)
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			arn = aws.ToString(ts.TaskDefinition)
		}
	}
	if s.liveOut == nil {
		out, err := s.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if err != nil {
			return nil, fmt.Errorf("reading the live task definition %s: %w", arn, err)
		}
		s.liveOut = out
	}
	return render.FromDescribe(s.liveOut, "live task definition "+arn)
}

// Spec is what a generated AppSpec takes from the service. A CODE_DEPLOY
// service keeps its placement on the task sets, so the primary task set's
// settings win over the service's own.
func (s *ServiceSource) Spec(ctx context.Context) (render.ServiceSpec, error) {
	svc, err := s.Describe(ctx)
	if err != nil {
		return render.ServiceSpec{}, err
	}
	lbs, net, pv, cps := svc.LoadBalancers, svc.NetworkConfiguration, aws.ToString(svc.PlatformVersion), svc.CapacityProviderStrategy
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) != "PRIMARY" {
			continue
		}
		if len(ts.LoadBalancers) > 0 {
			lbs = ts.LoadBalancers
		}
		if ts.NetworkConfiguration != nil {
			net = ts.NetworkConfiguration
		}
		if ts.PlatformVersion != nil {
			pv = aws.ToString(ts.PlatformVersion)
		}
		if len(ts.CapacityProviderStrategy) > 0 {
			cps = ts.CapacityProviderStrategy
		}
	}
	var spec render.ServiceSpec
	for _, lb := range lbs {
		if lb.ContainerName != nil && lb.ContainerPort != nil {
			spec.Container, spec.Port = aws.ToString(lb.ContainerName), int(aws.ToInt32(lb.ContainerPort))
			break
		}
	}
	if net != nil && net.AwsvpcConfiguration != nil {
		spec.Subnets = net.AwsvpcConfiguration.Subnets
		spec.SecurityGroups = net.AwsvpcConfiguration.SecurityGroups
		spec.AssignPublicIP = string(net.AwsvpcConfiguration.AssignPublicIp)
	}
	if svc.LaunchType == ecstypes.LaunchTypeFargate || len(cps) > 0 {
		spec.PlatformVersion = pv // Fargate only; EC2 services report none
	}
	for _, c := range cps {
		spec.CapacityProviders = append(spec.CapacityProviders, render.CapacityProvider{Name: aws.ToString(c.CapacityProvider), Base: int(c.Base), Weight: int(c.Weight)})
	}
	return spec, nil
}

// LaunchType is the service's launch type, FARGATE for a Fargate capacity provider.
func (s *ServiceSource) LaunchType(ctx context.Context) (string, error) {
	svc, err := s.Describe(ctx)
	if err != nil {
		return "", err
	}
	if svc.LaunchType != "" {
		return string(svc.LaunchType), nil
	}
	for _, c := range svc.CapacityProviderStrategy {
		if p := aws.ToString(c.CapacityProvider); p == "FARGATE" || p == "FARGATE_SPOT" {
			return "FARGATE", nil
		}
	}
	return "", nil
}
