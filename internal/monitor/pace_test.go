package monitor

import (
	"testing"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// canary10 is CodeDeployDefault.ECSCanary10Percent5Minutes with a 5-minute
// termination wait.
var canary10 = Plan{ShiftInterval: 5 * time.Minute, StepPercent: 10, TerminationWait: 5 * time.Minute, TerminationKnown: true}

// at builds an observation whose lifecycle events carry AWS times: every
// event that is not Pending started at start[name] (or t0) and every
// finished one ended there too.
func at(status cdtypes.DeploymentStatus, tgt *Target, times map[string]time.Time) Observation {
	o := obs(status, tgt)
	o.Created = t0
	if tgt != nil {
		for i, e := range tgt.LifecycleEvents {
			when, found := times[e.Name]
			if !found {
				when = t0
			}
			if e.Status != cdtypes.LifecycleEventStatusPending {
				tgt.LifecycleEvents[i].Start = when
			}
			if e.Status == ok || e.Status == skip {
				tgt.LifecycleEvents[i].End = when
			}
		}
	}
	return o
}

func TestNextRead(t *testing.T) {
	t.Parallel()
	s := time.Second
	// The canary's AllowTraffic started at t0: the step to 100% is due at t0+5m.
	bake := func() Observation {
		return at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run), nil)
	}
	// Traffic moved at t0: the termination wait ends at t0+5m.
	termination := func() Observation {
		return at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok), nil)
	}
	linear := Plan{ShiftInterval: time.Minute, StepPercent: 10, Linear: true}
	readyPlan := Plan{ReadyTimeout: time.Hour}
	ready := func() Observation {
		return at(cdtypes.DeploymentStatusReady, target(cdtypes.TargetStatusReady, 100, 0, ok, ok, ok, ok, ok), nil)
	}
	installing := func() Observation {
		return at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, run), nil)
	}
	for _, tt := range []struct {
		name      string
		plan      Plan
		o         Observation
		now       time.Duration // after t0
		changed   time.Duration // after t0
		following bool
		want      time.Duration // after t0
		targets   bool
		why       string
	}{
		{
			name: "bake_far_from_the_step_reads_rarely", plan: canary10, o: bake(), now: 30 * s, changed: 30 * s,
			// 270.25 s to the step: 23 even gaps of 11.75 s, the last on the step.
			want: 30*s + (270*s+250*time.Millisecond)/23, why: whyWatch,
		},
		{
			name: "bake_the_last_watch_read_lands_on_the_step", plan: canary10, o: bake(), now: 290 * s, changed: 30 * s,
			want: 300*s + dueLag, targets: true, why: whyDue,
		},
		{
			name: "bake_step_late_reads_soon", plan: canary10, o: bake(), now: 301 * s, changed: 30 * s,
			want: 301*s + 750*time.Millisecond, targets: true, why: whyLate,
		},
		{
			name: "bake_step_just_due_reads_at_the_floor", plan: canary10, o: bake(), now: 300*s + dueLag, changed: 30 * s,
			want: 300*s + dueLag + afterDueMin, targets: true, why: whyLate,
		},
		{
			name: "bake_step_long_late_caps_at_the_watch_interval", plan: canary10, o: bake(), now: 400 * s, changed: 30 * s,
			want: 400*s + watchInterval, targets: true, why: whyLate,
		},
		{
			name: "bake_unknown_plan_settles", plan: Plan{}, o: bake(), now: 100 * s, changed: 0,
			want: 100*s + watchInterval, targets: true, why: whySettle,
		},
		{
			name: "termination_wait_reads_rarely", plan: canary10, o: termination(), now: 10 * s, changed: 10 * s,
			want: 10*s + (290*s+dueLag)/25, why: whyWatch,
		},
		{
			name: "termination_end_reads_status_only", plan: canary10, o: termination(), now: 295 * s, changed: 10 * s,
			want: 300*s + dueLag, why: whyDue,
		},
		{
			name: "termination_wait_zero_is_due_at_once", plan: Plan{TerminationKnown: true}, o: termination(), now: 0, changed: 0,
			want: dueLag, why: whyDue,
		},
		{
			name: "termination_unknown_settles", plan: Plan{}, o: termination(), now: 4 * s, changed: 0,
			want: 6 * s, why: whySettle, targets: true,
		},
		{
			name: "linear_second_step_counts_from_allow_traffic", plan: linear,
			o:   at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 80, 20, ok, ok, ok, ok, ok, ok, run), nil),
			now: 110 * s, changed: 60 * s, want: 120*s + dueLag, targets: true, why: whyDue,
		},
		{
			name: "installing_followed_through_ecs", o: installing(), now: 5 * s, changed: 5 * s, following: true,
			want: 5*s + watchInterval, why: whyFollow,
		},
		{
			name: "installing_alone_settles_from_the_last_change", o: installing(), now: 10 * s, changed: 0,
			want: 15 * s, targets: true, why: whySettle,
		},
		{
			name: "settling_starts_at_a_second", plan: canary10,
			o:   at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run), nil),
			now: 3 * s, changed: 3 * s, want: 4 * s, targets: true, why: whySettle,
		},
		{
			name: "ready_just_entered_reads_soon_for_the_promotion", plan: readyPlan, o: ready(), now: 2 * s, changed: 2 * s,
			want: 3 * s, why: whySettle,
		},
		{
			name: "ready_timeout_is_read_at_its_end", plan: readyPlan, o: ready(), now: 3595 * s, changed: 0,
			want: 3600*s + dueLag, why: whyDue,
		},
		{name: "pending_reads_status_only", o: obs(cdtypes.DeploymentStatusCreated, nil), now: 0, want: pendingMin, why: whyPending},
		{
			name: "final_state_needs_no_read", o: termination(), now: 0, want: 0, why: whyTerminal,
			plan: canary10,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			if tt.why == whyTerminal {
				o.Status = cdtypes.DeploymentStatusSucceeded
			}
			stage, err := StageOf(o)
			if err != nil {
				t.Fatal(err)
			}
			got := NextRead(Moment{Plan: tt.plan, Obs: o, Stage: stage, Now: t0.Add(tt.now), Changed: t0.Add(tt.changed), Following: tt.following})
			if got.At.Sub(t0) != tt.want || got.Targets != tt.targets || got.Why != tt.why {
				t.Errorf("NextRead() = %v after t0, targets %v (%s); want %v, targets %v (%s)",
					got.At.Sub(t0), got.Targets, got.Why, tt.want, tt.targets, tt.why)
			}
		})
	}
}

