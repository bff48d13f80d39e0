package snapshot

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// IsRule reports whether an ARN names a listener rule rather than a listener.
func IsRule(arn string) bool { return strings.Contains(arn, ":listener-rule/") }

// ReadListener reads the listener model: two ECS services, blue and green,
// each behind its own target group, and the production (and test) route
// that forwards to them. Calls: one DescribeServices for both services, one
// DescribeTargetGroups, one DescribeListeners for the routes that are
// a listener's rules (the route that really carries its traffic, see
// carrying) or the rule given,
// one DescribeTaskDefinition per distinct task definition, one
// DescribeTargetHealth per colour and one DescribeTags.
func (r *Reader) ReadListener(ctx context.Context, cluster, blue, green, prodRoute, testRoute string) (*Snapshot, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	s := &Snapshot{
		Taken: now().UTC(), Model: "listener", Cluster: cluster, Service: blue + "/" + green,
		Routes:  &Routes{Production: prodRoute, Test: testRoute},
		Colours: []ColourState{{Colour: Blue, Service: blue}, {Colour: Green, Service: green}},
	}
	out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{blue, green}})
	if err != nil {
		return nil, fmt.Errorf("describing ECS services %s and %s: %w", blue, green, err)
	}
	taskDefs := map[string][]Container{}
	for i := range s.Colours {
		c := &s.Colours[i]
		svc := findService(out.Services, c.Service)
		if svc == nil {
			return nil, fmt.Errorf("ECS service %s (%s) not found in cluster %s", c.Service, c.Colour, cluster)
		}
		if len(svc.LoadBalancers) == 0 || svc.LoadBalancers[0].TargetGroupArn == nil {
			return nil, fmt.Errorf("ECS service %s (%s) has no target group: the listener model needs each colour behind its own", c.Service, c.Colour)
		}
		c.TargetGroupARN = aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
		c.TaskDefinition = aws.ToString(svc.TaskDefinition)
		c.ServiceState = svc
		taskDefs[c.TaskDefinition] = nil
		c.TaskSet = primaryDeployment(svc)
		if d := rolloutInProgress(svc); d != nil && s.InFlight == nil {
			s.InFlight = d
		}
	}
	if s.Colours[0].TargetGroupARN == s.Colours[1].TargetGroupARN {
		return nil, fmt.Errorf("services %s and %s share target group %s: each colour needs its own", blue, green, s.Colours[0].TargetGroupARN)
	}
	arns := []string{s.Colours[0].TargetGroupARN, s.Colours[1].TargetGroupARN}
	tgs, err := r.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: arns})
	if err != nil {
		return nil, fmt.Errorf("describing the colours' target groups: %w", err)
	}
	for _, tg := range tgs.TargetGroups {
		for i := range s.Colours {
			if s.Colours[i].TargetGroupARN == aws.ToString(tg.TargetGroupArn) {
				s.Colours[i].TargetGroup = aws.ToString(tg.TargetGroupName)
			}
		}
	}
	groups := []string{s.Colours[0].TargetGroupARN, s.Colours[1].TargetGroupARN}
	s.Routes.Actions = map[string][]elbtypes.Action{}
	var prod, test map[string]float64
	for _, rt := range []struct {
		route   *string
		weights *map[string]float64
	}{{&s.Routes.Production, &prod}, {&s.Routes.Test, &test}} {
		if *rt.route == "" {
			continue
		}
		route, actions, err := carrying(ctx, r.ELB, *rt.route, groups)
		if err != nil {
			return nil, err
		}
		*rt.route, *rt.weights = route, ForwardWeights(actions)
		s.Routes.Actions[route] = actions
	}
	for i := range s.Colours {
		s.Colours[i].ProductionWeight = prod[s.Colours[i].TargetGroupARN]
		if s.Routes.Test != "" {
			s.Colours[i].TestWeight = test[s.Colours[i].TargetGroupARN]
		}
	}
	if err := r.describeTaskDefs(ctx, taskDefs); err != nil {
		return nil, err
	}
	for i := range s.Colours {
		s.Colours[i].Containers = taskDefs[s.Colours[i].TaskDefinition]
		if err := r.readHealth(ctx, &s.Colours[i]); err != nil {
			return nil, err
		}
	}
	tags, err := r.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: arns})
	if err != nil {
		return nil, fmt.Errorf("reading the target groups' tags: %w", err)
	}
	for _, d := range tags.TagDescriptions {
		for i := range s.Colours {
			if s.Colours[i].TargetGroupARN != aws.ToString(d.ResourceArn) {
				continue
			}
			for _, t := range d.Tags {
				switch aws.ToString(t.Key) {
				case "IsProduction":
					s.Colours[i].IsProduction = isProduction(aws.ToString(t.Value))
				case TagOrigin:
					c := &s.Colours[i]
					c.Origin = aws.ToString(t.Value)
					if i := strings.LastIndex(c.Origin, " pipeline "); i > 0 {
						c.Release = &Release{Pipeline: c.Origin[i+len(" pipeline "):]}
					}
				}
			}
		}
	}
	s.Live = live(s)
	return s, nil
}

