// Package migrate moves an ECS service from CodeDeploy blue/green to ECS's
// own blue/green, linear or canary deployments, reusing its load balancer,
// target groups and listeners.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The migration follows AWS's guide "Migrate CodeDeploy blue/green
// deployments to Amazon ECS blue/green deployments", in-place, reusing the
// Elastic Load Balancing resources: no CodeDeploy deployment in flight; on
// an Application Load Balancer ECS moves traffic on listener rules, not on
// a listener's default action, and the rules must reach both target
// groups; the service gets deploymentController ECS, a strategy and bake
// time from the deployment group's configuration and waits, and
// loadBalancers[].advancedConfiguration naming the alternate target group,
// the production and test rules and a role that lets ECS change them.

type ecsAPI interface {
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

type codeDeployAPI interface {
	GetDeploymentConfig(ctx context.Context, in *codedeploy.GetDeploymentConfigInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentConfigOutput, error)
	ListDeployments(ctx context.Context, in *codedeploy.ListDeploymentsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
}

type elbAPI interface {
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, optFns ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	CreateRule(ctx context.Context, in *elb.CreateRuleInput, optFns ...func(*elb.Options)) (*elb.CreateRuleOutput, error)
	ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, optFns ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
}

// Clients are the AWS APIs a migration reads and changes.
type Clients struct {
	ECS        ecsAPI
	CodeDeploy codeDeployAPI
	ELB        elbAPI
}

// Input is the service to migrate, as the codedeploy model resolved it.
type Input struct {
	Cluster            string
	Service            *ecstypes.Service
	Application, Group string
	GroupInfo          *cdtypes.DeploymentGroupInfo
	// RoleARN is the IAM role ECS assumes to change the listener rules
	// (the ECS infrastructure role for load balancers).
	RoleARN string
}

// Plan is what a migration changes, and what it lacks.
type Plan struct {
	Cluster, Service, Application, Group string
	// Changes are the changes in order, one line each.
	Changes []string
	// Missing are the prerequisites that are not there; Apply refuses
	// while any is missing.
	Missing []string
	// After are the steps left to people once the migration is done.
	After  []string
	routes []*route
	update *ecs.UpdateServiceInput
	lb     *ecstypes.LoadBalancer
}

// route is the production or test listener and the rule ECS will use.
type route struct {
	what     string // production, test
	listener string
	// rule is the rule ECS shifts weights on (the listener ARN on an NLB);
	// create or modify say what Apply does to make it.
	rule   string
	create *elb.CreateRuleInput
	modify *elb.ModifyRuleInput
}

// BusyError is a CodeDeploy deployment in flight: the guide asks for none.
type BusyError struct{ DeploymentID, Group string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("CodeDeploy deployment %s of %s is in flight: the migration changes nothing while one runs", e.DeploymentID, e.Group)
}

// ExitCode is 1: nothing was migrated.
func (e *BusyError) ExitCode() int { return 1 }

// ErrorHint says what to do.
func (e *BusyError) ErrorHint() string {
	return "let it finish (or run rollback), then run migrate again"
}

var active = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking,
}

// Prepare reads what the migration needs and plans it; it changes nothing.
func Prepare(ctx context.Context, c Clients, in Input) (*Plan, error) {
	svc, g := in.Service, in.GroupInfo
	p := &Plan{Cluster: in.Cluster, Service: aws.ToString(svc.ServiceName), Application: in.Application, Group: in.Group}
	out, err := c.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(in.Application), DeploymentGroupName: aws.String(in.Group), IncludeOnlyStatuses: active})
	if err != nil {
		return nil, fmt.Errorf("listing the deployments of %s/%s: %w", in.Application, in.Group, err)
	}
	if len(out.Deployments) > 0 {
		return nil, &BusyError{DeploymentID: out.Deployments[0], Group: in.Application + "/" + in.Group}
	}
	live := 0
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) != "DRAINING" {
			live++
		}
	}
	if live > 1 {
		return nil, &BusyError{DeploymentID: "(a replacement task set is still up)", Group: in.Application + "/" + in.Group}
	}
	if g.LoadBalancerInfo == nil || len(g.LoadBalancerInfo.TargetGroupPairInfoList) == 0 || len(g.LoadBalancerInfo.TargetGroupPairInfoList[0].TargetGroups) != 2 {
		return nil, fmt.Errorf("deployment group %s/%s has no pair of target groups: it is not an ECS blue/green group", in.Application, in.Group)
	}
	pair := g.LoadBalancerInfo.TargetGroupPairInfoList[0]
	names := []string{aws.ToString(pair.TargetGroups[0].Name), aws.ToString(pair.TargetGroups[1].Name)}
	tgs, err := c.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: names})
	if err != nil {
		return nil, fmt.Errorf("describing target groups %s and %s: %w", names[0], names[1], err)
	}
	arnOf := map[string]string{}
	for _, tg := range tgs.TargetGroups {
		arnOf[aws.ToString(tg.TargetGroupName)] = aws.ToString(tg.TargetGroupArn)
	}
	pairARNs := [2]string{arnOf[names[0]], arnOf[names[1]]}
	if pairARNs[0] == "" || pairARNs[1] == "" {
		return nil, fmt.Errorf("target groups %s and %s of %s/%s: not both found", names[0], names[1], in.Application, in.Group)
	}

	if len(svc.LoadBalancers) == 0 {
		return nil, fmt.Errorf("ECS service %s has no load balancer", p.Service)
	}
	lb := svc.LoadBalancers[0]
	// The colours keep their names: blue is the group's first target
	// group, green its second, whichever serves production now.
	p.lb = &ecstypes.LoadBalancer{
		TargetGroupArn: aws.String(pairARNs[0]), ContainerName: lb.ContainerName, ContainerPort: lb.ContainerPort,
		AdvancedConfiguration: &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(pairARNs[1])},
	}
	var listeners []*route
	if r := pair.ProdTrafficRoute; r != nil && len(r.ListenerArns) > 0 {
		listeners = append(listeners, &route{what: "production", listener: r.ListenerArns[0]})
	}
	if r := pair.TestTrafficRoute; r != nil && len(r.ListenerArns) > 0 {
		listeners = append(listeners, &route{what: "test", listener: r.ListenerArns[0]})
	}
	if len(listeners) == 0 {
		return nil, fmt.Errorf("deployment group %s/%s has no production listener", in.Application, in.Group)
	}
	for _, r := range listeners {
		if err := planRoute(ctx, c.ELB, r, pairARNs, names); err != nil {
			return nil, err
		}
		p.routes = append(p.routes, r)
	}

	cfg, lines, missing, err := deploymentConfiguration(ctx, c.CodeDeploy, svc, g)
	if err != nil {
		return nil, err
	}
	p.Missing = append(p.Missing, missing...)
	if in.RoleARN == "" {
		p.Missing = append(p.Missing, "an IAM role ECS assumes to change the listener rules (advancedConfiguration.roleArn): the deployment group's CodeDeploy service role is not one; create a role ECS can assume with the AmazonECSInfrastructureRolePolicyForLoadBalancers policy and pass it with --role-arn")
	} else {
		p.lb.AdvancedConfiguration.RoleArn = aws.String(in.RoleARN)
	}
	p.update = &ecs.UpdateServiceInput{
		Cluster: aws.String(in.Cluster), Service: svc.ServiceName,
		DeploymentController:    &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		DeploymentConfiguration: cfg,
	}
	for _, r := range p.routes {
		switch {
		case r.create != nil:
			p.Changes = append(p.Changes, fmt.Sprintf("create a rule on the %s listener %s (priority %d, path /*) forwarding to %s, which takes over from the listener's default action: ECS moves traffic on a rule, not on a default action",
				r.what, short(r.listener), aws.ToInt32(r.create.Priority), weightsText(r.create.Actions, pairARNs, names)))
		case r.modify != nil:
			p.Changes = append(p.Changes, fmt.Sprintf("make the %s rule %s forward to both target groups (%s): ECS needs each rule to reach both", r.what, short(r.rule), weightsText(r.modify.Actions, pairARNs, names)))
		}
	}
	role := in.RoleARN
	if role == "" {
		role = "(missing)"
	}
	p.Changes = append(p.Changes, fmt.Sprintf("UpdateService %s/%s: deploymentController CODE_DEPLOY -> ECS", in.Cluster, p.Service))
	for _, l := range lines {
		p.Changes = append(p.Changes, "  deploymentConfiguration: "+l)
	}
	p.Changes = append(p.Changes, fmt.Sprintf("  loadBalancers[0]: target group %s (blue), alternate %s (green), container %s:%d, production rule %s%s, role %s",
		names[0], names[1], aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort), p.ruleText("production"), testText(p), role))
	p.After = []string{
		"deploy with the ecs model from now on (BG_MODE unset finds it; the first deployment after the migration puts the new revision on the target group that is not live)",
		fmt.Sprintf("the CodeDeploy application %s and deployment group %s no longer deploy %s: delete them once the ecs model has deployed", in.Application, in.Group, p.Service),
		"CodeDeploy lifecycle hooks (AppSpec hooks) do not carry over: give the service ECS lifecycle hooks (Lambda or PAUSE) for them",
	}
	return p, nil
}

