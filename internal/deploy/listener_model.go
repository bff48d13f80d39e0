package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// ListenerModel is two services behind one production listener or rule.
type ListenerModel struct {
	d *Deps
	l *Listener
	r *snapshot.Reader
}

// NewListenerModel is the listener model built from d.
func NewListenerModel(d Deps) *ListenerModel {
	m := &ListenerModel{d: &d}
	m.l = &Listener{
		ECS: d.Clients.ECS, ELB: d.Clients.ELB, CloudWatch: d.Clients.CloudWatch, Clock: d.Clock, Log: d.Log,
		Progress: m.d.progress, Origin: d.CI.Origin, JobEnd: d.CI.JobEnd,
	}
	if sw := d.Settings.Switch; sw != nil {
		m.l.Alarms = sw.Alarms
	}
	m.r = &snapshot.Reader{ECS: d.Clients.ECS, ELB: d.Clients.ELB, CD: d.Clients.CodeDeploy}
	return m
}

var _ Model = (*ListenerModel)(nil)

// Services are both colours' services.
func (m *ListenerModel) Services() []string {
	t := m.d.Settings.Target
	return []string{t.BlueService, t.GreenService}
}

// Snapshot reads both colours and the routes.
func (m *ListenerModel) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	t := m.d.Settings.Target
	return m.r.ReadListener(ctx, t.Cluster, t.BlueService, t.GreenService, t.ListenerARN.String(), t.TestListenerARN.String())
}

// Promote in the listener model is switching production to the idle colour.
func (m *ListenerModel) Promote(ctx context.Context, to snapshot.Colour) error {
	return m.Switch(ctx, to)
}

// Finish has nothing to end: the old colour stays up behind the test route.
func (m *ListenerModel) Finish(context.Context) error {
	return &UsageError{Msg: "finish ends CodeDeploy's termination wait; the listener model has none (the old colour stays up behind the test route)", Hint: "nothing to do: switch or rollback move production"}
}

// Switch is `switch` (and promote): production to the other colour.
func (m *ListenerModel) Switch(ctx context.Context, to snapshot.Colour) error {
	s, err := m.Snapshot(ctx)
	if err != nil {
		return err
	}
	return m.switchAndReport(ctx, s, to)
}

// switchAndReport switches production and writes what is live now.
func (m *ListenerModel) switchAndReport(ctx context.Context, s *snapshot.Snapshot, to snapshot.Colour) error {
	d := m.d
	sw := d.Settings.Switch
	res, err := m.l.Switch(ctx, s, SwitchRequest{To: to, Steps: sw.Steps, Interval: sw.Interval})
	if err != nil {
		// Say what is live after a refused or undone switch; the switch's
		// own error is the one that counts.
		_ = m.report(context.WithoutCancel(ctx))
		return d.interrupted(ctx, err)
	}
	if res.AlreadyLive {
		d.Log.Info("nothing to switch: production is already on "+string(res.To), "colour", string(res.To))
	} else {
		d.Log.Info("switched production traffic", "from", string(res.From), "to", string(res.To))
		followLiveTag(ctx, d, s.Colour(res.To))
	}
	return m.report(ctx)
}

// report writes the status reports and the live colour.
func (m *ListenerModel) report(ctx context.Context) error {
	s, err := m.Snapshot(ctx)
	if err != nil {
		return err
	}
	return m.d.Reports.Status(ctx, s)
}

// errIdleTimeout is the cause when bringing up the idle colour outlasts
// BG_TIMEOUT (or the job).
var errIdleTimeout = errors.New("timed out")

