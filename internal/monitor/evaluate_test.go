package monitor

import (
	"errors"
	"strings"
	"testing"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

// lifecycle builds the ECS lifecycle with the first n events in the given
// status list order: statuses[i] applies to the i-th event of the ECS order.
func lifecycle(statuses ...cdtypes.LifecycleEventStatus) []LifecycleEvent {
	names := []string{EventBeforeInstall, EventInstall, EventAfterInstall, EventAllowTestTraffic, EventAfterAllowTestTraffic, EventBeforeAllowTraffic, EventAllowTraffic, EventAfterAllowTraffic}
	out := make([]LifecycleEvent, len(names))
	for i, n := range names {
		out[i] = LifecycleEvent{Name: n, Status: cdtypes.LifecycleEventStatusPending}
		if i < len(statuses) {
			out[i].Status = statuses[i]
		}
	}
	return out
}

const (
	ok   = cdtypes.LifecycleEventStatusSucceeded
	run  = cdtypes.LifecycleEventStatusInProgress
	fail = cdtypes.LifecycleEventStatusFailed
	skip = cdtypes.LifecycleEventStatusSkipped
)

func obs(status cdtypes.DeploymentStatus, target *Target) Observation {
	return Observation{At: t0, DeploymentID: "d-ABCDEFGHI", Status: status, Target: target}
}

func target(ts cdtypes.TargetStatus, blueWeight, greenWeight float64, events ...cdtypes.LifecycleEventStatus) *Target {
	t := &Target{Status: ts, LifecycleEvents: lifecycle(events...)}
	t.TaskSets = append(t.TaskSets, TaskSet{ID: "ecs-svc/1", Label: cdtypes.TargetLabelBlue, Status: "PRIMARY", Desired: 2, Running: 2, Weight: blueWeight})
	if len(events) >= 2 && events[1] == ok {
		t.TaskSets = append(t.TaskSets, TaskSet{ID: "ecs-svc/2", Label: cdtypes.TargetLabelGreen, Status: "ACTIVE", Desired: 2, Running: 2, Weight: greenWeight})
	}
	return t
}

func TestStageOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		o    Observation
		want Stage
	}{
		{name: "created", o: obs(cdtypes.DeploymentStatusCreated, nil), want: StagePending},
		{name: "queued", o: obs(cdtypes.DeploymentStatusQueued, nil), want: StagePending},
		{name: "in_progress_no_target_yet", o: obs(cdtypes.DeploymentStatusInProgress, nil), want: StageInstalling},
		{name: "before_install", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, run)), want: StageInstalling},
		{name: "install", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, run)), want: StageInstalling},
		{name: "after_install", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, run)), want: StageInstalling},
		{name: "allow_test_traffic_running", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, run)), want: StageInstalling},
		{name: "test_traffic", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run)), want: StageTestTraffic},
		{name: "no_test_listener", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, skip, skip)), want: StageInstalling},
		{name: "ready", o: obs(cdtypes.DeploymentStatusReady, target(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok)), want: StageReady},
		{name: "target_ready_status_lags", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok)), want: StageReady},
		{name: "before_allow_traffic", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, ok, run)), want: StageShifting},
		{name: "canary", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run)), want: StageShifting},
		{name: "traffic_moved", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 0, 100, ok, ok, ok, ok, ok, ok, ok, run)), want: StageTrafficMoved},
		{name: "termination_wait", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)), want: StageTerminationWait},
		{name: "baking_counts_as_in_progress", o: obs(cdtypes.DeploymentStatusBaking, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)), want: StageTerminationWait},
		{name: "target_failed_deployment_not_yet", o: obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusFailed, 100, 0, ok, ok, fail)), want: StageInstalling},
		{name: "succeeded", o: obs(cdtypes.DeploymentStatusSucceeded, nil), want: StageSucceeded},
		{name: "failed", o: obs(cdtypes.DeploymentStatusFailed, nil), want: StageFailed},
		{name: "stopped", o: obs(cdtypes.DeploymentStatusStopped, nil), want: StageStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := StageOf(tt.o)
			if err != nil {
				t.Fatalf("StageOf() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("StageOf() = %v, want %v", got, tt.want)
			}
		})
	}
}

// The enum guards fail when an SDK upgrade adds a value nobody handles: the
// evaluator must then be taught what the value means.
func TestEveryDeploymentStatusIsHandled(t *testing.T) {
	t.Parallel()
	for _, s := range cdtypes.DeploymentStatus("").Values() {
		if _, err := StageOf(obs(s, nil)); err != nil {
			t.Errorf("deployment status %q is not handled: %v", s, err)
		}
	}
	var use *UnknownStatusError
	if _, err := StageOf(obs("Teleporting", nil)); !errors.As(err, &use) {
		t.Errorf("an unknown status gave %v, want *UnknownStatusError", err)
	}
}