func testText(p *Plan) string {
	if t := p.ruleText("test"); t != "" {
		return ", test rule " + t
	}
	return ""
}

// ruleText names a route's rule, or says it is created.
func (p *Plan) ruleText(what string) string {
	for _, r := range p.routes {
		if r.what != what {
			continue
		}
		if r.create != nil {
			return "(the new rule on " + short(r.listener) + ")"
		}
		return short(r.rule)
	}
	return ""
}

// planRoute finds the rule ECS can shift the listener's traffic on, or
// plans the rule or change it needs.
func planRoute(ctx context.Context, api elbAPI, r *route, pair [2]string, names []string) error {
	ls, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{r.listener}})
	if err != nil || len(ls.Listeners) == 0 {
		return fmt.Errorf("describing the %s listener %s: %w", r.what, r.listener, errOr(err, "not found"))
	}
	l := ls.Listeners[0]
	switch l.Protocol {
	case elbtypes.ProtocolEnumTcp, elbtypes.ProtocolEnumTls, elbtypes.ProtocolEnumUdp, elbtypes.ProtocolEnumTcpUdp:
		// A Network Load Balancer: ECS moves the listener itself.
		r.rule = r.listener
		return nil
	default:
	}
	rules, err := api.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(r.listener)})
	if err != nil {
		return fmt.Errorf("describing the rules of the %s listener %s: %w", r.what, r.listener, err)
	}
	used := map[int32]bool{}
	var def []elbtypes.Action
	for _, rule := range rules.Rules {
		if aws.ToBool(rule.IsDefault) {
			def = rule.Actions
			continue
		}
		if n, err := strconv.ParseInt(aws.ToString(rule.Priority), 10, 32); err == nil {
			used[int32(n)] = true
		}
		tgs := forwardTargets(rule.Actions)
		switch {
		case tgs[pair[0]] && tgs[pair[1]]:
			r.rule = aws.ToString(rule.RuleArn)
			return nil
		case tgs[pair[0]] || tgs[pair[1]]:
			r.rule = aws.ToString(rule.RuleArn)
			r.modify = &elb.ModifyRuleInput{RuleArn: rule.RuleArn, Actions: bothActions(rule.Actions, pair)}
			return nil
		}
	}
	if def == nil {
		def = l.DefaultActions
	}
	tgs := forwardTargets(def)
	if !tgs[pair[0]] && !tgs[pair[1]] {
		return fmt.Errorf("the %s listener %s forwards to neither %s nor %s: it is not the group's listener", r.what, r.listener, names[0], names[1])
	}
	prio := int32(1)
	for used[prio] {
		prio++
	}
	r.create = &elb.CreateRuleInput{
		ListenerArn: aws.String(r.listener), Priority: aws.Int32(prio), Actions: bothActions(def, pair),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
	}
	return nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// forwardTargets are the target groups a forward action reaches.
