package monitor

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
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
	// OnRead, when set, sees every read of the replacement: the evidence
	// of a failure is gathered from the reads the watch makes anyway.
	OnRead func(snapshot.Replacement)
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
// of its target group, through the snapshot's reader: two calls, neither of
// them CodeDeploy's. OnRead sees the same observation.
func (r *Replacement) read(ctx context.Context, deploymentID string) (replacementState, error) {
	var health snapshot.HealthReader
	if r.ELB != nil {
		health = r.ELB
	}
	obs, err := snapshot.ReadReplacement(ctx, r.ECS, health, r.Cluster, r.Service, deploymentID)
	if err != nil {
		return replacementState{}, err
	}
	if r.OnRead != nil {
		r.OnRead(obs)
	}
	st := replacementState{TaskSet: obs.TaskSet, Desired: obs.Desired, Pending: obs.Pending, Running: obs.Running, Stability: obs.Stability}
	for _, t := range obs.Targets {
		st.All++
		switch elbtypes.TargetHealthStateEnum(t.State) {
		case elbtypes.TargetHealthStateEnumHealthy:
			st.Healthy++
		case elbtypes.TargetHealthStateEnumUnhealthy:
			st.Unhealthy++
		}
	}
	return st, nil
}
