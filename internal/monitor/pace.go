package monitor

import (
	"math"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// The polling plan. CodeDeploy's read budget is the account's, shared by
// every pipeline and tool in the region, so the watcher reads it by what is
// known rather than on a fixed beat:
//
//   - a wait whose end the schedule gives (the canary or linear interval
//     counted from AllowTraffic's startTime, the termination wait from the
//     end of the last traffic event, a Ready wait that times out) is read
//     only every watchInterval, to catch what nobody scheduled (a stop, an
//     alarm, a rollback: all show in the deployment's status), and then
//     quickly from the moment the transition is due;
//   - a phase of unknown length that has just changed (hooks, test traffic,
//     Ready just entered) is read soon, then less often the longer nothing
//     changes;
//   - while the replacement starts, ECS task sets and target health (other
//     services' budgets) are followed instead, and CodeDeploy is read when
//     they say something changed (follow.go).
//
// Every time here is AWS's: the schedule counts from the times CodeDeploy
// reports, and "now" is the run's clock corrected by what the responses
// showed (Watcher.skew). At the sandbox's speeds the run's clock runs as fast
// as the simulator's, so the plan, and what it decides, is the same at 1x,
// 10x and 60x.
const (
	// watchInterval is the longest gap between CodeDeploy reads: a stop or
	// rollback nobody scheduled is reported within it (goal: 15 s).
	watchInterval = 12 * time.Second
	// dueLag is how long after the due moment the first read goes: AWS
	// stamps the transition at or after it.
	dueLag = 250 * time.Millisecond
	// afterDueMin is the shortest gap between reads once a transition is
	// due and has not shown yet; the gap grows with how late it is.
	afterDueMin = 500 * time.Millisecond
	// settleMin is the first gap after a change in a phase of unknown length.
	settleMin = time.Second
	// pendingMin paces a deployment that is Created or Queued.
	pendingMin = time.Second
	// maxThrottledInterval caps the back-off on throttling.
	maxThrottledInterval = 30 * time.Second
)

// Moment is what the plan knows when it decides: the latest observation and
// its stage, AWS's time now, and when the watcher last saw something change.
type Moment struct {
	Plan  Plan
	Obs   Observation
	Stage Stage
	// Now is AWS's time now (the run's clock plus the learnt skew).
	Now time.Time
	// Changed is AWS's time of the last change the watcher saw; zero counts
	// as Now.
	Changed time.Time
	// Following is true when the replacement is followed through ECS and
	// ELBv2 while it starts, so CodeDeploy need not be read for it.
	Following bool
}

// Read is the plan's answer: when to read CodeDeploy next, in AWS time, and
// whether that read includes the ECS target (the second call that carries
// lifecycle events and traffic weights).
type Read struct {
	At      time.Time
	Targets bool
	// Why names the rule, for tests and the debug log.
	Why string
}

// Rules, as Read.Why names them.
const (
	whyPending  = "pending"
	whySettle   = "settling"
	whyFollow   = "following the replacement"
	whyWatch    = "watching a scheduled wait"
	whyDue      = "transition due"
	whyLate     = "transition late"
	whyTerminal = "ended"
)

// NextRead is the polling plan: given what is known at one moment, when the
// next CodeDeploy read goes and what it reads.
func NextRead(m Moment) Read {
	changed := m.Changed
	if changed.IsZero() || changed.After(m.Now) {
		changed = m.Now
	}
	// Lifecycle events move without the status changing, so a settling read
	// includes the target; at Ready only a status change (the promotion, a
	// stop) can come, and the watcher reads the target when the status changes.
	settle := Read{At: m.Now.Add(backoff(m.Now.Sub(changed), settleMin)), Targets: m.Stage != StageReady, Why: whySettle}
	switch m.Stage {
	case StageSucceeded, StageFailed, StageStopped:
		return Read{At: m.Now, Why: whyTerminal}
	case StagePending:
		// No target yet (ListDeploymentTargets answers DeploymentNotStarted).
		return Read{At: m.Now.Add(backoff(m.Now.Sub(changed), pendingMin)), Why: whyPending}
	case StageInstalling:
		if m.Following {
			return Read{At: m.Now.Add(watchInterval), Why: whyFollow}
		}
		return settle
	}
	due, ok := m.Plan.Due(m.Obs, m.Stage)
	if !ok {
		// Test traffic, hooks, traffic moved, an open-ended Ready wait, an
		// all-at-once shift: nothing says when the next change comes.
		return settle
	}
	// The step itself shows in the target's weights; every other scheduled
	// end shows in the deployment's status.
	targets := m.Stage == StageShifting
	first := due.Add(dueLag)
	var r Read
	if late := m.Now.Sub(due); late >= dueLag {
		gap := min(max(time.Duration(float64(late)*0.75), afterDueMin), watchInterval)
		r = Read{At: m.Now.Add(gap), Targets: targets, Why: whyLate}
	} else {
		// Spread the watch reads evenly so the last lands on the due
		// moment instead of just before it.
		remaining := first.Sub(m.Now)
		n := math.Ceil(float64(remaining) / float64(watchInterval))
		r = Read{At: m.Now.Add(time.Duration(float64(remaining) / n)), Why: whyWatch}
		if n <= 1 {
			r = Read{At: first, Targets: targets, Why: whyDue}
		}
	}
	if m.Stage == StageReady && settle.At.Before(r.At) {
		// Entering Ready is when the tool (or a person) promotes: read
		// again soon, the Ready timeout is only the latest bound.
		return settle
	}
	return r
}

// backoff is the gap before the next read in a phase of unknown length:
// half the time since the last change, at least floor, at most watchInterval.
func backoff(since, floor time.Duration) time.Duration {
	return min(max(since/2, floor), watchInterval)
}

// Due is when, in AWS time, the deployment's next scheduled transition is
// due, counted from the times AWS reported: the next canary or linear step
// from AllowTraffic's startTime, the end of the termination wait from the
// last traffic event's endTime, the Ready timeout from the end of test
// traffic. ok is false when the schedule does not say.
func (p Plan) Due(o Observation, stage Stage) (time.Time, bool) {
	t := o.Target
	switch stage {
	case StageShifting:
		e, ok := t.Event(EventAllowTraffic)
		if !ok || e.Start.IsZero() || p.ShiftInterval <= 0 || p.StepPercent <= 0 {
			return time.Time{}, false
		}
		// Steps taken so far: the first comes as AllowTraffic starts.
		steps := math.Floor(replacementWeight(t)/p.StepPercent + 1e-9)
		if !p.Linear {
			steps = min(steps, 1)
		}
		return e.Start.Add(time.Duration(steps) * p.ShiftInterval), true
	case StageTerminationWait:
		if !p.TerminationKnown {
			return time.Time{}, false
		}
		end := latestEnd(t, EventAllowTraffic, EventAfterAllowTraffic)
		if end.IsZero() {
			return time.Time{}, false
		}
		return end.Add(p.TerminationWait), true
	case StageReady:
		if p.ReadyTimeout <= 0 {
			return time.Time{}, false
		}
		end := latestEnd(t, EventAllowTestTraffic, EventAfterAllowTestTraffic)
		if end.IsZero() {
			return time.Time{}, false
		}
		return end.Add(p.ReadyTimeout), true
	}
	return time.Time{}, false
}

// latestEnd is the latest endTime among the named lifecycle events.
func latestEnd(t *Target, names ...string) time.Time {
	var end time.Time
	for _, n := range names {
		if e, ok := t.Event(n); ok && e.End.After(end) && e.Status != cdtypes.LifecycleEventStatusPending {
			end = e.End
		}
	}
	return end
}

// latestTime is the latest AWS timestamp an observation carries: a lower
// bound of AWS's clock when the answer left.
func latestTime(o Observation) time.Time {
	latest := o.Created
	for _, t := range []time.Time{o.Started, o.Completed} {
		if t.After(latest) {
			latest = t
		}
	}
	if o.Target != nil {
		for _, e := range o.Target.LifecycleEvents {
			for _, t := range []time.Time{e.Start, e.End} {
				if t.After(latest) {
					latest = t
				}
			}
		}
	}
	return latest
}

// Throttled returns the next poll interval after a throttling error: doubled,
// capped, so a throttled account is not hammered.
func Throttled(last time.Duration) time.Duration {
	if last < settleMin {
		last = settleMin
	}
	return min(2*last, maxThrottledInterval)
}
