package deploy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// Interfaces of the listener model's calls.
type (
	listenerECS interface {
		DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
		UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	}
	listenerELB interface {
		snapshot.RouteReader
		ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, optFns ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
		ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, optFns ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
		AddTags(ctx context.Context, in *elb.AddTagsInput, optFns ...func(*elb.Options)) (*elb.AddTagsOutput, error)
		DescribeTargetHealth(ctx context.Context, in *elb.DescribeTargetHealthInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error)
	}
)

// Listener drives the listener model: two ECS services, one per colour,
// and production traffic moved between their target groups by rewriting the
// production listener's (or rule's) forward action.
type Listener struct {
	ECS        listenerECS
	ELB        listenerELB
	CloudWatch alarmReader
	// Alarms must be OK before each switch step and while it bakes.
	Alarms []string
	Clock  monitor.Clock
	Log    *slog.Logger
	// Progress prints one line of progress.
	Progress func(line string)
	// Poll is how often waits look again (default 3 s).
	Poll time.Duration
	// JobEnd is when the job's time runs out (CI.JobEnd): sending traffic
	// back after an interrupt keeps trying until then (zero: stopGrace).
	JobEnd time.Time
	// Origin marks this run's pipeline (deploy.Origin): DeployIdle records
	// it on the colour it brings up (recordOrigin).
	Origin string
	// known are the routes' actions as last observed or written: the
	// snapshot's at first, then what each step wrote, so a step never reads
	// back the route it just rewrote.
	known map[string][]elbtypes.Action
}

// SwitchError is a switch that was refused or undone: exit 1, unless what
// caused it carries its own exit code (a signal: 130 or 143).
type SwitchError struct {
	Msg string
	// Err is the cause, when there is one: errors.As and errors.Is see it.
	Err error
	// Returned is true when traffic had started moving and was sent back.
	Returned bool
}

func (e *SwitchError) Error() string { return e.Msg }

func (e *SwitchError) Unwrap() error { return e.Err }

// ExitCode is the cause's exit code when it has one, else 1.
func (e *SwitchError) ExitCode() int {
	var coded interface{ ExitCode() int }
	if errors.As(e.Err, &coded) {
		return coded.ExitCode()
	}
	return 1
}

// SwitchRequest says where production traffic goes, and how.
type SwitchRequest struct {
	// To is the colour to send production traffic to; empty means the one
	// that is not live.
	To snapshot.Colour
	// Steps are the new colour's percentages, ending at 100; nil means one
	// step.
	Steps []int
	// Interval is the pause after each step but the last, watched.
	Interval time.Duration
}

// SwitchResult says what a switch did.
type SwitchResult struct {
	From, To snapshot.Colour
	// AlreadyLive: production was already on To; only the test route and
	// tags were made to agree.
	AlreadyLive bool
}

func (l *Listener) poll() time.Duration {
	if l.Poll > 0 {
		return l.Poll
	}
	return 3 * time.Second
}

func (l *Listener) progress(format string, args ...any) {
	if l.Progress != nil {
		l.Progress(fmt.Sprintf(format, args...))
	}
}

