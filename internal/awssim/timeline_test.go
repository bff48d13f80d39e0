package awssim_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// timeline is what a deployment looked like when it was over, every
// timestamp relative to its creation, with the random ids left out.
type timeline struct {
	Status, Complete string
	Events           []string
	Weights          []string // the production listener's at the end
	TaskSets         []string
	Tasks            []string // every task of the service, running or stopped
	ServiceEvents    []string
	Rollback         string
}

// randomIDs are the ids and ARN suffixes that differ from world to world.
var randomIDs = regexp.MustCompile(`[0-9a-f]{16,}|ecs-svc/[0-9]+`)

func (tl timeline) String() string {
	return fmt.Sprintf("%s complete %s; %s; rollback %s", tl.Status, tl.Complete, strings.Join(tl.Events, "; "), tl.Rollback)
}

func rel(at *time.Time, base time.Time) string {
	if at == nil {
		return "-"
	}
	return at.Sub(base).String()
}

// runTimeline drives the same canary deployment on a fresh world while a
// watcher reads GetDeployment, BatchGetDeploymentTargets and DescribeServices
// every poll (0: nobody calls until the end), then reads the whole timeline.
func runTimeline(t *testing.T, poll time.Duration, stop bool) timeline {
	t.Helper()
	e := newEnv(t, seed.Options{TerminationWaitMinutes: 1})
	ctx := context.Background()
	// A one-minute canary and a one-minute deregistration delay keep the
	// 100 ms watcher's calls few enough for a unit test.
	if _, err := e.cd.CreateDeploymentConfig(ctx, &codedeploy.CreateDeploymentConfigInput{
		DeploymentConfigName: aws.String("Canary10Percent1Minute"), ComputePlatform: cdtypes.ComputePlatformEcs,
		TrafficRoutingConfig: &cdtypes.TrafficRoutingConfig{Type: cdtypes.TrafficRoutingTypeTimeBasedCanary, TimeBasedCanary: &cdtypes.TimeBasedCanary{CanaryPercentage: 10, CanaryInterval: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{e.world.BlueTargetGroupARN, e.world.GreenTargetGroupARN} {
		if _, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
			TargetGroupArn: aws.String(tg), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("60")}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	_, id := e.deployWith(t, "registry.example/web:timeline", "", "Canary10Percent1Minute")
	const span = 4 * time.Minute
	const stopAt = 45 * time.Second // during the canary
	for elapsed := time.Duration(0); elapsed < span; {
		// The watcher's next read, or the stop when it comes first: the stop
		// is an action at a fixed time, the reads are what may vary.
		next := span
		if poll > 0 {
			next = min(span, elapsed+poll)
		}
		if stop && elapsed < stopAt && next >= stopAt {
			e.clk.Advance(stopAt - elapsed)
			elapsed = stopAt
			if _, err := e.cd.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		e.clk.Advance(next - elapsed)
		elapsed = next
		if poll > 0 {
			e.status(t, id)
			e.target(t, id)
		}
	}
	return e.readTimeline(t, id)
}

func (e *env) readTimeline(t *testing.T, id string) timeline {
	t.Helper()
	d := e.status(t, id)
	base := aws.ToTime(d.CreateTime)
	tl := timeline{Status: string(d.Status), Complete: rel(d.CompleteTime, base)}
	tl.Events = append(tl.Events, "start "+rel(d.StartTime, base))
	for _, ev := range e.target(t, id).LifecycleEvents {
		tl.Events = append(tl.Events, fmt.Sprintf("%s %s %s..%s", aws.ToString(ev.LifecycleEventName), ev.Status, rel(ev.StartTime, base), rel(ev.EndTime, base)))
	}
	if d.RollbackInfo != nil && d.RollbackInfo.RollbackDeploymentId != nil {
		r := e.status(t, aws.ToString(d.RollbackInfo.RollbackDeploymentId))
		tl.Rollback = fmt.Sprintf("%s %s..%s", r.Status, rel(r.CreateTime, base), rel(r.CompleteTime, base))
	}
	for tg, w := range e.prodWeights(t) {
		name := "blue"
		if tg == e.world.GreenTargetGroupARN {
			name = "green"
		}
		tl.Weights = append(tl.Weights, fmt.Sprintf("%s=%d", name, w))
	}
	sort.Strings(tl.Weights)
	svc, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range svc.Services[0].TaskSets {
		tl.TaskSets = append(tl.TaskSets, fmt.Sprintf("%s %s created %s updated %s stability %s at %s", aws.ToString(ts.Status), aws.ToString(ts.TaskDefinition), rel(ts.CreatedAt, base), rel(ts.UpdatedAt, base), ts.StabilityStatus, rel(ts.StabilityStatusAt, base)))
	}
	for _, ev := range svc.Services[0].Events {
		tl.ServiceEvents = append(tl.ServiceEvents, rel(ev.CreatedAt, base)+" "+randomIDs.ReplaceAllString(aws.ToString(ev.Message), "ID"))
	}
	ctx := context.Background()
	for _, status := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		list, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredStatus: status})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.TaskArns) == 0 {
			continue
		}
		tasks, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks.Tasks {
			tl.Tasks = append(tl.Tasks, fmt.Sprintf("%s %s created %s started %s stopped %s %s", aws.ToString(task.TaskDefinitionArn), aws.ToString(task.LastStatus),
				rel(task.CreatedAt, base), rel(task.StartedAt, base), rel(task.StoppedAt, base), randomIDs.ReplaceAllString(aws.ToString(task.StoppedReason), "ID")))
		}
	}
	sort.Strings(tl.Tasks)
	return tl
}

// TestTimeline_independentOfPollers runs the same deployment watched every
// 100 ms, every 15 s and not at all: the timelines must be identical, since
// every transition happens at its due time whoever calls.
func TestTimeline_independentOfPollers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		stop bool
	}{{name: "canary_to_success"}, {name: "stopped_with_rollback", stop: true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			none := runTimeline(t, 0, c.stop)
			t.Logf("unwatched: %s", none)
			for _, poll := range []time.Duration{15 * time.Second, 100 * time.Millisecond} {
				got := runTimeline(t, poll, c.stop)
				t.Logf("watched every %s: %s", poll, got)
				if diff := cmp.Diff(none, got); diff != "" {
					t.Errorf("watched every %s, the timeline differs from the unwatched one (-unwatched +watched):\n%s", poll, diff)
				}
			}
		})
	}
}

