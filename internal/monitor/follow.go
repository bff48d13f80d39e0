package monitor

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ecsAPI is the part of the ECS client the follower reads.
type ecsAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// elbAPI is the part of the ELBv2 client the follower reads.
type elbAPI interface {
	DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
}

// Replacement follows the replacement task set while it starts, through ECS
// and ELBv2: their request budgets are their own, not CodeDeploy's, and they
// are where the Install event's progress is decided (tasks running, targets
// healthy). The watcher reads CodeDeploy when these say something changed.
type Replacement struct {
	ECS     ecsAPI
	ELB     elbAPI
	Cluster string
	Service string
}

// followMin and followMax bound the gap between follower reads: soon after a
// change, then less often while nothing moves.
const (
	followMin = time.Second
	followMax = 5 * time.Second
)

// replacementState is what one follower read saw: the replacement task set's
// counts and its targets' health. Comparable, so a change is an inequality.
type replacementState struct {
	TaskSet                   string
	Desired, Pending, Running int32
	Stability                 string
	Healthy, Unhealthy, All   int
}

// settled reports whether the replacement looks ready: every task running and
// healthy in its target group. CodeDeploy's Install ends on that.
func (s replacementState) settled() bool {
	return s.TaskSet != "" && s.Desired > 0 && s.Running >= s.Desired && s.Healthy >= int(s.Desired)
}

// read reads the service's task set that deployment id created and the health
// of its target group. Two calls, neither of them CodeDeploy's.
func (r *Replacement) read(ctx context.Context, deploymentID string) (replacementState, error) {
	out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(r.Cluster), Services: []string{r.Service}})
	if err != nil {
		return replacementState{}, fmt.Errorf("reading ECS service %s in cluster %s: %w", r.Service, r.Cluster, err)
	}
	var st replacementState
	tgARN := ""
	for _, svc := range out.Services {
		for _, ts := range svc.TaskSets {
			if aws.ToString(ts.ExternalId) != deploymentID {
				continue
			}
			st = replacementState{
				TaskSet: aws.ToString(ts.Id), Desired: ts.ComputedDesiredCount, Pending: ts.PendingCount,
				Running: ts.RunningCount, Stability: string(ts.StabilityStatus),
			}
			if len(ts.LoadBalancers) > 0 {
				tgARN = aws.ToString(ts.LoadBalancers[0].TargetGroupArn)
			}
		}
	}
	if tgARN == "" || r.ELB == nil {
		return st, nil
	}
	health, err := r.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return st, fmt.Errorf("reading target health of %s: %w", tgARN, err)
	}
	for _, d := range health.TargetHealthDescriptions {
		st.All++
		if d.TargetHealth == nil {
			continue
		}
		switch d.TargetHealth.State {
		case elbtypes.TargetHealthStateEnumHealthy:
			st.Healthy++
		case elbtypes.TargetHealthStateEnumUnhealthy:
			st.Unhealthy++
		}
	}
	return st, nil
}
