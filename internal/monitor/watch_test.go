package monitor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// fakeClock advances by the requested wait at once, and records the waits.
type fakeClock struct {
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// step is what the scripted CodeDeploy answers on one GetDeployment.
type step struct {
	status   cdtypes.DeploymentStatus
	err      error // returned by GetDeployment instead
	target   *cdtypes.ECSTarget
	rollback string
}

// scriptedAPI plays a fixed history per deployment id: the loop's mechanics
// (pacing, following rollbacks, backing off) are tested here; the simulator
// integration tests check the same loop against a real lifecycle.
type scriptedAPI struct {
	steps map[string][]step
	pos   map[string]int
	calls map[string]int
}

func (s *scriptedAPI) current(id string) step {
	st := s.steps[id]
	i := min(s.pos[id], len(st)-1)
	return st[i]
}

func (s *scriptedAPI) GetDeployment(_ context.Context, in *codedeploy.GetDeploymentInput, _ ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error) {
	s.calls["GetDeployment"]++
	id := aws.ToString(in.DeploymentId)
	st := s.current(id)
	s.pos[id]++
	if st.err != nil {
		return nil, st.err
	}
	info := &cdtypes.DeploymentInfo{DeploymentId: aws.String(id), Status: st.status}
	if st.rollback != "" {
		info.RollbackInfo = &cdtypes.RollbackInfo{RollbackDeploymentId: aws.String(st.rollback)}
	}
	return &codedeploy.GetDeploymentOutput{DeploymentInfo: info}, nil
}

func (s *scriptedAPI) ListDeploymentTargets(_ context.Context, in *codedeploy.ListDeploymentTargetsInput, _ ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error) {
	s.calls["ListDeploymentTargets"]++
	st := s.steps[aws.ToString(in.DeploymentId)][max(s.pos[aws.ToString(in.DeploymentId)]-1, 0)]
	if st.target == nil {
		return nil, &cdtypes.DeploymentNotStartedException{Message: aws.String("not started")}
	}
	return &codedeploy.ListDeploymentTargetsOutput{TargetIds: []string{"prod:web"}}, nil
}

func (s *scriptedAPI) BatchGetDeploymentTargets(_ context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, _ ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error) {
	s.calls["BatchGetDeploymentTargets"]++
	st := s.steps[aws.ToString(in.DeploymentId)][max(s.pos[aws.ToString(in.DeploymentId)]-1, 0)]
	if st.target == nil {
		return &codedeploy.BatchGetDeploymentTargetsOutput{}, nil
	}
	return &codedeploy.BatchGetDeploymentTargetsOutput{DeploymentTargets: []cdtypes.DeploymentTarget{{DeploymentTargetType: cdtypes.DeploymentTargetTypeEcsTarget, EcsTarget: st.target}}}, nil
}

func ecsTarget(status cdtypes.TargetStatus, blue, green float64, events ...cdtypes.LifecycleEventStatus) *cdtypes.ECSTarget {
	t := &cdtypes.ECSTarget{Status: status, TargetId: aws.String("prod:web")}
	for _, e := range lifecycle(events...) {
		t.LifecycleEvents = append(t.LifecycleEvents, cdtypes.LifecycleEvent{LifecycleEventName: aws.String(e.Name), Status: e.Status})
	}
	t.TaskSetsInfo = []cdtypes.ECSTaskSet{
		{Identifer: aws.String("ecs-svc/1"), TaskSetLabel: cdtypes.TargetLabelBlue, Status: aws.String("PRIMARY"), DesiredCount: 2, RunningCount: 2, TrafficWeight: blue},
		{Identifer: aws.String("ecs-svc/2"), TaskSetLabel: cdtypes.TargetLabelGreen, Status: aws.String("ACTIVE"), DesiredCount: 2, RunningCount: 2, TrafficWeight: green},
	}
	return t
}

func newAPI(steps map[string][]step) *scriptedAPI {
	return &scriptedAPI{steps: steps, pos: map[string]int{}, calls: map[string]int{}}
}

func TestWatchToSuccess(t *testing.T) {
	t.Parallel()
	api := newAPI(map[string][]step{"d-1": {
		{status: cdtypes.DeploymentStatusCreated},
		{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0, ok, run)},
		{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run)},
		{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run)},
		{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)},
		{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)},
	}})
	var events []Event
	var edges []string
	w := &Watcher{
		API: api, Clock: &fakeClock{now: t0},
		OnEvent: func(e Event) { events = append(events, e) },
		OnDecision: func(_ context.Context, _ Observation, d Decision) error {
			if d.TestTrafficReady {
				edges = append(edges, "test")
			}
			if d.ProductionMoved {
				edges = append(edges, "prod")
			}
			if d.TerminationWait {
				edges = append(edges, "termination")
			}
			return nil
		},
	}
	res, err := w.Watch(context.Background(), "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() || res.Rollback != nil || res.Stopped {
		t.Errorf("result = %+v, want a plain success", res)
	}
	if got, want := edges, []string{"test", "prod", "termination"}; !equal(got, want) {
		t.Errorf("edges = %v, want %v", got, want)
	}
	if len(events) == 0 || events[len(events)-1].Kind != EventStatus || events[len(events)-1].Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("last event = %v, want the Succeeded status", events[len(events)-1])
	}
}

