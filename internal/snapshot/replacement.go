package snapshot

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ServiceReader reads ECS services.
type ServiceReader interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// Replacement is one observation of a CodeDeploy deployment's replacement
// task set while it starts: its counts from ECS and every target of its
// target group with its state, from one DescribeServices and one
// DescribeTargetHealth. The watcher decides on it, and the same read is the
// evidence of why a replacement failed.
type Replacement struct {
	TaskSet                   string
	Desired, Pending, Running int32
	Stability                 string
	TargetGroupARN            string
	// Targets are all the target group's targets, each with its state
	// (healthy, unhealthy, initial, ...).
	Targets []Target
}

// ReadReplacement reads the task set that deployment id created in the
// service, and the health of its target group. A task set not there yet is
// a zero Replacement.
func ReadReplacement(ctx context.Context, svcAPI ServiceReader, healthAPI HealthReader, cluster, service, deploymentID string) (Replacement, error) {
	out, err := svcAPI.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return Replacement{}, fmt.Errorf("reading ECS service %s in cluster %s: %w", service, cluster, err)
	}
	var r Replacement
	for _, svc := range out.Services {
		for _, ts := range svc.TaskSets {
			if aws.ToString(ts.ExternalId) != deploymentID {
				continue
			}
			r = Replacement{
				TaskSet: aws.ToString(ts.Id), Desired: ts.ComputedDesiredCount, Pending: ts.PendingCount,
				Running: ts.RunningCount, Stability: string(ts.StabilityStatus),
			}
			if len(ts.LoadBalancers) > 0 {
				r.TargetGroupARN = aws.ToString(ts.LoadBalancers[0].TargetGroupArn)
			}
		}
	}
	if r.TargetGroupARN == "" || healthAPI == nil {
		return r, nil
	}
	health, err := healthAPI.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(r.TargetGroupARN)})
	if err != nil {
		return r, fmt.Errorf("reading target health of %s: %w", r.TargetGroupARN, err)
	}
	for _, d := range health.TargetHealthDescriptions {
		t := Target{}
		if d.Target != nil {
			t.ID, t.Port = aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)
		}
		if d.TargetHealth != nil {
			t.State, t.Reason, t.Description = string(d.TargetHealth.State), string(d.TargetHealth.Reason), aws.ToString(d.TargetHealth.Description)
		}
		r.Targets = append(r.Targets, t)
	}
	return r, nil
}

// Rollout is one observation of an ECS-controlled service's rolling update:
// its PRIMARY deployment and how many deployments it has.
type Rollout struct {
	// Primary is nil when the service has no PRIMARY deployment.
	Primary     *ecstypes.Deployment
	Deployments int
}

// ReadRollout reads the service's deployments (one DescribeServices).
func ReadRollout(ctx context.Context, api ServiceReader, cluster, service string) (Rollout, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return Rollout{}, fmt.Errorf("describing service %s: %w", service, err)
	}
	if len(out.Services) == 0 {
		return Rollout{}, fmt.Errorf("service %s disappeared", service)
	}
	svc := out.Services[0]
	r := Rollout{Deployments: len(svc.Deployments)}
	for i := range svc.Deployments {
		if aws.ToString(svc.Deployments[i].Status) == "PRIMARY" {
			r.Primary = &svc.Deployments[i]
		}
	}
	return r, nil
}

// Registered tells the reader the containers of a task definition revision
// the run registered (or found identical to what it rendered), so no later
// observation describes it: a revision never changes.
func (r *Reader) Registered(arn string, containers []Container) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.containers == nil {
		r.containers = map[string][]Container{}
	}
	r.containers[arn] = containers
}
