package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

type ecsAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

type elbAPI interface {
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, optFns ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
}

type codeDeployAPI interface {
	GetDeploymentGroup(ctx context.Context, in *codedeploy.GetDeploymentGroupInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentGroupOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	BatchGetDeployments(ctx context.Context, in *codedeploy.BatchGetDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentsOutput, error)
	BatchGetDeploymentTargets(ctx context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error)
}

// Reader reads snapshots. One Reader serves a run: a task definition
// revision never changes, so each is described once however many
// observations show it (a switch's before and after).
type Reader struct {
	ECS ecsAPI
	ELB elbAPI
	CD  codeDeployAPI
	Now func() time.Time
	// History is how many of the group's last deployments to read
	// (BG_HISTORY); 0 reads only the one in flight.
	History int

	mu         sync.Mutex
	containers map[string][]Container // task definition ARN -> its containers
}

// CodeDeployService names the service ReadCodeDeploy reads. State and
// GroupInfo are what the caller already read in this observation (deploy's
// Resolve reads both); nil ones are read here, so no resource is read twice.
type CodeDeployService struct {
	Cluster, Service, Application, Group string
	State                                *ecstypes.Service
	GroupInfo                            *cdtypes.DeploymentGroupInfo
}

// ReadCodeDeploy reads the codedeploy model: one CODE_DEPLOY service, the two
// target groups of its deployment group, and the production and test
// listeners. It makes a fixed number of calls whatever the state: one
// DescribeServices and one GetDeploymentGroup (none when the caller gave
// them), one DescribeTargetGroups, one DescribeListeners, one
// DescribeTargetHealth per colour, one DescribeTaskDefinition per distinct
// task definition, and one ListDeployments plus, with a deployment in
// flight, one BatchGetDeployments. With History set, the deployments are
// read as readHistory says: one ListDeployments, one BatchGetDeployments
// and one BatchGetDeploymentTargets.
func (r *Reader) ReadCodeDeploy(ctx context.Context, in CodeDeployService) (*Snapshot, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	cluster, service, application, group := in.Cluster, in.Service, in.Application, in.Group
	s := &Snapshot{Taken: now().UTC(), Model: "codedeploy", Cluster: cluster, Service: service}

	svc := in.State
	if svc == nil {
		svcOut, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		if err != nil {
			return nil, fmt.Errorf("describing ECS service %s: %w", service, err)
		}
		if len(svcOut.Services) == 0 {
			return nil, fmt.Errorf("ECS service %s not found in cluster %s", service, cluster)
		}
		svc = &svcOut.Services[0]
	}

	info := in.GroupInfo
	if info == nil {
		g, err := r.CD.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group)})
		if err != nil {
			return nil, fmt.Errorf("reading deployment group %s/%s: %w", application, group, err)
		}
		info = g.DeploymentGroupInfo
	}
	s.Group = &Group{Application: application, Name: group, DeploymentConfig: aws.ToString(info.DeploymentConfigName)}
	if info.AlarmConfiguration != nil && info.AlarmConfiguration.Enabled {
		for _, a := range info.AlarmConfiguration.Alarms {
			s.Group.Alarms = append(s.Group.Alarms, aws.ToString(a.Name))
		}
	}
	if info.LastSuccessfulDeployment != nil && info.LastSuccessfulDeployment.DeploymentId != nil {
		s.LastSuccessful = &Deployment{
			ID: aws.ToString(info.LastSuccessfulDeployment.DeploymentId), Status: string(info.LastSuccessfulDeployment.Status),
			Created: aws.ToTime(info.LastSuccessfulDeployment.CreateTime), Ended: aws.ToTime(info.LastSuccessfulDeployment.EndTime),
		}
	}
	if info.LoadBalancerInfo == nil || len(info.LoadBalancerInfo.TargetGroupPairInfoList) == 0 {
		return nil, fmt.Errorf("deployment group %s/%s has no target group pair: it is not an ECS blue/green group", application, group)
	}
	pair := info.LoadBalancerInfo.TargetGroupPairInfoList[0]
	if len(pair.TargetGroups) != 2 {
		return nil, fmt.Errorf("deployment group %s/%s has %d target groups, want 2", application, group, len(pair.TargetGroups))
	}
	if pair.ProdTrafficRoute != nil && len(pair.ProdTrafficRoute.ListenerArns) > 0 {
		s.Group.ProdListener = pair.ProdTrafficRoute.ListenerArns[0]
	}
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) > 0 {
		s.Group.TestListener = pair.TestTrafficRoute.ListenerArns[0]
	}
	names := []string{aws.ToString(pair.TargetGroups[0].Name), aws.ToString(pair.TargetGroups[1].Name)}
	s.Colours = []ColourState{{Colour: Blue, TargetGroup: names[0]}, {Colour: Green, TargetGroup: names[1]}}

	tgs, err := r.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: names})
	if err != nil {
		return nil, fmt.Errorf("describing target groups %s and %s: %w", names[0], names[1], err)
	}
	for _, tg := range tgs.TargetGroups {
		for i := range s.Colours {
			if s.Colours[i].TargetGroup == aws.ToString(tg.TargetGroupName) {
				s.Colours[i].TargetGroupARN = aws.ToString(tg.TargetGroupArn)
			}
		}
	}

	if err := r.readListeners(ctx, s); err != nil {
		return nil, err
	}
	if err := r.readTaskSets(ctx, s, *svc); err != nil {
		return nil, err
	}
	for i := range s.Colours {
		if err := r.readHealth(ctx, &s.Colours[i]); err != nil {
			return nil, err
		}
	}
	if r.History > 0 {
		if err := r.readHistory(ctx, s, application, group); err != nil {
			return nil, err
		}
	} else if err := r.readInFlight(ctx, s, application, group); err != nil {
		return nil, err
	}
	s.Live = live(s)
	return s, nil
}

