package monitor

import (
	"fmt"
	"math"
	"strings"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// EventKind says what changed.
type EventKind int

// Kinds of change.
const (
	EventStatus    EventKind = iota // the deployment status changed
	EventStage                      // a stage worth announcing began (Ready, termination wait)
	EventLifecycle                  // a lifecycle event changed status
	EventTasks                      // a task set's counts or status changed
	EventTraffic                    // production traffic weights changed
	EventRollback                   // CodeDeploy started a rollback deployment, now followed
)

// Event is one change between two observations, printed as one log line.
type Event struct {
	Kind      EventKind
	At        time.Time
	Status    cdtypes.DeploymentStatus
	Stage     Stage
	Lifecycle LifecycleEvent
	TaskSet   TaskSet
	// Colour is the colour TaskSet serves (EventTasks): its target group's.
	Colour string
	// Blue and Green are production traffic percentages (EventTraffic).
	Blue, Green float64
	// NextShift is when the next canary/linear step is due, if known.
	NextShift time.Time
	// Deployment is the rollback deployment's id (EventRollback).
	Deployment string
}

func (e Event) String() string {
	switch e.Kind {
	case EventStatus:
		return "deployment " + string(e.Status)
	case EventStage:
		switch e.Stage {
		case StageReady:
			return "replacement ready: waiting for promotion before production traffic moves"
		case StageTerminationWait:
			return "production traffic moved; the original task set is kept until the termination wait ends"
		default:
			return "stage " + e.Stage.String()
		}
	case EventLifecycle:
		s := fmt.Sprintf("%-22s %s", e.Lifecycle.Name, e.Lifecycle.Status)
		if e.Lifecycle.ErrorCode != "" && e.Lifecycle.ErrorCode != cdtypes.LifecycleErrorCodeSuccess {
			s += fmt.Sprintf(" (%s)", e.Lifecycle.ErrorCode)
		}
		if e.Lifecycle.Message != "" && e.Lifecycle.Status == cdtypes.LifecycleEventStatusFailed {
			s += ": " + e.Lifecycle.Message
		}
		return s
	case EventTasks:
		c := e.Colour
		if c == "" {
			c = colour(e.TaskSet.Label)
		}
		return fmt.Sprintf("%-5s task set %s: %d/%d running, %d pending", c, e.TaskSet.Status, e.TaskSet.Running, e.TaskSet.Desired, e.TaskSet.Pending)
	case EventRollback:
		return "rolling back: following rollback deployment " + e.Deployment
	case EventTraffic:
		s := "traffic " + Bar(e.Blue, e.Green)
		if !e.NextShift.IsZero() {
			s += " · next shift " + e.NextShift.UTC().Format("15:04:05") + " UTC"
		}
		return s
	default:
		return fmt.Sprintf("event(%d)", int(e.Kind))
	}
}

func colour(l cdtypes.TargetLabel) string {
	switch l {
	case cdtypes.TargetLabelBlue:
		return "blue"
	case cdtypes.TargetLabelGreen:
		return "green"
	default:
		return strings.ToLower(string(l))
	}
}

// barWidth is the number of cells in the traffic bar.
const barWidth = 20

// Bar draws the production split as "blue  70% ██████████████░░░░░░  30% green":
// each colour's share next to its name, the bar between them.
func Bar(blue, green float64) string {
	total := blue + green
	greenCells := 0
	if total > 0 {
		greenCells = int(math.Round(green / total * barWidth))
	}
	return fmt.Sprintf("blue %3.0f%% %s%s %3.0f%% green",
		blue, strings.Repeat("█", barWidth-greenCells), strings.Repeat("░", greenCells), green)
}

// diff lists the changes from prev to cur.
func diff(prev *Observation, cur Observation, stage, prevStage Stage, plan Plan) []Event {
	var events []Event
	if prev == nil || prev.Status != cur.Status {
		events = append(events, Event{Kind: EventStatus, At: cur.At, Status: cur.Status})
	}
	if stage != prevStage && (stage == StageReady || stage == StageTerminationWait) {
		events = append(events, Event{Kind: EventStage, At: cur.At, Stage: stage})
	}
	if cur.Target == nil {
		return events
	}
	var prevTarget *Target
	if prev != nil {
		prevTarget = prev.Target
	}
	for _, e := range cur.Target.LifecycleEvents {
		old, ok := prevTarget.Event(e.Name)
		if (ok && old.Status == e.Status) || (!ok && (e.Status == cdtypes.LifecycleEventStatusPending || e.Status == "")) {
			continue
		}
		events = append(events, Event{Kind: EventLifecycle, At: cur.At, Lifecycle: e})
	}
	for _, ts := range cur.Target.TaskSets {
		old, ok := prevTarget.TaskSet(ts.Label)
		if ok && old.ID == ts.ID && old.Status == ts.Status && old.Desired == ts.Desired && old.Running == ts.Running && old.Pending == ts.Pending {
			continue
		}
		events = append(events, Event{Kind: EventTasks, At: cur.At, TaskSet: ts, Colour: plan.ColourOf(ts)})
	}
	blue, green := weights(cur.Target, plan)
	if prevTarget == nil || func() bool { pb, pg := weights(prevTarget, plan); return pb != blue || pg != green }() {
		ev := Event{Kind: EventTraffic, At: cur.At, Blue: blue, Green: green}
		if moved := replacementWeight(cur.Target); stage == StageShifting && moved > 0 && moved < 100 {
			// From AWS's own times, never from when we happened to look.
			if due, ok := plan.Due(cur, stage); ok {
				ev.NextShift = due
			}
		}
		events = append(events, ev)
	}
	return events
}

// weights are the production shares of the blue and green colours, each
// task set counted for the colour of its target group.
func weights(t *Target, plan Plan) (blue, green float64) {
	for _, ts := range t.TaskSets {
		switch plan.ColourOf(ts) {
		case "blue":
			blue += ts.Weight
		case "green":
			green += ts.Weight
		}
	}
	return blue, green
}

// replacementWeight is the replacement task set's share of production.
func replacementWeight(t *Target) float64 {
	r, _ := t.TaskSet(cdtypes.TargetLabelGreen)
	return r.Weight
}