// TestNextRead_timesComeFromAWS: the schedule counts from AllowTraffic's
// startTime, so an observation read late (or by a clock at another speed)
// plans the same read.
func TestNextRead_timesComeFromAWS(t *testing.T) {
	t.Parallel()
	start := t0.Add(-4 * time.Minute)
	o := at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run),
		map[string]time.Time{EventAllowTraffic: start})
	for _, seen := range []time.Time{t0.Add(-3 * time.Minute), t0.Add(50 * time.Second)} {
		o.At = seen
		got := NextRead(Moment{Plan: canary10, Obs: o, Stage: StageShifting, Now: t0.Add(55 * time.Second), Changed: start})
		if want := start.Add(5*time.Minute + dueLag); !got.At.Equal(want) {
			t.Errorf("observation read at %v: next read %v, want %v (the step from AllowTraffic's start)", seen, got.At, want)
		}
	}
}

// TestNextRead_budget walks the plan through a whole canary 10% / 5 minutes
// deployment with a 5-minute termination wait (the benchmark case),
// in AWS time, and counts CodeDeploy calls. It holds the plan, not a timing:
// the benchmark measures the real thing.
func TestNextRead_budget(t *testing.T) {
	t.Parallel()
	// The deployment's own schedule: install (followed through ECS) ends at
	// 60 s, test traffic and the hooks until 64 s, AllowTraffic from 64 s,
	// production moved at 364 s, the termination wait ends at 664 s.
	const (
		installEnd    = 60 * time.Second
		trafficStart  = 64 * time.Second
		moved         = trafficStart + 5*time.Minute
		final         = moved + 5*time.Minute
		stopWithin    = 15 * time.Second
		smokeWithin   = 2 * time.Second
		reactWithin   = time.Second
		maxReadsPerS  = 0.15
		followerEvery = 5 * time.Second // the ECS follower's longest gap
	)
	stateAt := func(now time.Duration) Observation {
		times := map[string]time.Time{
			EventBeforeInstall: t0, EventInstall: t0.Add(installEnd), EventAfterInstall: t0.Add(installEnd),
			EventAllowTestTraffic: t0.Add(installEnd + 2*time.Second), EventAfterAllowTestTraffic: t0.Add(installEnd + 2*time.Second),
			EventBeforeAllowTraffic: t0.Add(trafficStart), EventAllowTraffic: t0.Add(trafficStart), EventAfterAllowTraffic: t0.Add(moved),
		}
		var o Observation
		switch {
		case now < installEnd:
			o = at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, run), times)
		case now < installEnd+2*time.Second:
			o = at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, run), times)
		case now < trafficStart:
			o = at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 100, 0, ok, ok, ok, ok, run), times)
		case now < moved:
			o = at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusInProgress, 90, 10, ok, ok, ok, ok, ok, ok, run), times)
		case now < final:
			o = at(cdtypes.DeploymentStatusInProgress, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok), times)
		default:
			o = at(cdtypes.DeploymentStatusSucceeded, target(cdtypes.TargetStatusSucceeded, 0, 100, ok, ok, ok, ok, ok, ok, ok, ok), times)
		}
		o.At = t0.Add(now)
		return o
	}
	var now, changed, lastRead, maxGap, sawMoved, sawFinal time.Duration
	calls := 0
	var prevStage Stage = -1
	for {
		o := stateAt(now)
		stage, _ := StageOf(o)
		if stage != prevStage {
			changed = now
		}
		if stage >= StageTrafficMoved && sawMoved == 0 {
			sawMoved = now
		}
		prevStage = stage
		if stage.Terminal() {
			sawFinal = now
			break
		}
		r := NextRead(Moment{Plan: canary10, Obs: o, Stage: stage, Now: t0.Add(now), Changed: t0.Add(changed), Following: true})
		next := r.At.Sub(t0)
		targets := r.Targets
		if stage == StageInstalling && now < installEnd && next > installEnd {
			// The follower sees the replacement settle within its longest
			// gap and asks for a read, with the target, then.
			next, targets = min(next, installEnd+followerEvery), true
		}
		calls++ // GetDeployment
		if targets {
			calls++ // BatchGetDeploymentTargets
		}
		maxGap = max(maxGap, next-lastRead)
		lastRead, now = next, next
	}
	perSecond := float64(calls) / sawFinal.Seconds()
	t.Logf("%d CodeDeploy calls over %v (%.3f/s); longest gap %v; moved seen %v late; final seen %v late",
		calls, sawFinal, perSecond, maxGap, sawMoved-moved, sawFinal-final)
	if perSecond > maxReadsPerS {
		t.Errorf("%.3f CodeDeploy calls a second, want at most %.2f", perSecond, maxReadsPerS)
	}
	if maxGap > stopWithin {
		t.Errorf("longest gap between CodeDeploy reads %v: a stop nobody scheduled would be reported later than %v", maxGap, stopWithin)
	}
	if late := sawMoved - moved; late > smokeWithin {
		t.Errorf("production moved seen %v late, want within %v (the production smoke check starts then)", late, smokeWithin)
	}
	if late := sawFinal - final; late > reactWithin {
		t.Errorf("final state seen %v late, want within %v", late, reactWithin)
	}
}

