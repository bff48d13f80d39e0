package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// fakeEvidenceAPI answers the reads of Evidence from fixed data, and records
// what it was asked.
type fakeEvidenceAPI struct {
	tasks     []ecstypes.Task
	health    []elbtypes.TargetHealthDescription
	alarms    []cwtypes.MetricAlarm
	listed    *ecs.ListTasksInput
	healthReq int
	groupsReq int
}

func (f *fakeEvidenceAPI) ListTasks(_ context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.listed = in
	out := &ecs.ListTasksOutput{}
	for _, t := range f.tasks {
		out.TaskArns = append(out.TaskArns, aws.ToString(t.TaskArn))
	}
	return out, nil
}

func (f *fakeEvidenceAPI) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return &ecs.DescribeTasksOutput{Tasks: f.tasks}, nil
}

func (f *fakeEvidenceAPI) DescribeTargetGroups(_ context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	f.groupsReq++
	return &elb.DescribeTargetGroupsOutput{TargetGroups: []elbtypes.TargetGroup{{TargetGroupName: aws.String(in.Names[0]), TargetGroupArn: aws.String("arn:tg/" + in.Names[0])}}}, nil
}

func (f *fakeEvidenceAPI) DescribeTargetHealth(context.Context, *elb.DescribeTargetHealthInput, ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	f.healthReq++
	return &elb.DescribeTargetHealthOutput{TargetHealthDescriptions: f.health}, nil
}

func (f *fakeEvidenceAPI) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	var out []cwtypes.MetricAlarm
	for _, a := range f.alarms {
		if in.StateValue == "" || a.StateValue == in.StateValue { // StateValue filters, as in the API
			out = append(out, a)
		}
	}
	return &cloudwatch.DescribeAlarmsOutput{MetricAlarms: out}, nil
}

func stoppedTask(id, reason string, exit int32, containerReason string) ecstypes.Task {
	c := ecstypes.Container{Name: aws.String("web"), ExitCode: aws.Int32(exit)}
	if containerReason != "" {
		c = ecstypes.Container{Name: aws.String("web"), Reason: aws.String(containerReason)}
	}
	return ecstypes.Task{
		TaskArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:task/prod/" + id), TaskDefinitionArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7"),
		StoppedReason: aws.String(reason), Containers: []ecstypes.Container{c},
	}
}

func unhealthyTarget(ip, reason, desc string) elbtypes.TargetHealthDescription {
	return elbtypes.TargetHealthDescription{
		Target:       &elbtypes.TargetDescription{Id: aws.String(ip), Port: aws.Int32(8080)},
		TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnhealthy, Reason: elbtypes.TargetHealthReasonEnum(reason), Description: aws.String(desc)},
	}
}

