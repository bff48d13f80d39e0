package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ecsNativeAPI is what the ecs model's snapshot reads from ECS.
type ecsNativeAPI interface {
	ecsAPI
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
}

// ECSReader reads the ecs model: one service that ECS deploys blue/green,
// linear or canary.
type ECSReader struct {
	ECS ecsNativeAPI
	ELB elbAPI
	Now func() time.Time
}

// ECSService names the service ECSReader reads; State is the service when
// the caller already read it in this observation.
type ECSService struct {
	Cluster, Service string
	State            *ecstypes.Service
}

// Read reads the ecs model. The colours are the service's two target
// groups: blue is loadBalancers[0].targetGroupArn, green its
// advancedConfiguration.alternateTargetGroupArn, whichever serves
// production now. It makes a fixed number of calls: one DescribeServices
// (none when given), one DescribeTargetGroups, one DescribeRules for the
// production and test rules, one DescribeTargetHealth per colour, one
// DescribeServiceRevisions for the revisions the service runs, one
// DescribeTaskDefinition per distinct task definition, and one
// DescribeServiceDeployments for the current service deployment.
func (r *ECSReader) Read(ctx context.Context, in ECSService) (*Snapshot, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	s := &Snapshot{Taken: now().UTC(), Model: "ecs", Cluster: in.Cluster, Service: in.Service}
	svc := in.State
	if svc == nil {
		out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(in.Cluster), Services: []string{in.Service}})
		if err != nil {
			return nil, fmt.Errorf("describing ECS service %s: %w", in.Service, err)
		}
		if len(out.Services) == 0 {
			return nil, fmt.Errorf("ECS service %s not found in cluster %s", in.Service, in.Cluster)
		}
		svc = &out.Services[0]
	}
	var prodRule, testRule string
	for _, lb := range svc.LoadBalancers {
		if a := lb.AdvancedConfiguration; a != nil {
			s.Colours = []ColourState{
				{Colour: Blue, TargetGroupARN: aws.ToString(lb.TargetGroupArn)},
				{Colour: Green, TargetGroupARN: aws.ToString(a.AlternateTargetGroupArn)},
			}
			prodRule, testRule = aws.ToString(a.ProductionListenerRule), aws.ToString(a.TestListenerRule)
			break
		}
	}
	if len(s.Colours) == 0 || svc.DeploymentConfiguration == nil {
		return nil, fmt.Errorf("ECS service %s has no load balancer with advancedConfiguration: it is not an ECS blue/green service", in.Service)
	}
	// Group carries what the service's deployment configuration says, as
	// it does a CodeDeploy group's: the strategy, the production and test
	// listener rules ECS moves traffic on, the alarms it watches.
	s.Group = &Group{DeploymentConfig: "ECS " + string(svc.DeploymentConfiguration.Strategy), ProdListener: prodRule, TestListener: testRule}
	if a := svc.DeploymentConfiguration.Alarms; a != nil && a.Enable {
		s.Group.Alarms = a.AlarmNames
	}

	tgs, err := r.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{s.Colours[0].TargetGroupARN, s.Colours[1].TargetGroupARN}})
	if err != nil {
		return nil, fmt.Errorf("describing the target groups of %s: %w", in.Service, err)
	}
	for _, tg := range tgs.TargetGroups {
		for i := range s.Colours {
			if s.Colours[i].TargetGroupARN == aws.ToString(tg.TargetGroupArn) {
				s.Colours[i].TargetGroup = aws.ToString(tg.TargetGroupName)
			}
		}
	}
	rules := []string{prodRule}
	if testRule != "" {
		rules = append(rules, testRule)
	}
	ro, err := r.ELB.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: rules})
	if err != nil {
		return nil, fmt.Errorf("describing the listener rules of %s: %w", in.Service, err)
	}
	for _, rule := range ro.Rules {
		weights := ForwardWeights(rule.Actions)
		for i := range s.Colours {
			pct := weights[s.Colours[i].TargetGroupARN]
			switch aws.ToString(rule.RuleArn) {
			case prodRule:
				s.Colours[i].ProductionWeight = pct
			case testRule:
				s.Colours[i].TestWeight = pct
			}
		}
	}
	if err := r.readRevisions(ctx, s, svc); err != nil {
		return nil, err
	}
	for i := range s.Colours {
		if err := ReadHealth(ctx, r.ELB, &s.Colours[i]); err != nil {
			return nil, err
		}
	}
	if arn := aws.ToString(svc.CurrentServiceDeployment); arn != "" {
		out, err := r.ECS.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
		if err != nil {
			return nil, fmt.Errorf("reading service deployment %s: %w", arn, err)
		}
		if len(out.ServiceDeployments) > 0 {
			d := out.ServiceDeployments[0]
			b := &Deployment{ID: arn, Status: string(d.Status), Created: aws.ToTime(d.CreatedAt), Ended: aws.ToTime(d.FinishedAt)}
			switch d.Status {
			case ecstypes.ServiceDeploymentStatusSuccessful:
				s.LastSuccessful = b
			case ecstypes.ServiceDeploymentStatusStopped, ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
			default:
				if d.LifecycleStage != "" {
					b.Description = "lifecycle stage " + string(d.LifecycleStage)
				}
				s.InFlight = b
			}
		}
	}
	s.Live = live(s)
	return s, nil
}