// carrying is the route that really carries a listener's traffic to the
// colours, and its actions: given a rule, that rule; given a listener, its
// first rule by priority that forwards to either colour's target group (a
// swap of rules, as awslabs' blue_green_flip.py does, moves production
// without touching the default action), else the listener itself with its
// default action. One DescribeRules either way: a listener's rules include
// its default rule, which carries the default actions.
func carrying(ctx context.Context, api RouteReader, route string, groups []string) (string, []elbtypes.Action, error) {
	if IsRule(route) {
		actions, err := RouteActions(ctx, api, route)
		return route, actions, err
	}
	out, err := api.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(route)})
	if err != nil {
		return "", nil, fmt.Errorf("describing the rules of listener %s: %w", route, err)
	}
	var defaults []elbtypes.Action
	rules := make([]elbtypes.Rule, 0, len(out.Rules))
	for _, r := range out.Rules {
		if aws.ToBool(r.IsDefault) {
			defaults = r.Actions
			continue
		}
		rules = append(rules, r)
	}
	sort.SliceStable(rules, func(i, j int) bool { return priority(rules[i]) < priority(rules[j]) })
	for _, r := range rules {
		w := ForwardWeights(r.Actions)
		for _, g := range groups {
			if _, ok := w[g]; ok && g != "" {
				return aws.ToString(r.RuleArn), r.Actions, nil
			}
		}
	}
	return route, defaults, nil
}

// priority is a rule's priority as a number (the default rule sorts last).
func priority(r elbtypes.Rule) int {
	n, err := strconv.Atoi(aws.ToString(r.Priority))
	if err != nil {
		return int(^uint(0) >> 1)
	}
	return n
}

// TagOrigin is the target group tag the listener model's deploy writes on
// the colour it brings up: the pipeline that put its release there
// ("<project> pipeline <id>"), read back by the outdated-deployment check
// and shown by status. A target group tag because the snapshot already
// reads those tags in its one DescribeTags, and the listener model already
// writes them (IsProduction): no new call or permission.
const TagOrigin = "ecs-bluegreen:origin"

// isProduction reads an IsProduction tag without regard to case: awslabs'
// sample writes True and False, we write true and false.
func isProduction(v string) string {
	switch {
	case strings.EqualFold(v, "true"):
		return "true"
	case strings.EqualFold(v, "false"):
		return "false"
	}
	return v
}

// RouteReader reads listeners and rules.
type RouteReader interface {
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
}

// RouteActions reads the actions of a route: a listener's default actions or
// a rule's actions.
func RouteActions(ctx context.Context, api RouteReader, arn string) ([]elbtypes.Action, error) {
	actions, err := routesActions(ctx, api, arn)
	return actions[arn], err
}