// Deploy is deploy in the listener model: render and register, bring
// the idle colour up on it behind the test route, smoke-check it, then
// switch (BG_SWITCH=auto) or leave the switch to its button.
func (m *ListenerModel) Deploy(ctx context.Context) error {
	d := m.d
	s, err := m.Snapshot(ctx)
	if err != nil {
		return err
	}
	if s.Live == "" {
		return &SwitchError{Msg: "production traffic is split between the colours: run switch to finish moving it before deploying"}
	}
	// An outdated deploy is refused before anything changes (registering
	// the task definition included).
	allowOutdated := d.CI.Redeploy != "" || d.Settings.Deployment != nil && d.Settings.Deployment.AllowOutdated
	if err := RefuseOutdatedColours(s, d.CI.Origin, allowOutdated); err != nil {
		return err
	}
	live := s.Colour(s.Live)
	// The live service as this observation read it: render falls back on it
	// without reading it again.
	r, err := d.Render(ctx, &ServiceSource{ECS: d.Clients.ECS, Cluster: s.Cluster, Service: live.Service, State: live.ServiceState})
	if err != nil {
		return err
	}
	reg, _, err := d.registerRendered(ctx, r)
	if err != nil {
		return err
	}
	// The snapshots after the switch show this revision without describing it.
	m.r.Registered(reg.ARN, containersOf(r.TaskDef))
	limit, err := d.deadline(d.Settings.Watch, nil)
	if err != nil {
		return err
	}
	idleCtx, cancel := context.WithTimeoutCause(ctx, limit, errIdleTimeout)
	idle, err := m.l.DeployIdle(idleCtx, s, reg.ARN)
	cancel()
	switch {
	case err != nil && errors.Is(context.Cause(idleCtx), errIdleTimeout):
		return &WaitTimeoutError{Msg: fmt.Sprintf("the idle colour's service did not run %s stable and healthy within %s; production is untouched on %s, the idle service is left as it is", ShortTaskDef(reg.ARN), limit, s.Live)}
	case err != nil:
		return d.interrupted(ctx, err)
	}
	dotenv := map[string]string{EnvImage: d.Settings.Image, EnvTaskDefinition: reg.ARN, EnvOutcome: "idle-ready", EnvIdleColour: string(idle)}
	maps.Copy(dotenv, environmentURLs(ctx, d.Log, d.Clients.ELB, d.Settings.Checks, s.Routes.Production, s.Routes.Test))
	if err := d.Reports.Dotenv(dotenv); err != nil {
		return err
	}
	if sm := SmokeFor(d.Settings.Checks, d.Settings.Checks.TestURL); sm != nil {
		d.Log.Info("smoke check of the idle colour through the test route", "colour", string(idle), "url", sm.URL.Redacted())
		if _, err := verify.NewChecker(d.Log, nil).WithClock(d.clock()).Run(ctx, *sm); err != nil {
			_ = d.Reports.Dotenv(map[string]string{EnvOutcome: "smoke-failed"})
			return &SwitchError{Msg: fmt.Sprintf("%v; production is untouched on %s", err, s.Live)}
		}
	}
	if d.Settings.Switch.Switch != "auto" {
		d.Log.Info("the new version runs on the idle colour behind the test route; production moves when switch runs", "idle", string(idle), "live", string(s.Live))
		return m.report(ctx)
	}
	s, err = m.Snapshot(ctx)
	if err != nil {
		return err
	}
	if err := m.switchAndReport(ctx, s, idle); err != nil {
		return err
	}
	// The switch moved the live tag to what production now runs.
	return d.Reports.Dotenv(map[string]string{EnvOutcome: "succeeded"})
}

// Rollback sends production back to the other colour at once, which
// still runs the previous version: mid-switch, back to the colour the
// IsProduction tag still names.
func (m *ListenerModel) Rollback(ctx context.Context) error {
	d := m.d
	s, err := m.Snapshot(ctx)
	if err != nil {
		return err
	}
	to := snapshot.Colour("")
	switch {
	case s.Live != "":
		to = s.Live.Other()
	default:
		for _, c := range s.Colours {
			if c.IsProduction == "true" {
				to = c.Colour
			}
		}
	}
	if to == "" {
		return &UsageError{Msg: "production traffic is split and no target group is tagged IsProduction=true, so the colour to go back to is unknown", Hint: "run switch --to blue or --to green"}
	}
	d.Log.Info("rolling back: production traffic goes to the other colour at once", "to", string(to))
	res, err := m.l.Switch(ctx, s, SwitchRequest{To: to, Steps: []int{100}})
	if err != nil {
		_ = m.report(context.WithoutCancel(ctx))
		return d.interrupted(ctx, err)
	}
	d.Log.Info("rolled back", "from", string(res.From), "to", string(res.To))
	followLiveTag(ctx, d, s.Colour(res.To))
	return m.report(ctx)
}

// followLiveTag moves the registries' live tag to the image the colour now
// serving production runs (after a switch, or a promote that ended the
// deployment), so verify's tag check and people reading the registry see
// what is live. A failure is reported, not fatal: traffic moved.
func followLiveTag(ctx context.Context, d *Deps, c *snapshot.ColourState) {
	if d.Tags == nil {
		return
	}
	digests := map[string]bool{}
	for _, ct := range c.Containers {
		if _, dg, ok := strings.Cut(ct.Image, "@"); ok && d.Tags.Released(ct.Image) {
			digests[dg] = true
		}
	}
	if len(digests) != 1 {
		d.Log.Info("registry tags are left as they are: the live colour runs no single released image pinned by digest", "colour", string(c.Colour))
		return
	}
	for dg := range digests {
		if err := d.Tags.MoveLive(ctx, dg); err != nil {
			d.Log.Warn("production moved, but moving the registry's live tag failed", "error", err.Error())
		}
	}
}