func TestWatchFollowsRollback(t *testing.T) {
	t.Parallel()
	api := newAPI(map[string][]step{
		"d-1": {
			{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run)},
			{status: cdtypes.DeploymentStatusStopped, rollback: "d-2", target: ecsTarget(cdtypes.TargetStatusFailed, 100, 0, ok, ok, ok, ok, fail)},
		},
		"d-2": {
			{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0)},
			{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 100, 0)},
		},
	})
	w := &Watcher{API: api, Clock: &fakeClock{now: t0}}
	res, err := w.Watch(context.Background(), "d-1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Final.Status != cdtypes.DeploymentStatusStopped || res.Rollback == nil || res.Rollback.Status != cdtypes.DeploymentStatusSucceeded || res.Rollback.DeploymentID != "d-2" {
		t.Errorf("result = %+v / rollback %+v, want d-1 Stopped and rollback d-2 Succeeded", res.Final, res.Rollback)
	}
	if res.Succeeded() {
		t.Error("a rolled-back deployment reported success")
	}
}

func TestWatchBacksOffWhenThrottled(t *testing.T) {
	t.Parallel()
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	api := newAPI(map[string][]step{"d-1": {
		{err: throttle},
		{err: throttle},
		{err: throttle},
		{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100)},
	}})
	clk := &fakeClock{now: t0}
	w := &Watcher{API: api, Clock: clk}
	if _, err := w.Watch(context.Background(), "d-1"); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{2 * settleMin, 4 * settleMin, 8 * settleMin}
	if !equal(clk.waits, want) {
		t.Errorf("waits = %v, want %v", clk.waits, want)
	}
}

func TestWatchGivesUpAfterRepeatedErrors(t *testing.T) {
	t.Parallel()
	api := newAPI(map[string][]step{"d-1": {{err: errors.New("connection refused")}}})
	var warnings []string
	w := &Watcher{API: api, Clock: &fakeClock{now: t0}, MaxConsecutiveErrors: 3, OnWarning: func(m string) { warnings = append(warnings, m) }}
	_, err := w.Watch(context.Background(), "d-1")
	if err == nil || api.calls["GetDeployment"] != 3 || len(warnings) != 2 {
		t.Errorf("err = %v after %d calls and %d warnings, want failure after 3 calls", err, api.calls["GetDeployment"], len(warnings))
	}
}

func TestWatchStopsOnRequest(t *testing.T) {
	t.Parallel()
	api := newAPI(map[string][]step{"d-1": {
		{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, ok)},
		{status: cdtypes.DeploymentStatusReady, target: ecsTarget(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok)},
	}})
	w := &Watcher{API: api, Clock: &fakeClock{now: t0}, OnDecision: func(_ context.Context, _ Observation, d Decision) error {
		if d.EnteredReady {
			return ErrStopWatching
		}
		return nil
	}}
	res, err := w.Watch(context.Background(), "d-1")
	if err != nil || !res.Stopped || res.Final.Status != cdtypes.DeploymentStatusReady {
		t.Errorf("Watch() = %+v, %v; want stopped at Ready", res, err)
	}
}

func TestWatchHonoursCancellation(t *testing.T) {
	t.Parallel()
	api := newAPI(map[string][]step{"d-1": {{status: cdtypes.DeploymentStatusInProgress}}})
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("job cancelled")
	w := &Watcher{API: api, Clock: RealClock{}, OnDecision: func(context.Context, Observation, Decision) error {
		cancel(cause)
		return nil
	}}
	if _, err := w.Watch(ctx, "d-1"); !errors.Is(err, cause) {
		t.Errorf("Watch() error = %v, want the cancellation cause", err)
	}
}

