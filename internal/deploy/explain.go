package deploy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// Interfaces of the reads that explain a failure.
type (
	taskReader interface {
		ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
		DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	}
	targetHealthReader interface {
		DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
		DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
	}
	alarmReader interface {
		DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
	}
)

// healthSampleEvery spaces the target health reads while the replacement
// starts: enough to catch why targets fail, few enough to cost nothing.
const healthSampleEvery = 15 * time.Second

// maxDetails bounds the explanation: the first few reasons say it all.
const maxDetails = 8

// Evidence gathers what explains a failed deployment, which CodeDeploy's own
// message ("the ECS service cannot reach a steady state") does not: why ECS
// stopped the replacement's tasks, why the load balancer found its targets
// unhealthy, and which alarm fired. Target health is sampled while the
// replacement starts, because after the rollback its target group is empty.
type Evidence struct {
	ECS              taskReader
	ELB              targetHealthReader
	CloudWatch       alarmReader
	Cluster, Service string
	// Alarms are the deployment group's alarm names.
	Alarms []string
	// Fed is true when the watcher's follower passes its reads of the
	// replacement to ObserveReplacement: Observe then reads no target health
	// of its own, and nothing is read twice in one observation.
	Fed bool

	replacement  string // the replacement task set's id (ecs-svc/...)
	targetGroup  string // its target group's name
	tgARNs       map[string]string
	lastSample   time.Time
	unhealthy    map[string]string // target -> "Reason: Description"
	unhealthyTGs map[string]string // target -> target group name
}

// Observe follows the deployment: it notes the replacement task set and,
// while that has no production traffic yet, samples its target health.
func (e *Evidence) Observe(ctx context.Context, o monitor.Observation) {
	if o.Target == nil {
		return
	}
	for _, ts := range o.Target.TaskSets {
		if ts.Label != cdtypes.TargetLabelGreen {
			continue
		}
		e.replacement, e.targetGroup = ts.ID, ts.TargetGroup
		starting := ts.Running < ts.Desired || ts.Pending > 0
		if starting && !e.Fed && o.At.Sub(e.lastSample) >= healthSampleEvery {
			e.lastSample = o.At
			e.sampleHealth(ctx)
		}
	}
}

// ObserveReplacement takes the unhealthy targets from one of the watcher's
// reads of the replacement (monitor.Replacement.OnRead).
func (e *Evidence) ObserveReplacement(r snapshot.Replacement) {
	if e.targetGroup != "" && r.TargetGroupARN != "" {
		if e.tgARNs == nil {
			e.tgARNs = map[string]string{}
		}
		e.tgARNs[e.targetGroup] = r.TargetGroupARN
	}
	for _, t := range r.Targets {
		if t.State == string(elbtypes.TargetHealthStateEnumUnhealthy) {
			e.noteUnhealthy(fmt.Sprintf("%s:%d", t.ID, t.Port), t.Reason, t.Description)
		}
	}
}

func (e *Evidence) noteUnhealthy(target, reason, description string) {
	if e.unhealthy == nil {
		e.unhealthy, e.unhealthyTGs = map[string]string{}, map[string]string{}
	}
	e.unhealthy[target] = strings.TrimSuffix(reason+": "+description, ": ")
	e.unhealthyTGs[target] = e.targetGroup
}

func (e *Evidence) sampleHealth(ctx context.Context) {
	if e.ELB == nil || e.targetGroup == "" {
		return
	}
	arn, ok := e.tgARNs[e.targetGroup]
	if !ok {
		out, err := e.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{e.targetGroup}})
		if err != nil || len(out.TargetGroups) == 0 {
			return // evidence is best effort; the deployment's own state decides
		}
		arn = aws.ToString(out.TargetGroups[0].TargetGroupArn)
		if e.tgARNs == nil {
			e.tgARNs = map[string]string{}
		}
		e.tgARNs[e.targetGroup] = arn
	}
	c := snapshot.ColourState{TargetGroup: e.targetGroup, TargetGroupARN: arn}
	if err := snapshot.ReadHealth(ctx, e.ELB, &c); err != nil {
		return
	}
	for _, t := range c.Unhealthy {
		if t.State == string(elbtypes.TargetHealthStateEnumUnhealthy) && t.ID != "" {
			e.noteUnhealthy(fmt.Sprintf("%s:%d", t.ID, t.Port), t.Reason, t.Description)
		}
	}
}