func forwardTargets(actions []elbtypes.Action) map[string]bool {
	out := map[string]bool{}
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.TargetGroupArn != nil {
			out[*a.TargetGroupArn] = true
		}
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				out[aws.ToString(tg.TargetGroupArn)] = true
			}
		}
	}
	return out
}

// bothActions is a forward to both target groups with the weights the
// actions give now (a target group they leave out at 0), so traffic goes
// where it went.
func bothActions(actions []elbtypes.Action, pair [2]string) []elbtypes.Action {
	weight := map[string]int32{}
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			for _, tg := range a.ForwardConfig.TargetGroups {
				weight[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
			}
		} else if a.TargetGroupArn != nil {
			weight[*a.TargetGroupArn] = 1
		}
		break
	}
	if weight[pair[0]] == 0 && weight[pair[1]] == 0 {
		weight[pair[0]] = 1
	}
	total := weight[pair[0]] + weight[pair[1]]
	b, g := weight[pair[0]]*100/total, int32(0)
	g = 100 - b
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(pair[0]), Weight: aws.Int32(b)}, {TargetGroupArn: aws.String(pair[1]), Weight: aws.Int32(g)},
	}}}}
}

func weightsText(actions []elbtypes.Action, pair [2]string, names []string) string {
	w := map[string]int32{}
	for _, a := range actions {
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
			}
		}
	}
	return fmt.Sprintf("%s %d, %s %d", names[0], w[pair[0]], names[1], w[pair[1]])
}