// readRevisions puts each revision the service runs on the colour of its
// target group, with its task counts and task definition.
func (r *ECSReader) readRevisions(ctx context.Context, s *Snapshot, svc *ecstypes.Service) error {
	var arns []string
	counts := map[string]ecstypes.ServiceCurrentRevisionSummary{}
	for _, rev := range svc.CurrentServiceRevisions {
		if a := aws.ToString(rev.Arn); a != "" && len(arns) < 20 {
			arns = append(arns, a)
			counts[a] = rev
		}
	}
	taskDefs := map[string][]Container{}
	if len(arns) > 0 {
		out, err := r.ECS.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: arns})
		if err != nil {
			return fmt.Errorf("reading the service revisions of %s: %w", aws.ToString(svc.ServiceName), err)
		}
		for _, rev := range out.ServiceRevisions {
			if len(rev.LoadBalancers) == 0 {
				continue
			}
			tg := aws.ToString(rev.LoadBalancers[0].TargetGroupArn)
			for i := range s.Colours {
				c := &s.Colours[i]
				if c.TargetGroupARN != tg {
					continue
				}
				n := counts[aws.ToString(rev.ServiceRevisionArn)]
				status := "ACTIVE"
				if c.ProductionWeight >= 50 {
					status = "PRIMARY"
				}
				c.TaskSet = &TaskSet{ID: shortARN(aws.ToString(rev.ServiceRevisionArn)), Status: status, Desired: n.RequestedTaskCount, Running: n.RunningTaskCount, Pending: n.PendingTaskCount}
				c.TaskDefinition = aws.ToString(rev.TaskDefinition)
				taskDefs[c.TaskDefinition] = nil
			}
		}
	}
	if len(taskDefs) == 0 && aws.ToString(svc.TaskDefinition) != "" {
		// No revision named a colour: the service's task definition runs
		// where production goes.
		for i := range s.Colours {
			if s.Colours[i].ProductionWeight >= 100 {
				s.Colours[i].TaskDefinition = aws.ToString(svc.TaskDefinition)
				taskDefs[s.Colours[i].TaskDefinition] = nil
			}
		}
	}
	if err := (&Reader{ECS: r.ECS}).describeTaskDefs(ctx, taskDefs); err != nil {
		return err
	}
	for i := range s.Colours {
		s.Colours[i].Containers = taskDefs[s.Colours[i].TaskDefinition]
	}
	return nil
}

func shortARN(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}