func (r *Reader) readListeners(ctx context.Context, s *Snapshot) error {
	arns := []string{s.Group.ProdListener}
	if s.Group.TestListener != "" {
		arns = append(arns, s.Group.TestListener)
	}
	out, err := r.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: arns})
	if err != nil {
		return fmt.Errorf("describing listeners: %w", err)
	}
	for _, l := range out.Listeners {
		weights := ForwardWeights(l.DefaultActions)
		for i := range s.Colours {
			pct := weights[s.Colours[i].TargetGroupARN]
			switch aws.ToString(l.ListenerArn) {
			case s.Group.ProdListener:
				s.Colours[i].ProductionWeight = pct
			case s.Group.TestListener:
				s.Colours[i].TestWeight = pct
			}
		}
	}
	return nil
}

// ForwardWeights gives each target group's share of a listener's forward
// action in percent. ForwardConfig is read first; a bare TargetGroupArn gets
// 100 (aws-facts §4.2).
func ForwardWeights(actions []elbtypes.Action) map[string]float64 {
	out := map[string]float64{}
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			var total int32
			for _, tg := range a.ForwardConfig.TargetGroups {
				total += aws.ToInt32(tg.Weight)
			}
			for _, tg := range a.ForwardConfig.TargetGroups {
				if total > 0 {
					out[aws.ToString(tg.TargetGroupArn)] = float64(aws.ToInt32(tg.Weight)) * 100 / float64(total)
				}
			}
			return out
		}
		if a.TargetGroupArn != nil {
			out[aws.ToString(a.TargetGroupArn)] = 100
			return out
		}
	}
	return out
}