// deploymentConfiguration maps the group's configuration and waits to
// ECS's, with a line per setting.
func deploymentConfiguration(ctx context.Context, api codeDeployAPI, svc *ecstypes.Service, g *cdtypes.DeploymentGroupInfo) (*ecstypes.DeploymentConfiguration, []string, []string, error) {
	cfg := &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)}
	if c := svc.DeploymentConfiguration; c != nil {
		if c.MaximumPercent != nil {
			cfg.MaximumPercent = c.MaximumPercent
		}
		if c.MinimumHealthyPercent != nil {
			cfg.MinimumHealthyPercent = c.MinimumHealthyPercent
		}
	}
	var lines, missing []string
	name := aws.ToString(g.DeploymentConfigName)
	if name == "" {
		name = "CodeDeployDefault.ECSAllAtOnce"
	}
	dc, err := api.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String(name)})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading deployment configuration %s: %w", name, err)
	}
	var routing *cdtypes.TrafficRoutingConfig
	if dc.DeploymentConfigInfo != nil {
		routing = dc.DeploymentConfigInfo.TrafficRoutingConfig
	}
	switch {
	case routing != nil && routing.Type == cdtypes.TrafficRoutingTypeTimeBasedCanary && routing.TimeBasedCanary != nil:
		cfg.Strategy = ecstypes.DeploymentStrategyCanary
		pct, mins := float64(routing.TimeBasedCanary.CanaryPercentage), routing.TimeBasedCanary.CanaryInterval
		cfg.CanaryConfiguration = &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(pct), CanaryBakeTimeInMinutes: aws.Int32(mins)}
		lines = append(lines, fmt.Sprintf("strategy CANARY, %g%% then the rest after %d min (from %s)", pct, mins, name))
	case routing != nil && routing.Type == cdtypes.TrafficRoutingTypeTimeBasedLinear && routing.TimeBasedLinear != nil:
		cfg.Strategy = ecstypes.DeploymentStrategyLinear
		pct, mins := float64(routing.TimeBasedLinear.LinearPercentage), routing.TimeBasedLinear.LinearInterval
		if pct < 3 {
			missing = append(missing, fmt.Sprintf("%s moves %g%% a step; ECS's linear steps are 3%% to 100%%: choose a configuration with larger steps (BG_DEPLOYMENT_CONFIG does not apply here)", name, pct))
		}
		cfg.LinearConfiguration = &ecstypes.LinearConfiguration{StepPercent: aws.Float64(pct), StepBakeTimeInMinutes: aws.Int32(mins)}
		lines = append(lines, fmt.Sprintf("strategy LINEAR, %g%% every %d min (from %s)", pct, mins, name))
	default:
		cfg.Strategy = ecstypes.DeploymentStrategyBlueGreen
		lines = append(lines, fmt.Sprintf("strategy BLUE_GREEN, all traffic at once (from %s)", name))
	}
	bake := int32(0)
	if bg := g.BlueGreenDeploymentConfiguration; bg != nil && bg.TerminateBlueInstancesOnDeploymentSuccess != nil {
		bake = bg.TerminateBlueInstancesOnDeploymentSuccess.TerminationWaitTimeInMinutes
	}
	if bake > 1440 {
		lines = append(lines, fmt.Sprintf("bakeTimeInMinutes 1440 (the group's termination wait is %d min; ECS bakes at most 1440)", bake))
		bake = 1440
	} else {
		lines = append(lines, fmt.Sprintf("bakeTimeInMinutes %d (the group's termination wait)", bake))
	}
	cfg.BakeTimeInMinutes = aws.Int32(bake)
	if bg := g.BlueGreenDeploymentConfiguration; bg != nil && bg.DeploymentReadyOption != nil && bg.DeploymentReadyOption.ActionOnTimeout == cdtypes.DeploymentReadyActionStopDeployment {
		wait := bg.DeploymentReadyOption.WaitTimeInMinutes
		hook := ecstypes.DeploymentLifecycleHook{
			TargetType:      ecstypes.DeploymentLifecycleHookTargetTypePause,
			LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift},
		}
		text := "a PAUSE hook after test traffic (POST_TEST_TRAFFIC_SHIFT), for the group's Ready wait (STOP_DEPLOYMENT)"
		if wait > 0 {
			hook.TimeoutConfiguration = &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(min(wait, 20160)), Action: ecstypes.DeploymentLifecycleHookActionRollback}
			text += fmt.Sprintf(": rolls back after %d min without promote", min(wait, 20160))
		}
		cfg.LifecycleHooks = []ecstypes.DeploymentLifecycleHook{hook}
		lines = append(lines, "lifecycleHooks: "+text)
	}
	rollbackOn := func(e cdtypes.AutoRollbackEvent) bool {
		r := g.AutoRollbackConfiguration
		return r != nil && r.Enabled && slices.Contains(r.Events, e)
	}
	if a := g.AlarmConfiguration; a != nil && a.Enabled && len(a.Alarms) > 0 {
		var names []string
		for _, al := range a.Alarms {
			names = append(names, aws.ToString(al.Name))
		}
		cfg.Alarms = &ecstypes.DeploymentAlarms{AlarmNames: names, Enable: true, Rollback: rollbackOn(cdtypes.AutoRollbackEventDeploymentStopOnAlarm)}
		lines = append(lines, fmt.Sprintf("alarms %s (rollback %t)", strings.Join(names, ", "), cfg.Alarms.Rollback))
	}
	if rollbackOn(cdtypes.AutoRollbackEventDeploymentFailure) {
		cfg.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}
		lines = append(lines, "deploymentCircuitBreaker on, with rollback (the group rolls back failed deployments)")
	}
	return cfg, lines, missing, nil
}