// routesActions reads several routes in as few calls as the API allows: one
// DescribeListeners for the listeners, one DescribeRules for the rules.
// Empty ARNs are skipped; a route that is not found is an error.
func routesActions(ctx context.Context, api RouteReader, arns ...string) (map[string][]elbtypes.Action, error) {
	var listeners, rules []string
	for _, arn := range arns {
		switch {
		case arn == "":
		case IsRule(arn):
			rules = append(rules, arn)
		default:
			listeners = append(listeners, arn)
		}
	}
	out := map[string][]elbtypes.Action{}
	if len(listeners) > 0 {
		ls, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: listeners})
		if err != nil {
			return nil, fmt.Errorf("describing listeners %s: %w", strings.Join(listeners, ", "), err)
		}
		for _, l := range ls.Listeners {
			out[aws.ToString(l.ListenerArn)] = l.DefaultActions
		}
		// An answer without ARNs (a single listener asked for) still counts.
		if len(listeners) == 1 && len(ls.Listeners) == 1 {
			out[listeners[0]] = ls.Listeners[0].DefaultActions
		}
	}
	if len(rules) > 0 {
		rs, err := api.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: rules})
		if err != nil {
			return nil, fmt.Errorf("describing listener rules %s: %w", strings.Join(rules, ", "), err)
		}
		for _, r := range rs.Rules {
			out[aws.ToString(r.RuleArn)] = r.Actions
		}
		if len(rules) == 1 && len(rs.Rules) == 1 {
			out[rules[0]] = rs.Rules[0].Actions
		}
	}
	for _, arn := range append(listeners, rules...) {
		if _, ok := out[arn]; !ok {
			return nil, fmt.Errorf("route %s not found", arn)
		}
	}
	return out, nil
}

func findService(svcs []ecstypes.Service, name string) *ecstypes.Service {
	for i := range svcs {
		if aws.ToString(svcs[i].ServiceName) == name || aws.ToString(svcs[i].ServiceArn) == name {
			return &svcs[i]
		}
	}
	return nil
}

// primaryDeployment describes an ECS-controlled service's tasks by its
// PRIMARY deployment, in the shape the codedeploy model's task sets have.
func primaryDeployment(svc *ecstypes.Service) *TaskSet {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return &TaskSet{
				ID: aws.ToString(d.Id), Status: "PRIMARY", Desired: d.DesiredCount, Running: d.RunningCount, Pending: d.PendingCount,
				Stability: string(d.RolloutState),
			}
		}
	}
	return &TaskSet{ID: aws.ToString(svc.ServiceName), Status: aws.ToString(svc.Status), Desired: svc.DesiredCount, Running: svc.RunningCount, Pending: svc.PendingCount}
}

// rolloutInProgress is a service's rolling update still under way.
func rolloutInProgress(svc *ecstypes.Service) *Deployment {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" && d.RolloutState == ecstypes.DeploymentRolloutStateInProgress {
			return &Deployment{ID: aws.ToString(d.Id), Status: string(d.RolloutState), Description: "rolling update of " + aws.ToString(svc.ServiceName), Created: aws.ToTime(d.CreatedAt)}
		}
	}
	return nil
}

// describeTaskDefs fills in the containers of each task definition.
func (r *Reader) describeTaskDefs(ctx context.Context, taskDefs map[string][]Container) error {
	arns := make([]string, 0, len(taskDefs))
	for arn := range taskDefs {
		if arn != "" {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, arn := range arns {
		if cs, ok := r.containers[arn]; ok {
			taskDefs[arn] = cs
			continue
		}
		out, err := r.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("describing task definition %s: %w", arn, err)
		}
		var cs []Container
		for _, cd := range out.TaskDefinition.ContainerDefinitions {
			cs = append(cs, Container{Name: aws.ToString(cd.Name), Image: aws.ToString(cd.Image)})
		}
		taskDefs[arn] = cs
		if r.containers == nil {
			r.containers = map[string][]Container{}
		}
		r.containers[arn] = cs
	}
	return nil
}