func TestEveryTargetStatusIsHandled(t *testing.T) {
	t.Parallel()
	for _, s := range cdtypes.TargetStatus("").Values() {
		if _, err := StageOf(obs(cdtypes.DeploymentStatusInProgress, &Target{Status: s})); err != nil {
			t.Errorf("target status %q is not handled: %v", s, err)
		}
	}
	if _, err := StageOf(obs(cdtypes.DeploymentStatusInProgress, &Target{Status: "Levitating"})); err == nil {
		t.Error("an unknown target status was accepted silently")
	}
}

func TestEveryLifecycleEventStatusPrints(t *testing.T) {
	t.Parallel()
	for _, s := range cdtypes.LifecycleEventStatus("").Values() {
		prev := obs(cdtypes.DeploymentStatusInProgress, &Target{Status: cdtypes.TargetStatusInProgress, LifecycleEvents: []LifecycleEvent{{Name: EventInstall, Status: cdtypes.LifecycleEventStatusPending}}})
		cur := obs(cdtypes.DeploymentStatusInProgress, &Target{Status: cdtypes.TargetStatusInProgress, LifecycleEvents: []LifecycleEvent{{Name: EventInstall, Status: s}}})
		events, _, err := Evaluate(&prev, cur, Plan{})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if s == cdtypes.LifecycleEventStatusPending {
			if len(events) != 0 {
				t.Errorf("unchanged Pending printed %v", events)
			}
			continue
		}
		if len(events) != 1 || !strings.Contains(events[0].String(), string(s)) {
			t.Errorf("lifecycle status %q printed %v", s, events)
		}
	}
}

func TestEveryTargetLabelHasAColour(t *testing.T) {
	t.Parallel()
	for _, l := range cdtypes.TargetLabel("").Values() {
		if c := colour(l); c != "blue" && c != "green" {
			t.Errorf("label %q has no colour (got %q)", l, c)
		}
	}
}

func TestEvaluateDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		prev *Observation
		cur  Observation
		want Decision
	}{
		{
			name: "first_look_while_installing",
			cur:  obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, run)),
			want: Decision{Stage: StageInstalling},
		},
		{
			name: "test_traffic_reaches_green",
			prev: ptr(obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, run))),
			cur:  obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run)),
			want: Decision{Stage: StageTestTraffic, TestTrafficReady: true},
		},
		{
			name: "test_traffic_already_seen",
			prev: ptr(obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run))),
			cur:  obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run)),
			want: Decision{Stage: StageTestTraffic},
		},
		{
			name: "attach_at_ready_fires_both_edges",
			cur:  obs(cdtypes.DeploymentStatusReady, target(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok)),
			want: Decision{Stage: StageReady, TestTrafficReady: true, EnteredReady: true},
		},
		{
			name: "production_moves",
			prev: ptr(obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run))),
			cur:  obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 0, 100, ok, ok, ok, ok, ok, ok, ok, run)),
			want: Decision{Stage: StageTrafficMoved, ProductionMoved: true},
		},
		{
			name: "termination_wait_begins",
			prev: ptr(obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 0, 100, ok, ok, ok, ok, ok, ok, ok, run))),
			cur:  obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)),
			want: Decision{Stage: StageTerminationWait, TerminationWait: true},
		},
		{
			name: "succeeded_is_done",
			prev: ptr(obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok))),
			cur:  obs(cdtypes.DeploymentStatusSucceeded, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok)),
			want: Decision{Stage: StageSucceeded, Done: true},
		},
		{
			name: "failed_without_rollback_is_done",
			cur:  Observation{At: t0, Status: cdtypes.DeploymentStatusFailed, ErrorCode: cdtypes.ErrorCodeHookExecutionFailure},
			want: Decision{Stage: StageFailed, Done: true},
		},
		{
			name: "stopped_with_rollback_follows_it",
			cur:  Observation{At: t0, Status: cdtypes.DeploymentStatusStopped, ErrorCode: cdtypes.ErrorCodeManualStop, RollbackDeploymentID: "d-ROLLBACK1"},
			want: Decision{Stage: StageStopped, FollowRollback: "d-ROLLBACK1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A poll that reads targets while things move, and not in the waits.
			_, got, err := Evaluate(tt.prev, tt.cur, Plan{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Evaluate() decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateEvents(t *testing.T) {
	t.Parallel()
	prev := obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, ok, ok, run))
	cur := obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run))
	cur.Target.TaskSets[1].Running = 3
	// The next shift counts from AllowTraffic's start as AWS reported it,
	// not from when this observation was read.
	cur.At = t0.Add(40 * time.Second)
	cur.Target.LifecycleEvents[6].Start = t0
	events, _, err := Evaluate(&prev, cur, Plan{ShiftInterval: 5 * time.Minute, StepPercent: 10})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range events {
		lines = append(lines, e.String())
	}
	want := []string{
		"green task set ACTIVE: 3/2 running, 0 pending",
		"traffic blue  90% ██████████████████░░  10% green · next shift 16:05:00 UTC",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}

	// Nothing changed: nothing printed (one line per change, never per poll).
	events, _, _ = Evaluate(&cur, cur, Plan{})
	if len(events) != 0 {
		t.Errorf("an unchanged observation printed %v", events)
	}
}