// Switch moves production traffic to the other colour in one rewrite of the
// production route per step (so no request ever finds no target), checking
// the new colour's health and the alarms before each step and while each
// step bakes, and sending traffic back if a check fails. Once production is
// on the new colour the test route serves the old one, for an instant way
// back, and the IsProduction tags follow. A switch to the colour that is
// already live changes nothing but those two.
func (l *Listener) Switch(ctx context.Context, s *snapshot.Snapshot, req SwitchRequest) (SwitchResult, error) {
	from := s.Live
	to := req.To
	switch {
	case from == "" && to == "":
		return SwitchResult{}, &SwitchError{Msg: fmt.Sprintf("production traffic is split (%s): say which colour it goes to with --to or BG_SWITCH_TO", split(s))}
	case to == "":
		to = from.Other()
	case from == "":
		from = to.Other()
	}
	res := SwitchResult{From: from, To: to}
	l.known = maps.Clone(s.Routes.Actions)
	// old is always the other colour: when production is already on to,
	// from is to, and the test route and tags must go to the other one.
	target, old := s.Colour(to), s.Colour(to.Other())
	if s.Live == to {
		res.AlreadyLive = true
		l.Log.Info("production traffic is already on this colour: only the test route and tags are checked", "colour", string(to))
		return res, l.settle(ctx, s, target, old)
	}
	steps := req.Steps
	if len(steps) == 0 {
		steps = []int{100}
	}
	for i, pct := range steps {
		if pct < 1 || pct > 100 || i > 0 && pct <= steps[i-1] || i == len(steps)-1 && pct != 100 {
			return res, fmt.Errorf("switch steps %v: want rising percentages from 1 to 100, ending at 100", steps)
		}
	}
	// The first gate is the snapshot's own reading of this moment.
	if err := l.observedGate(ctx, target); err != nil {
		return res, &SwitchError{Msg: fmt.Sprintf("refusing to switch production to %s: %v", to, err), Err: err}
	}
	for i, pct := range steps {
		if i > 0 {
			if err := l.gate(ctx, target); err != nil {
				return res, l.returnTraffic(ctx, s, old, target, fmt.Sprintf("before the %d%% step, %v", pct, err), err)
			}
		}
		if err := l.setWeights(ctx, s.Routes.Production, target.TargetGroupARN, old.TargetGroupARN, int32(pct)); err != nil { //nolint:gosec // steps are checked to be 1..100 above
			if i == 0 {
				return res, err
			}
			return res, l.returnTraffic(ctx, s, old, target, fmt.Sprintf("the step failed: %v", err), err)
		}
		l.progress("production traffic %s", trafficBar(to, pct))
		if i == len(steps)-1 {
			break
		}
		if err := l.bake(ctx, target, req.Interval); err != nil {
			return res, l.returnTraffic(ctx, s, old, target, fmt.Sprintf("at %d%%, %v", pct, err), err)
		}
	}
	return res, l.settle(ctx, s, target, old)
}

// settle points the test route at the old colour and moves the tags.
func (l *Listener) settle(ctx context.Context, s *snapshot.Snapshot, live, idle *snapshot.ColourState) error {
	if s.Routes.Test != "" && idle.TestWeight < 100 {
		if err := l.setWeights(ctx, s.Routes.Test, idle.TargetGroupARN, live.TargetGroupARN, 100); err != nil {
			return fmt.Errorf("production is on %s, but pointing the test route at %s failed: %w", live.Colour, idle.Colour, err)
		}
		l.progress("test traffic now reaches %s, ready for a switch back", idle.Colour)
	}
	for _, t := range []struct {
		c     *snapshot.ColourState
		value string
	}{{live, "true"}, {idle, "false"}} {
		if t.c.IsProduction == t.value {
			continue
		}
		if _, err := l.ELB.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{t.c.TargetGroupARN}, Tags: []elbtypes.Tag{{Key: aws.String("IsProduction"), Value: aws.String(t.value)}}}); err != nil {
			return fmt.Errorf("tagging target group %s IsProduction=%s: %w", t.c.TargetGroup, t.value, err)
		}
	}
	return nil
}

// returnTraffic sends all production traffic back to the old colour.
func (l *Listener) returnTraffic(ctx context.Context, s *snapshot.Snapshot, old, target *snapshot.ColourState, why string, cause error) error {
	l.Log.Error("switch failed: sending production traffic back", "to", string(old.Colour), "reason", why)
	// The job may be ending: the way back must not die with its context,
	// and has what is left of the job (JobEnd), as the codedeploy stop has.
	backCtx, cancel := untilJobEnd(ctx, l.JobEnd)
	defer cancel()
	if err := l.sendBack(backCtx, s.Routes.Production, old.TargetGroupARN, target.TargetGroupARN); err != nil {
		return &SwitchError{Msg: fmt.Sprintf("switch to %s failed (%s) and sending production traffic back to %s failed too: %v; fix the production route by hand", target.Colour, why, old.Colour, err), Err: errors.Join(cause, err)}
	}
	l.progress("production traffic %s", trafficBar(old.Colour, 100))
	return &SwitchError{Msg: fmt.Sprintf("switch to %s failed %s; production traffic is back on %s", target.Colour, why, old.Colour), Err: cause, Returned: true}
}

// gate is the check before each step: the new colour has healthy targets
// and none failing, and no alarm fires.
func (l *Listener) gate(ctx context.Context, c *snapshot.ColourState) error {
	now := *c
	if err := snapshot.ReadHealth(ctx, l.ELB, &now); err != nil {
		return fmt.Errorf("reading the health of %s (%s): %w", c.Colour, c.TargetGroup, err)
	}
	return l.observedGate(ctx, &now)
}