// rollingTimeline runs a rolling deployment of a release whose tasks fail
// their health checks, with the circuit breaker rolling back, while a
// watcher reads ListServiceDeployments every poll (0: nobody until the end), then
// reads the service's deployments, events and service deployments.
func rollingTimeline(t *testing.T, poll time.Duration) []string {
	t.Helper()
	e := newEnv(t, seed.Options{})
	e.rollingService(t, &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}, 0)
	base := e.clk.Now()
	newTD := e.updateAPI(t, "api:broken")
	e.sim.World().SetTaskDefinitionHealthy(newTD, false)
	const span = 5 * time.Minute
	for elapsed := time.Duration(0); elapsed < span; {
		step := poll
		if poll == 0 {
			step = span
		}
		e.clk.Advance(step)
		elapsed += step
		if poll > 0 { // a small read: what matters is that calls come
			if _, err := e.ecs.ListServiceDeployments(context.Background(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := e.api(t)
	var out []string
	for _, d := range s.Deployments {
		out = append(out, fmt.Sprintf("deployment %s %s %s failed %d created %s updated %s", aws.ToString(d.Status), d.RolloutState, aws.ToString(d.TaskDefinition), d.FailedTasks, rel(d.CreatedAt, base), rel(d.UpdatedAt, base)))
	}
	for _, ev := range s.Events {
		out = append(out, "event "+rel(ev.CreatedAt, base)+" "+randomIDs.ReplaceAllString(aws.ToString(ev.Message), "ID"))
	}
	ctx := context.Background()
	list, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list.ServiceDeployments {
		out = append(out, fmt.Sprintf("service deployment %s created %s finished %s", d.Status, rel(d.CreatedAt, base), rel(d.FinishedAt, base)))
	}
	return out
}

// TestRollingTimeline_independentOfPollers: an ECS rolling deployment that
// the circuit breaker rolls back has the same history, to the second,
// whether it is watched every 100 ms, every 15 s or not at all.
func TestRollingTimeline_independentOfPollers(t *testing.T) {
	t.Parallel()
	none := rollingTimeline(t, 0)
	if !strings.Contains(strings.Join(none, "\n"), "ROLLBACK_SUCCESSFUL") {
		t.Errorf("the circuit breaker did not roll back:\n%s", strings.Join(none, "\n"))
	}
	for _, poll := range []time.Duration{15 * time.Second, 100 * time.Millisecond} {
		if diff := cmp.Diff(none, rollingTimeline(t, poll)); diff != "" {
			t.Errorf("watched every %s, the rolling deployment differs from the unwatched one (-unwatched +watched):\n%s", poll, diff)
		}
	}
}