func short(arn string) string {
	if i := strings.Index(arn, ":listener"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// Write prints the plan.
func (p *Plan) Write(w io.Writer, apply bool) {
	mode := "dry run: nothing is changed; run with --apply to carry it out"
	if apply {
		mode = "applying"
	}
	fmt.Fprintf(w, "migrate %s/%s from CodeDeploy (%s/%s) to ECS blue/green, reusing its load balancer, target groups and listeners (%s)\n", p.Cluster, p.Service, p.Application, p.Group, mode)
	fmt.Fprintln(w, "changes:")
	for i, c := range p.Changes {
		if strings.HasPrefix(c, "  ") {
			fmt.Fprintf(w, "     %s\n", strings.TrimSpace(c))
			continue
		}
		fmt.Fprintf(w, "  %d. %s\n", i+1-indented(p.Changes[:i]), c)
	}
	if len(p.Missing) > 0 {
		fmt.Fprintln(w, "missing prerequisites:")
		for _, m := range p.Missing {
			fmt.Fprintf(w, "  - %s\n", m)
		}
	}
	fmt.Fprintln(w, "afterwards:")
	for _, a := range p.After {
		fmt.Fprintf(w, "  - %s\n", a)
	}
}

func indented(cs []string) int {
	n := 0
	for _, c := range cs {
		if strings.HasPrefix(c, "  ") {
			n++
		}
	}
	return n
}

// MissingError is an --apply refused for missing prerequisites: exit 2,
// nothing changed.
type MissingError struct{ Missing []string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("the migration lacks %d prerequisite(s); nothing was changed: %s", len(e.Missing), strings.Join(e.Missing, "; "))
}

// ExitCode is 2: the input is not complete.
func (e *MissingError) ExitCode() int { return 2 }

// ErrorHint says what to do.
func (e *MissingError) ErrorHint() string {
	return "run migrate without --apply to see the plan, provide what is missing, then apply"
}

// Apply carries the plan out: the rules first (traffic keeps going where
// it went), then the service.
func (p *Plan) Apply(ctx context.Context, c Clients, progress func(string)) error {
	if len(p.Missing) > 0 {
		return &MissingError{Missing: p.Missing}
	}
	for _, r := range p.routes {
		switch {
		case r.create != nil:
			out, err := c.ELB.CreateRule(ctx, r.create)
			if err != nil {
				return fmt.Errorf("creating the %s rule on listener %s: %w (nothing else was changed)", r.what, r.listener, err)
			}
			r.rule = aws.ToString(out.Rules[0].RuleArn)
			progress(fmt.Sprintf("created the %s rule %s", r.what, r.rule))
		case r.modify != nil:
			if _, err := c.ELB.ModifyRule(ctx, r.modify); err != nil {
				return fmt.Errorf("changing the %s rule %s: %w (nothing else was changed)", r.what, r.rule, err)
			}
			progress(fmt.Sprintf("the %s rule %s now reaches both target groups", r.what, r.rule))
		}
		switch r.what {
		case "production":
			p.lb.AdvancedConfiguration.ProductionListenerRule = aws.String(r.rule)
		case "test":
			p.lb.AdvancedConfiguration.TestListenerRule = aws.String(r.rule)
		}
	}
	p.update.LoadBalancers = []ecstypes.LoadBalancer{*p.lb}
	if _, err := c.ECS.UpdateService(ctx, p.update); err != nil {
		return fmt.Errorf("updating ECS service %s to the ECS deployment controller: %w (the listener rules made above route as before and can stay)", p.Service, err)
	}
	progress(fmt.Sprintf("ECS service %s/%s now deploys with the ECS deployment controller (%s)", p.Cluster, p.Service, p.update.DeploymentConfiguration.Strategy))
	return nil
}