func TestWatchReadsFewTargets(t *testing.T) {
	t.Parallel()
	var steps []step
	for range 30 {
		steps = append(steps, step{status: cdtypes.DeploymentStatusReady, target: ecsTarget(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok)})
	}
	steps = append(steps, step{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100)})
	api := newAPI(map[string][]step{"d-1": steps})
	w := &Watcher{API: api, Clock: &fakeClock{now: t0}}
	if _, err := w.Watch(context.Background(), "d-1"); err != nil {
		t.Fatal(err)
	}
	if api.calls["ListDeploymentTargets"] != 1 {
		t.Errorf("ListDeploymentTargets called %d times, want once (the id is cached)", api.calls["ListDeploymentTargets"])
	}
	if got := api.calls["BatchGetDeploymentTargets"]; got > 6 {
		t.Errorf("BatchGetDeploymentTargets called %d times over 31 polls in a wait, want few", got)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scriptedECS answers DescribeServices with the replacement's running count
// from a script, one entry per call (the last repeats), and ELBv2 with that
// many healthy targets.
type scriptedECS struct {
	running []int32
	calls   int
}

func (s *scriptedECS) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	r := s.running[min(s.calls, len(s.running)-1)]
	s.calls++
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{{TaskSets: []ecstypes.TaskSet{{
		Id: aws.String("ecs-svc/2"), ExternalId: aws.String("d-1"), ComputedDesiredCount: 2, RunningCount: r,
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("arn:tg/green")}},
	}}}}}, nil
}

func (s *scriptedECS) DescribeTargetHealth(context.Context, *elb.DescribeTargetHealthInput, ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	r := s.running[min(s.calls-1, len(s.running)-1)]
	out := &elb.DescribeTargetHealthOutput{}
	for range r {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}})
	}
	return out, nil
}

// TestWatchFollowsTheReplacementThroughECS: while the replacement starts,
// the watcher reads ECS and ELBv2, and CodeDeploy only when they show a
// change (here: the second task running, then both healthy), not on a beat.
func TestWatchFollowsTheReplacementThroughECS(t *testing.T) {
	t.Parallel()
	installing := step{status: cdtypes.DeploymentStatusInProgress, target: ecsTarget(cdtypes.TargetStatusInProgress, 100, 0, ok, run)}
	api := newAPI(map[string][]step{"d-1": {
		installing, installing, installing,
		{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)},
	}})
	// The replacement appears with nothing running (a change: its first
	// sight), stays so twice, then one task runs, then both.
	follow := &scriptedECS{running: []int32{0, 0, 0, 1, 1, 2}}
	clk := &fakeClock{now: t0}
	w := &Watcher{API: api, Clock: clk, Replacement: &Replacement{ECS: follow, ELB: follow, Cluster: "prod", Service: "web"}}
	if _, err := w.Watch(context.Background(), "d-1"); err != nil {
		t.Fatal(err)
	}
	var waited time.Duration
	for _, d := range clk.waits {
		waited += d
	}
	// CodeDeploy: the first read, one at each of the three changes (the
	// last shows the end); ECS: every follower read.
	if got := api.calls["GetDeployment"]; got != 4 || follow.calls != 6 {
		t.Errorf("GetDeployment called %d times and ECS %d times over %v, want 4 and 6", got, follow.calls, waited)
	}
}

// TestWatchTakesTheCallersFirstRead: the deployment the caller read just
// before the watch is its first observation, not read again; one of another
// deployment is no such thing.
func TestWatchTakesTheCallersFirstRead(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		firstID   string
		wantReads int
		wantFirst cdtypes.DeploymentStatus
	}{
		{name: "same_deployment", firstID: "d-1", wantReads: 1, wantFirst: cdtypes.DeploymentStatusReady},
		{name: "another_deployment", firstID: "d-9", wantReads: 1, wantFirst: cdtypes.DeploymentStatusSucceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newAPI(map[string][]step{"d-1": {
				{status: cdtypes.DeploymentStatusSucceeded, target: ecsTarget(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)},
			}})
			var seen []cdtypes.DeploymentStatus
			w := &Watcher{
				API: api, Clock: &fakeClock{now: t0},
				First: &cdtypes.DeploymentInfo{DeploymentId: aws.String(tt.firstID), Status: cdtypes.DeploymentStatusReady},
				OnDecision: func(_ context.Context, o Observation, _ Decision) error {
					seen = append(seen, o.Status)
					return nil
				},
			}
			res, err := w.Watch(context.Background(), "d-1")
			if err != nil || !res.Succeeded() {
				t.Fatalf("Watch = %+v, %v", res, err)
			}
			if api.calls["GetDeployment"] != tt.wantReads || len(seen) == 0 || seen[0] != tt.wantFirst {
				t.Errorf("GetDeployment read %d times, observations %v; want %d and first %s", api.calls["GetDeployment"], seen, tt.wantReads, tt.wantFirst)
			}
		})
	}
}