// Explain returns one line per reason, most telling first: stopped tasks,
// unhealthy targets, alarms in ALARM. Reads that fail are left out: the
// explanation adds to the deployment's error, it never replaces it.
func (e *Evidence) Explain(ctx context.Context) []string {
	// A last look: the replacement's targets may still be registered.
	e.sampleHealth(ctx)
	var lines []string
	lines = append(lines, e.stoppedTasks(ctx)...)
	lines = append(lines, e.unhealthyTargets()...)
	lines = append(lines, e.firingAlarms(ctx)...)
	if len(lines) > maxDetails {
		lines = append(lines[:maxDetails], fmt.Sprintf("(and %d more)", len(lines)-maxDetails))
	}
	return lines
}

func (e *Evidence) stoppedTasks(ctx context.Context) []string {
	if e.ECS == nil {
		return nil
	}
	in := &ecs.ListTasksInput{Cluster: aws.String(e.Cluster), DesiredStatus: ecstypes.DesiredStatusStopped, MaxResults: aws.Int32(100)}
	if e.replacement != "" {
		in.StartedBy = aws.String(e.replacement)
	} else {
		in.ServiceName = aws.String(e.Service)
	}
	list, err := e.ECS.ListTasks(ctx, in)
	if err != nil || len(list.TaskArns) == 0 {
		return nil
	}
	out, err := e.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil
	}
	type group struct {
		n        int
		first    int
		taskDefs map[string]bool
	}
	groups := map[string]*group{}
	for i, t := range out.Tasks {
		reason := aws.ToString(t.StoppedReason)
		// A task set scaled in or removed is the deployment working, not why
		// it failed.
		if reason == "" || strings.HasPrefix(reason, "Scaling activity initiated by") {
			continue
		}
		var containers []string
		for _, c := range t.Containers {
			switch {
			case aws.ToString(c.Reason) != "":
				containers = append(containers, fmt.Sprintf("container %s: %s", aws.ToString(c.Name), aws.ToString(c.Reason)))
			case c.ExitCode != nil:
				containers = append(containers, fmt.Sprintf("container %s exited %d", aws.ToString(c.Name), aws.ToInt32(c.ExitCode)))
			}
		}
		key := reason
		if len(containers) > 0 {
			key += " (" + strings.Join(containers, "; ") + ")"
		}
		g := groups[key]
		if g == nil {
			g = &group{first: i, taskDefs: map[string]bool{}}
			groups[key] = g
		}
		g.n++
		g.taskDefs[ShortTaskDef(aws.ToString(t.TaskDefinitionArn))] = true
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return groups[keys[i]].first < groups[keys[j]].first })
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		defs := make([]string, 0, len(g.taskDefs))
		for d := range g.taskDefs {
			defs = append(defs, d)
		}
		sort.Strings(defs)
		tasks := "task"
		if g.n > 1 {
			tasks = "tasks"
		}
		lines = append(lines, fmt.Sprintf("ECS stopped %d %s of %s: %s", g.n, tasks, strings.Join(defs, ", "), k))
	}
	return lines
}

func (e *Evidence) unhealthyTargets() []string {
	byReason := map[string][]string{}
	for target, reason := range e.unhealthy {
		key := e.unhealthyTGs[target] + "\x00" + reason
		byReason[key] = append(byReason[key], target)
	}
	keys := make([]string, 0, len(byReason))
	for k := range byReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		tg, reason, _ := strings.Cut(k, "\x00")
		targets := byReason[k]
		sort.Strings(targets)
		lines = append(lines, fmt.Sprintf("target group %s found %s unhealthy: %s", tg, strings.Join(targets, ", "), reason))
	}
	return lines
}

func (e *Evidence) firingAlarms(ctx context.Context) []string {
	if e.CloudWatch == nil || len(e.Alarms) == 0 {
		return nil
	}
	alarms, err := verify.ReadAlarms(ctx, e.CloudWatch, e.Alarms)
	if err != nil {
		return nil
	}
	var lines []string
	for _, a := range verify.Firing(alarms) {
		lines = append(lines, fmt.Sprintf("alarm %s is in ALARM: %s", a.Name, a.Reason))
	}
	return lines
}

// ShortTaskDef turns a task definition ARN into family:revision.
func ShortTaskDef(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