func TestEvaluateFirstObservationPrintsState(t *testing.T) {
	t.Parallel()
	cur := obs(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, run))
	cur.Target.LifecycleEvents[1].Status = run
	events, _, _ := Evaluate(nil, cur, Plan{})
	var lines []string
	for _, e := range events {
		lines = append(lines, e.String())
	}
	want := []string{
		"deployment InProgress",
		"BeforeInstall          Succeeded",
		"Install                InProgress",
		"blue  task set PRIMARY: 2/2 running, 0 pending",
		"traffic blue 100% ████████████████████   0% green",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestFailedLifecycleEventExplains(t *testing.T) {
	t.Parallel()
	e := Event{Kind: EventLifecycle, Lifecycle: LifecycleEvent{Name: EventAfterAllowTestTraffic, Status: fail, ErrorCode: cdtypes.LifecycleErrorCodeScriptFailed, Message: "smoke-test-fn reported Failed"}}
	if got, want := e.String(), "AfterAllowTestTraffic  Failed (ScriptFailed): smoke-test-fn reported Failed"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		blue, green float64
		want        string
	}{
		{100, 0, "blue 100% ████████████████████   0% green"},
		{0, 100, "blue   0% ░░░░░░░░░░░░░░░░░░░░ 100% green"},
		{50, 50, "blue  50% ██████████░░░░░░░░░░  50% green"},
		{0, 0, "blue   0% ████████████████████   0% green"},
	} {
		if got := Bar(tt.blue, tt.green); got != tt.want {
			t.Errorf("Bar(%v, %v) = %q, want %q", tt.blue, tt.green, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestEvaluate_coloursFollowTargetGroups: on the second deployment the
// original task set (CodeDeploy's label Blue) serves the green group; the
// progress lines name it green, as status does.
func TestEvaluate_coloursFollowTargetGroups(t *testing.T) {
	t.Parallel()
	plan := Plan{TargetGroups: [2]string{"web-blue", "web-green"}}
	tests := []struct {
		name              string
		plan              Plan
		originalGroup     string
		wantTasks         string
		wantTraffic       string
		wantBlue, wantGrn float64
	}{
		{name: "original_on_green_group", plan: plan, originalGroup: "web-green", wantTasks: "green task set PRIMARY", wantTraffic: "traffic blue  10%", wantBlue: 10, wantGrn: 90},
		{name: "original_on_blue_group", plan: plan, originalGroup: "web-blue", wantTasks: "blue  task set PRIMARY", wantTraffic: "traffic blue  90%", wantBlue: 90, wantGrn: 10},
		{name: "groups_unknown_falls_back_to_labels", plan: Plan{}, originalGroup: "web-green", wantTasks: "blue  task set PRIMARY", wantTraffic: "traffic blue  90%", wantBlue: 90, wantGrn: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other := "web-blue"
			if tt.originalGroup == "web-blue" {
				other = "web-green"
			}
			o := Observation{Status: cdtypes.DeploymentStatusInProgress, Target: &Target{Status: cdtypes.TargetStatusInProgress, TaskSets: []TaskSet{
				{ID: "a", Label: cdtypes.TargetLabelBlue, Status: "PRIMARY", Weight: 90, TargetGroup: tt.originalGroup, Desired: 2, Running: 2},
				{ID: "b", Label: cdtypes.TargetLabelGreen, Status: "ACTIVE", Weight: 10, TargetGroup: other, Desired: 2, Running: 2},
			}}}
			events, _, _ := Evaluate(nil, o, tt.plan)
			var lines []string
			for _, e := range events {
				lines = append(lines, e.String())
				if e.Kind == EventTraffic && (e.Blue != tt.wantBlue || e.Green != tt.wantGrn) {
					t.Errorf("traffic event blue %.0f green %.0f, want %.0f %.0f", e.Blue, e.Green, tt.wantBlue, tt.wantGrn)
				}
			}
			all := strings.Join(lines, "\n")
			for _, want := range []string{tt.wantTasks, tt.wantTraffic} {
				if !strings.Contains(all, want) {
					t.Errorf("events lack %q:\n%s", want, all)
				}
			}
		})
	}
}