// observedGate is gate on the snapshot's health of the colour, read in the
// same observation as the routes.
func (l *Listener) observedGate(ctx context.Context, c *snapshot.ColourState) error {
	if len(c.Unhealthy) > 0 {
		bad := make([]string, 0, len(c.Unhealthy))
		for _, t := range c.Unhealthy {
			bad = append(bad, fmt.Sprintf("%s:%d %s (%s)", t.ID, t.Port, t.State, t.Reason))
		}
		return fmt.Errorf("%s has unhealthy targets: %s", c.Colour, strings.Join(bad, "; "))
	}
	if c.Healthy == 0 {
		return fmt.Errorf("%s (target group %s) has no healthy targets", c.Colour, c.TargetGroup)
	}
	return l.alarmsOK(ctx)
}

func (l *Listener) alarmsOK(ctx context.Context) error {
	if len(l.Alarms) == 0 || l.CloudWatch == nil {
		return nil
	}
	alarms, err := verify.ReadAlarms(ctx, l.CloudWatch, l.Alarms)
	if err != nil {
		return err
	}
	var firing []string
	for _, a := range verify.Firing(alarms) {
		firing = append(firing, a.Name+" ("+a.Reason+")")
	}
	if len(firing) > 0 {
		return fmt.Errorf("alarm in ALARM: %s", strings.Join(firing, "; "))
	}
	return nil
}

// bake waits out a step's interval, checking the gate on every poll.
func (l *Listener) bake(ctx context.Context, c *snapshot.ColourState, interval time.Duration) error {
	clock := l.clock()
	end := clock.Now().Add(interval)
	for {
		left := end.Sub(clock.Now())
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-clock.After(min(left, l.poll())):
		}
		if err := l.gate(ctx, c); err != nil {
			return err
		}
	}
}

func (l *Listener) clock() monitor.Clock {
	if l.Clock != nil {
		return l.Clock
	}
	return monitor.RealClock{}
}

// setWeights rewrites a route's forward action to send pct percent to one
// target group and the rest to the other, in one call, keeping every other
// action (authentication before the forward) and the stickiness setting.
func (l *Listener) setWeights(ctx context.Context, route, toTG, otherTG string, pct int32) error {
	actions, ok := l.known[route]
	if !ok {
		var err error
		if actions, err = snapshot.RouteActions(ctx, l.ELB, route); err != nil {
			return err
		}
	}
	forward := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(toTG), Weight: aws.Int32(pct)},
			{TargetGroupArn: aws.String(otherTG), Weight: aws.Int32(100 - pct)},
		},
	}}
	var out []elbtypes.Action
	replaced := false
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			out = append(out, a)
			continue
		}
		forward.Order = a.Order
		if a.ForwardConfig != nil {
			forward.ForwardConfig.TargetGroupStickinessConfig = a.ForwardConfig.TargetGroupStickinessConfig
		}
		out = append(out, forward)
		replaced = true
	}
	if !replaced {
		return fmt.Errorf("route %s has no forward action to move: it must forward to the colours' target groups", route)
	}
	var err error
	if snapshot.IsRule(route) {
		_, err = l.ELB.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(route), Actions: out})
	} else {
		_, err = l.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(route), DefaultActions: out})
	}
	if err != nil {
		delete(l.known, route) // what the route holds now is unknown
		return fmt.Errorf("rewriting route %s: %w", route, err)
	}
	if l.known != nil {
		l.known[route] = out
	}
	return nil
}

// forwardsTo reports whether actions forward to the target group, at any weight.
func forwardsTo(actions []elbtypes.Action, tg string) bool {
	_, ok := snapshot.ForwardWeights(actions)[tg]
	return ok
}

func split(s *snapshot.Snapshot) string {
	parts := make([]string, 0, len(s.Colours))
	for _, c := range s.Colours {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", c.Colour, c.ProductionWeight))
	}
	return strings.Join(parts, ", ")
}

// trafficBar draws the split with blue always on the left.
func trafficBar(to snapshot.Colour, toPct int) string {
	blue := 100 - toPct
	if to == snapshot.Blue {
		blue = toPct
	}
	return monitor.Bar(float64(blue), float64(100-blue))
}

