package monitor

import (
	"strings"
	"testing"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

const (
	tgBlue  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/1"
	tgGreen = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/2"
	revOld  = "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/111"
	revNew  = "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/222"
)

var sdPlan = ServiceDeploymentPlan{TargetGroups: [2]string{tgBlue, tgGreen}, Bake: 5 * time.Minute, StepBake: 2 * time.Minute}

// sd is a deployment from blue (revOld) to green (revNew) at the given
// stage with the green revision's production and test weights.
func sd(status ecstypes.ServiceDeploymentStatus, stage ecstypes.ServiceDeploymentLifecycleStage, running int32, prod, test float64, hooks ...Hook) ServiceDeployment {
	return ServiceDeployment{
		At: t0, ARN: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/abc", Status: status, Stage: stage,
		Source: Revision{ARN: revOld, TargetGroup: tgBlue, Requested: 2, Running: 2, Production: 100 - prod, Test: 100 - test},
		Target: Revision{ARN: revNew, TargetGroup: tgGreen, Requested: 2, Running: running, Pending: 2 - running, Production: prod, Test: test},
		Hooks:  hooks, CircuitBreaker: Monitor{Status: "MONITORING", Limit: 3}, Alarms: Monitor{Status: "DISABLED"},
	}
}

const (
	inProgress = ecstypes.ServiceDeploymentStatusInProgress
	scaleUp    = ecstypes.ServiceDeploymentLifecycleStageScaleUp
	testShift  = ecstypes.ServiceDeploymentLifecycleStageTestTrafficShift
	postTest   = ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift
	prodShift  = ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift
	bakeTime   = ecstypes.ServiceDeploymentLifecycleStageBakeTime
)

var pauseWaiting = Hook{ID: "hook-0123456789abcdef", TargetType: "PAUSE", Status: "AWAITING_ACTION", TimeoutAction: "ROLLBACK", Expires: t0.Add(time.Hour)}

func TestEvaluateServiceDeployment(t *testing.T) {
	t.Parallel()
	rolled := sd(ecstypes.ServiceDeploymentStatusRollbackInProgress, "", 0, 0, 0)
	rolled.RollbackReason, rolled.RollbackStarted = "circuit breaker: 3 tasks failed", t0
	rolled.CircuitBreaker = Monitor{Status: "TRIGGERED", FailureCount: 3, Limit: 3}
	back := sd(ecstypes.ServiceDeploymentStatusInProgress, scaleUp, 2, 0, 0)
	// The second deployment: green serves, the new revision runs on blue.
	back.Source, back.Target = back.Target, back.Source
	back.Source.Production, back.Target.Production = 100, 0
	noColours := sd(inProgress, scaleUp, 0, 0, 0)
	noColours.Source.TargetGroup, noColours.Target.TargetGroup = "", ""
	done := sd(ecstypes.ServiceDeploymentStatusSuccessful, "", 2, 100, 100)
	alarmed := sd(inProgress, prodShift, 2, 10, 100)
	alarmed.Alarms = Monitor{Status: "TRIGGERED", TriggeredBy: []string{"web-5xx"}}
	tests := []struct {
		name      string
		prev      *ServiceDeployment
		cur       ServiceDeployment
		wantLines []string
		want      SDDecision
	}{
		{
			name: "first_read", cur: sd(inProgress, scaleUp, 0, 0, 0),
			wantLines: []string{
				"service deployment IN_PROGRESS", "stage SCALE_UP", "blue  revision 111 (source): 2/2 running, 0 pending",
				"green revision 222 (target): 0/2 running, 2 pending", "traffic " + Bar(100, 0),
			},
		},
		{name: "nothing_changed", prev: sdPtr(sd(inProgress, scaleUp, 0, 0, 0)), cur: sd(inProgress, scaleUp, 0, 0, 0)},
		{
			name: "tasks_start", prev: sdPtr(sd(inProgress, scaleUp, 0, 0, 0)), cur: sd(inProgress, scaleUp, 1, 0, 0),
			wantLines: []string{"green revision 222 (target): 1/2 running, 1 pending"},
		},
		{
			name: "test_traffic_moves", prev: sdPtr(sd(inProgress, testShift, 2, 0, 0)), cur: sd(inProgress, testShift, 2, 0, 100),
			wantLines: []string{"test    " + Bar(0, 100)}, want: SDDecision{TestTrafficReady: true},
		},
		{
			name: "paused_for_continue", prev: sdPtr(sd(inProgress, testShift, 2, 0, 100)), cur: sd(inProgress, postTest, 2, 0, 100, pauseWaiting),
			wantLines: []string{"stage POST_TEST_TRAFFIC_SHIFT", "hook PAUSE hook-0123456 AWAITING_ACTION (until 17:00:00 UTC, then ROLLBACK)"},
			want:      SDDecision{Paused: pauseWaiting.ID},
		},
		{
			name: "still_paused_is_no_edge", prev: sdPtr(sd(inProgress, postTest, 2, 0, 100, pauseWaiting)), cur: sd(inProgress, postTest, 2, 0, 100, pauseWaiting),
		},
		{
			name: "linear_step", prev: sdPtr(sd(inProgress, prodShift, 2, 10, 100)), cur: sd(inProgress, prodShift, 2, 20, 100),
			wantLines: []string{"traffic " + Bar(80, 20)},
		},
		{
			name: "production_moved_and_baking", prev: sdPtr(sd(inProgress, prodShift, 2, 90, 100)), cur: sd(inProgress, bakeTime, 2, 100, 100),
			wantLines: []string{"stage BAKE_TIME", "traffic " + Bar(0, 100)}, want: SDDecision{ProductionMoved: true, Baking: true},
		},
		{
			name: "succeeded", prev: sdPtr(sd(inProgress, bakeTime, 2, 100, 100)), cur: done,
			wantLines: []string{"service deployment SUCCESSFUL"}, want: SDDecision{Done: true, Succeeded: true},
		},
		{
			name: "alarm_triggers", prev: sdPtr(sd(inProgress, prodShift, 2, 10, 100)), cur: alarmed,
			wantLines: []string{"alarms TRIGGERED: web-5xx"},
		},
		{
			name: "circuit_breaker_rolls_back", prev: sdPtr(sd(inProgress, scaleUp, 1, 0, 0)), cur: rolled,
			wantLines: []string{
				"service deployment ROLLBACK_IN_PROGRESS", "green revision 222 (target): 0/2 running, 2 pending",
				"circuit breaker TRIGGERED (3 of 3 tasks failed)", "rolling back to revision 111: circuit breaker: 3 tasks failed",
			},
			want: SDDecision{RollingBack: true},
		},
		{
			name: "colours_follow_target_groups", cur: back,
			wantLines: []string{
				"service deployment IN_PROGRESS", "stage SCALE_UP", "green revision 222 (source): 2/2 running, 0 pending",
				"blue  revision 111 (target): 2/2 running, 0 pending", "traffic " + Bar(0, 100),
			},
		},
		{
			name: "colours_unknown", cur: noColours,
			wantLines: []string{
				"service deployment IN_PROGRESS", "stage SCALE_UP", "source revision 111 (source): 2/2 running, 0 pending",
				"target revision 222 (target): 0/2 running, 2 pending", "traffic " + Bar(100, 0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			events, d := EvaluateServiceDeployment(tt.prev, tt.cur, sdPlan)
			var lines []string
			for _, e := range events {
				lines = append(lines, e.String())
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, d); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func sdPtr[T any](v T) *T { return &v }

func TestNextServiceDeploymentRead(t *testing.T) {
	t.Parallel()
	baking := sd(inProgress, bakeTime, 2, 100, 100)
	baking.Updated = t0
	step := sd(inProgress, prodShift, 2, 10, 100)
	cleanUp := sd(inProgress, ecstypes.ServiceDeploymentLifecycleStageCleanUp, 2, 100, 100)
	cleanUp.Updated = t0
	tests := []struct {
		name    string
		m       SDMoment
		wantGap time.Duration
	}{
		{name: "ended", m: SDMoment{Obs: sd(ecstypes.ServiceDeploymentStatusSuccessful, "", 2, 100, 100), Now: t0}, wantGap: 0},
		{name: "just_changed", m: SDMoment{Obs: sd(inProgress, scaleUp, 1, 0, 0), Now: t0, Changed: t0}, wantGap: time.Second},
		{name: "quiet_for_a_while", m: SDMoment{Obs: sd(inProgress, scaleUp, 1, 0, 0), Now: t0.Add(8 * time.Second), Changed: t0}, wantGap: 4 * time.Second},
		{name: "quiet_long", m: SDMoment{Obs: sd(inProgress, postTest, 2, 0, 100, pauseWaiting), Now: t0.Add(time.Hour), Changed: t0}, wantGap: watchInterval},
		{name: "bake_far_off", m: SDMoment{Plan: sdPlan, Obs: baking, Now: t0.Add(time.Second), Changed: t0}, wantGap: watchInterval},
		{name: "bake_due_soon", m: SDMoment{Plan: sdPlan, Obs: baking, Now: t0.Add(5*time.Minute - 2*time.Second), Changed: t0}, wantGap: 2*time.Second + dueLag},
		{name: "bake_late", m: SDMoment{Plan: sdPlan, Obs: baking, Now: t0.Add(5*time.Minute + 4*time.Second), Changed: t0}, wantGap: 3 * time.Second},
		{name: "bake_unknown", m: SDMoment{Obs: baking, Now: t0.Add(time.Minute), Changed: t0}, wantGap: watchInterval},
		{name: "linear_step_due", m: SDMoment{Plan: sdPlan, Obs: step, Now: t0.Add(2*time.Minute - time.Second), Changed: t0, TrafficChanged: t0}, wantGap: time.Second + dueLag},
		{name: "clean_up_drains", m: SDMoment{Plan: ServiceDeploymentPlan{Drain: 30 * time.Second}, Obs: cleanUp, Now: t0.Add(29 * time.Second), Changed: t0}, wantGap: time.Second + dueLag},
		{name: "clean_up_drain_unknown", m: SDMoment{Obs: cleanUp, Now: t0.Add(30 * time.Second), Changed: t0}, wantGap: watchInterval},
		{name: "rolling_back_settles", m: SDMoment{Plan: sdPlan, Obs: sd(ecstypes.ServiceDeploymentStatusRollbackInProgress, "", 2, 0, 0), Now: t0, Changed: t0}, wantGap: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NextServiceDeploymentRead(tt.m).Sub(tt.m.Now); got != tt.wantGap {
				t.Errorf("gap = %s, want %s", got, tt.wantGap)
			}
		})
	}
}

func TestServiceDeploymentFromSDK_namesColoursByTargetGroup(t *testing.T) {
	t.Parallel()
	w := 100.0
	o := ServiceDeploymentFromSDK(t0, ecstypes.ServiceDeployment{
		Status: inProgress, LifecycleStage: bakeTime,
		TargetServiceRevision:  &ecstypes.ServiceRevisionSummary{Arn: sdPtr(revNew), RequestedProductionTrafficWeight: &w, RunningTaskCount: 2},
		SourceServiceRevisions: []ecstypes.ServiceRevisionSummary{{Arn: sdPtr(revOld)}},
		LifecycleHookDetails:   []ecstypes.DeploymentLifecycleHookDetail{{HookId: sdPtr("h1"), TargetType: "PAUSE", Status: "SUCCEEDED"}},
	}, func(r string) string { return map[string]string{revNew: tgBlue, revOld: tgGreen}[r] })
	if c := sdPlan.ColourOf(o.Target); c != "blue" || o.Target.Production != 100 || o.Target.Running != 2 || sdPlan.ColourOf(o.Source) != "green" {
		t.Errorf("target %+v colour %q, source %+v", o.Target, c, o.Source)
	}
	if len(o.Hooks) != 1 || !strings.HasPrefix(o.Hooks[0].ID, "h1") {
		t.Errorf("hooks %+v", o.Hooks)
	}
}