func (r *Reader) readTaskSets(ctx context.Context, s *Snapshot, svc ecstypes.Service) error {
	taskDefs := map[string][]Container{}
	for _, ts := range svc.TaskSets {
		tgARN := ""
		if len(ts.LoadBalancers) > 0 {
			tgARN = aws.ToString(ts.LoadBalancers[0].TargetGroupArn)
		}
		for i := range s.Colours {
			c := &s.Colours[i]
			if c.TargetGroupARN == "" || c.TargetGroupARN != tgARN {
				continue
			}
			// A colour can briefly have two task sets (a draining one); the
			// PRIMARY or the newest ACTIVE one describes it.
			if c.TaskSet != nil && c.TaskSet.Status == "PRIMARY" {
				continue
			}
			c.TaskSet = &TaskSet{
				ID: aws.ToString(ts.Id), Status: aws.ToString(ts.Status), Desired: ts.ComputedDesiredCount,
				Running: ts.RunningCount, Pending: ts.PendingCount, Stability: string(ts.StabilityStatus),
			}
			if aws.ToString(ts.StartedBy) == "CODE_DEPLOY" {
				c.TaskSet.DeploymentID = aws.ToString(ts.ExternalId)
			}
			c.TaskDefinition = aws.ToString(ts.TaskDefinition)
			taskDefs[c.TaskDefinition] = nil
		}
	}
	if err := r.describeTaskDefs(ctx, taskDefs); err != nil {
		return err
	}
	for i := range s.Colours {
		s.Colours[i].Containers = taskDefs[s.Colours[i].TaskDefinition]
	}
	return nil
}

func (r *Reader) readHealth(ctx context.Context, c *ColourState) error {
	return ReadHealth(ctx, r.ELB, c)
}

// HealthReader reads a target group's target health.
type HealthReader interface {
	DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
}

// ReadHealth reads one colour's target health into c (Healthy, Unhealthy,
// Other, counted afresh): the one reading of target health, for status,
// verify and the switch's gates alike.
func ReadHealth(ctx context.Context, api HealthReader, c *ColourState) error {
	c.Healthy, c.Unhealthy, c.Other = 0, nil, 0
	if c.TargetGroupARN == "" {
		return nil
	}
	out, err := api.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(c.TargetGroupARN)})
	if err != nil {
		return fmt.Errorf("reading target health of %s: %w", c.TargetGroup, err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if d.TargetHealth == nil {
			continue
		}
		switch d.TargetHealth.State {
		case elbtypes.TargetHealthStateEnumHealthy:
			c.Healthy++
		case elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthStateEnumUnhealthyDraining, elbtypes.TargetHealthStateEnumUnavailable:
			t := Target{State: string(d.TargetHealth.State), Reason: string(d.TargetHealth.Reason), Description: aws.ToString(d.TargetHealth.Description)}
			if d.Target != nil {
				t.ID, t.Port = aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)
			}
			c.Unhealthy = append(c.Unhealthy, t)
		case elbtypes.TargetHealthStateEnumInitial, elbtypes.TargetHealthStateEnumDraining, elbtypes.TargetHealthStateEnumUnused:
			c.Other++
		default:
			c.Other++
		}
	}
	return nil
}

var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking,
}

func (r *Reader) readInFlight(ctx context.Context, s *Snapshot, application, group string) error {
	out, err := r.CD.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group), IncludeOnlyStatuses: activeStatuses,
	})
	if err != nil {
		return fmt.Errorf("listing deployments of %s/%s: %w", application, group, err)
	}
	if len(out.Deployments) == 0 {
		return nil
	}
	d, err := r.CD.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: out.Deployments[:1]})
	if err != nil {
		return fmt.Errorf("reading deployment %s: %w", out.Deployments[0], err)
	}
	if len(d.DeploymentsInfo) == 0 {
		return errors.New("BatchGetDeployments returned no deployment for " + out.Deployments[0])
	}
	info := d.DeploymentsInfo[0]
	s.InFlight = &Deployment{
		ID: aws.ToString(info.DeploymentId), Status: string(info.Status), Description: aws.ToString(info.Description),
		Created: aws.ToTime(info.CreateTime),
	}
	return nil
}

// live is the colour with all production traffic, or "" while it is split.
func live(s *Snapshot) Colour {
	for _, c := range s.Colours {
		if c.ProductionWeight >= 100 {
			return c.Colour
		}
	}
	return ""
}