// DeployIdle updates the idle colour's service to a task definition and
// waits until it runs it, stable and healthy behind its target group. The
// test route is pointed at it first, so the smoke check that follows sees
// the new version. It returns the idle colour.
func (l *Listener) DeployIdle(ctx context.Context, s *snapshot.Snapshot, taskDefARN string) (snapshot.Colour, error) {
	l.known = maps.Clone(s.Routes.Actions)
	if s.Live == "" {
		return "", &SwitchError{Msg: fmt.Sprintf("production traffic is split (%s): finish or undo that switch before deploying", split(s))}
	}
	idle := s.Colour(s.Live.Other())
	live := s.Colour(s.Live)
	switch {
	case s.Routes.Test != "" && idle.TestWeight < 100:
		if err := l.setWeights(ctx, s.Routes.Test, idle.TargetGroupARN, live.TargetGroupARN, 100); err != nil {
			return "", err
		}
	case s.Routes.Test == "" && !forwardsTo(s.Routes.Actions[s.Routes.Production], idle.TargetGroupARN):
		// A load balancer health-checks a target group only while a listener
		// forwards to it; one nobody uses answers "unused" (aws-facts §4.3),
		// and the switch would refuse a colour whose health it cannot see.
		// With no test route the idle colour joins production's forward at
		// weight 0: checked, and sent no request until the switch moves it.
		if err := l.setWeights(ctx, s.Routes.Production, idle.TargetGroupARN, live.TargetGroupARN, 0); err != nil {
			return "", err
		}
		l.progress("%s joins the production route at weight 0, so its health is checked before traffic moves", idle.Colour)
	}
	in := &ecs.UpdateServiceInput{Cluster: aws.String(s.Cluster), Service: aws.String(idle.Service), TaskDefinition: aws.String(taskDefARN)}
	if idle.TaskSet != nil && live.TaskSet != nil && idle.TaskSet.Desired == 0 && live.TaskSet.Desired > 0 {
		// An idle colour kept at zero comes up at production's size.
		in.DesiredCount = aws.Int32(live.TaskSet.Desired)
	}
	if _, err := l.ECS.UpdateService(ctx, in); err != nil {
		return "", fmt.Errorf("updating service %s (%s) to %s: %w", idle.Service, idle.Colour, taskDefARN, err)
	}
	l.Log.Info("updating the idle colour", "colour", string(idle.Colour), "service", idle.Service, "task_definition", taskDefARN)
	l.recordOrigin(ctx, idle)
	return idle.Colour, l.waitStable(ctx, s.Cluster, idle, taskDefARN)
}

// waitStable waits until a service's only deployment runs the task
// definition with every task running and every target healthy. A rollout
// ECS marks FAILED, or as many tasks stopped for failed health checks as the
// service wants, ends the wait with the reason.
func (l *Listener) waitStable(ctx context.Context, cluster string, c *snapshot.ColourState, taskDefARN string) error {
	clock := l.clock()
	last := ""
	for {
		// One observation: the rollout and the colour's health, each read
		// once by the snapshot's readers.
		rollout, err := snapshot.ReadRollout(ctx, l.ECS, cluster, c.Service)
		if err != nil {
			return err
		}
		primary := rollout.Primary
		if primary == nil || aws.ToString(primary.TaskDefinition) != taskDefARN {
			return fmt.Errorf("service %s no longer rolls out %s: another update replaced it", c.Service, taskDefARN)
		}
		if primary.RolloutState == ecstypes.DeploymentRolloutStateFailed {
			return &SwitchError{Msg: fmt.Sprintf("the rollout of %s on %s (%s) failed: %s", ShortTaskDef(taskDefARN), c.Service, c.Colour, aws.ToString(primary.RolloutStateReason))}
		}
		now := *c
		if err := snapshot.ReadHealth(ctx, l.ELB, &now); err != nil {
			return fmt.Errorf("reading the health of %s: %w", c.TargetGroup, err)
		}
		healthy, other, unhealthy := now.Healthy, now.Other, len(now.Unhealthy)
		line := fmt.Sprintf("%s service %s: %d/%d running, %d pending; targets %d healthy, %d unhealthy, %d other",
			c.Colour, c.Service, primary.RunningCount, primary.DesiredCount, primary.PendingCount, healthy, unhealthy, other)
		if line != last {
			l.progress("%s", line)
			last = line
		}
		done := rollout.Deployments == 1 && primary.RunningCount == primary.DesiredCount && primary.PendingCount == 0 &&
			healthy == int(primary.DesiredCount) && unhealthy == 0 && other == 0
		if done {
			return nil
		}
		if primary.FailedTasks >= primary.DesiredCount && primary.DesiredCount > 0 {
			return &SwitchError{Msg: fmt.Sprintf("%d tasks of %s on %s (%s) failed to start or stay healthy; production is untouched", primary.FailedTasks, ShortTaskDef(taskDefARN), c.Service, c.Colour)}
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-clock.After(l.poll()):
		}
	}
}