func TestEvidenceExplainsAFailure(t *testing.T) {
	t.Parallel()
	api := &fakeEvidenceAPI{
		tasks: []ecstypes.Task{
			stoppedTask("a", "Task failed ELB health checks in (target-group arn:tg/web-green)", 143, ""),
			stoppedTask("b", "Task failed ELB health checks in (target-group arn:tg/web-green)", 143, ""),
			stoppedTask("c", "Scaling activity initiated by (deployment ecs-svc/1)", 0, ""),
			stoppedTask("d", "Essential container in task exited", 0, "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"),
		},
		health: []elbtypes.TargetHealthDescription{
			unhealthyTarget("10.0.0.7", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"),
			unhealthyTarget("10.0.0.8", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"),
			{Target: &elbtypes.TargetDescription{Id: aws.String("10.0.0.9"), Port: aws.Int32(8080)}, TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumInitial}},
		},
		alarms: []cwtypes.MetricAlarm{
			{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).")},
			{AlarmName: aws.String("web-latency"), StateValue: cwtypes.StateValueOk},
		},
	}
	e := &Evidence{ECS: api, ELB: api, CloudWatch: api, Cluster: "prod", Service: "web", Alarms: []string{"web-5xx", "web-latency"}}
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	observe := func(at time.Duration, running, pending int64) {
		e.Observe(context.Background(), monitor.Observation{At: start.Add(at), Target: &monitor.Target{TaskSets: []monitor.TaskSet{
			{ID: "ecs-svc/1", Label: cdtypes.TargetLabelBlue, Desired: 2, Running: 2},
			{ID: "ecs-svc/2", Label: cdtypes.TargetLabelGreen, Desired: 2, Running: running, Pending: pending, TargetGroup: "web-green"},
		}}})
	}
	observe(0, 0, 2)
	observe(5*time.Second, 1, 1) // too soon for another sample
	observe(20*time.Second, 2, 0)
	if api.healthReq != 1 {
		t.Errorf("target health read %d times, want once: every %s while starting, none once running", api.healthReq, healthSampleEvery)
	}
	got := e.Explain(context.Background())
	want := []string{
		"ECS stopped 2 tasks of web:7: Task failed ELB health checks in (target-group arn:tg/web-green) (container web exited 143)",
		"ECS stopped 1 task of web:7: Essential container in task exited (container web: CannotPullContainerError: pull image manifest has been retried 5 time(s): not found)",
		"target group web-green found 10.0.0.7:8080, 10.0.0.8:8080 unhealthy: Target.ResponseCodeMismatch: Health checks failed with these codes: [503]",
		"alarm web-5xx is in ALARM: Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Explain (-want +got):\n%s", d)
	}
	if aws.ToString(api.listed.StartedBy) != "ecs-svc/2" || api.listed.DesiredStatus != ecstypes.DesiredStatusStopped {
		t.Errorf("stopped tasks listed with %+v, want those the replacement task set started", api.listed)
	}
}

// TestEvidenceFedByTheWatch: with the follower's reads of the replacement
// passed in, Evidence reads no target health while the deployment runs, and
// its last look knows the target group's ARN.
func TestEvidenceFedByTheWatch(t *testing.T) {
	t.Parallel()
	api := &fakeEvidenceAPI{}
	e := &Evidence{ECS: api, ELB: api, Cluster: "prod", Service: "web", Fed: true}
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for i, running := range []int64{0, 1, 1} {
		e.Observe(context.Background(), monitor.Observation{At: start.Add(time.Duration(i) * time.Minute), Target: &monitor.Target{TaskSets: []monitor.TaskSet{
			{ID: "ecs-svc/2", Label: cdtypes.TargetLabelGreen, Desired: 2, Running: running, Pending: 2 - running, TargetGroup: "web-green"},
		}}})
		e.ObserveReplacement(snapshot.Replacement{TaskSet: "ecs-svc/2", TargetGroupARN: "arn:tg/web-green", Targets: []snapshot.Target{
			{ID: "10.0.0.7", Port: 8080, State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out"},
			{ID: "10.0.0.8", Port: 8080, State: "healthy"},
		}})
	}
	if api.healthReq != 0 || api.groupsReq != 0 {
		t.Errorf("Evidence read target health %d times and target groups %d times while fed by the watch, want none", api.healthReq, api.groupsReq)
	}
	got := e.Explain(context.Background())
	want := []string{"target group web-green found 10.0.0.7:8080 unhealthy: Target.Timeout: Request timed out"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Explain (-want +got):\n%s", d)
	}
	if api.healthReq != 1 || api.groupsReq != 0 {
		t.Errorf("the last look read target health %d times and target groups %d times, want 1 and 0", api.healthReq, api.groupsReq)
	}
}

func TestEvidenceWithNothingToSay(t *testing.T) {
	t.Parallel()
	e := &Evidence{ECS: &fakeEvidenceAPI{}, ELB: &fakeEvidenceAPI{}, Cluster: "prod", Service: "web"}
	if got := e.Explain(context.Background()); len(got) != 0 {
		t.Errorf("Explain = %q, want nothing", strings.Join(got, "\n"))
	}
}