// TestAWSTime: the map from the run's clock to AWS's learns an offset from
// the timestamps, keeps the rate at 1 against a clock that runs as fast as
// AWS's (even a skewed one), and learns the rate of a sped-up simulator the
// run's clock knows nothing of.
func TestAWSTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		speed    float64       // AWS seconds per second of the run's clock
		offset   time.Duration // AWS ahead of the run's clock
		minRate  float64
		maxRate  float64
		reads    int
		interval time.Duration
	}{
		{name: "real_time", speed: 1, reads: 50, interval: 2 * time.Second, minRate: 1, maxRate: 1},
		{name: "real_time_clock_5s_behind", speed: 1, offset: 5 * time.Second, reads: 50, interval: 2 * time.Second, minRate: 1, maxRate: 1},
		{name: "sandbox_at_60x_on_the_wall_clock", speed: 60, reads: 20, interval: 200 * time.Millisecond, minRate: 30, maxRate: 60},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var m awsTime
			for i := range tt.reads {
				local := t0.Add(time.Duration(i) * tt.interval)
				// AWS's time now; the answer's latest timestamp is a
				// transition a little before it.
				awsNow := t0.Add(tt.offset + time.Duration(float64(local.Sub(t0))*tt.speed))
				m.observe(local, awsNow.Add(-100*time.Millisecond))
				if got := m.now(local); got.After(awsNow.Add(time.Second)) {
					t.Fatalf("read %d: AWS now estimated %v, ahead of the real %v", i, got, awsNow)
				}
			}
			if r := m.r(); r < tt.minRate || r > tt.maxRate {
				t.Errorf("rate %.1f, want %.0f to %.0f", r, tt.minRate, tt.maxRate)
			}
			if tt.speed == 1 && m.offset < tt.offset-time.Second {
				t.Errorf("offset %v, want about %v", m.offset, tt.offset)
			}
		})
	}
}
