package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awsclient"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// Colours left in deploy.env: the one serving production, and the one
// deploy brought up for the switch (which switch then targets by default).
const (
	envLiveColour = "ECS_BLUEGREEN_LIVE_COLOUR"
	envIdleColour = "ECS_BLUEGREEN_IDLE_COLOUR"
)

// listenerRun is what the listener model's commands share.
type listenerRun struct {
	target *config.Target
	l      *deploy.Listener
	read   func(ctx context.Context) (*snapshot.Snapshot, error)
}

func (inv *invocation) listener(ctx context.Context) (*listenerRun, error) {
	t := inv.settings.Target
	c, err := inv.clients(ctx)
	if err != nil {
		return nil, err
	}
	run := &listenerRun{target: t}
	run.l = &deploy.Listener{
		ECS: c.ECS, ELB: c.ELB, CloudWatch: c.CloudWatch, Clock: inv.clock(), Log: inv.log,
		Progress: func(line string) { inv.progress(inv.clock().Now(), line) },
	}
	if sw := inv.settings.Switch; sw != nil {
		run.l.Alarms = sw.Alarms
	}
	r := &snapshot.Reader{ECS: c.ECS, ELB: c.ELB, CD: c.CodeDeploy}
	run.read = func(ctx context.Context) (*snapshot.Snapshot, error) {
		return r.ReadListener(ctx, t.Cluster, t.BlueService, t.GreenService, t.ListenerARN.String(), t.TestListenerARN.String())
	}
	return run, nil
}

// listenerNow is the listener model's run and its snapshot as it is now.
func (inv *invocation) listenerNow(ctx context.Context) (*listenerRun, *snapshot.Snapshot, error) {
	run, err := inv.listener(ctx)
	if err != nil {
		return nil, nil, err
	}
	s, err := run.read(ctx)
	return run, s, err
}

// switchTo is the colour asked for: --to on the command line, else
// BG_SWITCH_TO; empty means the idle one.
func (inv *invocation) switchTo() (snapshot.Colour, error) {
	sw := inv.settings.Switch
	to := snapshot.Colour(sw.To)
	if prepared := inv.getenv(envIdleColour); to == "" && (prepared == "blue" || prepared == "green") {
		// The colour this pipeline's deploy prepared: a retried or second
		// press of the button must not send production back.
		to = snapshot.Colour(prepared)
	}
	for i := 0; i < len(inv.args); i++ {
		a := inv.args[i]
		var v string
		switch {
		case a == "--to" && i+1 < len(inv.args):
			v = inv.args[i+1]
			i++
		case len(a) > 5 && a[:5] == "--to=":
			v = a[5:]
		default:
			return "", &usageError{msg: fmt.Sprintf("unknown argument %q", a), hint: "usage: ecs-bluegreen switch [--to blue|green]"}
		}
		if v != "blue" && v != "green" {
			return "", &usageError{msg: fmt.Sprintf("--to %q: want blue or green", v)}
		}
		to = snapshot.Colour(v)
	}
	return to, nil
}

// switchAndReport switches production and writes what is live now.
func (inv *invocation) switchAndReport(ctx context.Context, run *listenerRun, s *snapshot.Snapshot, to snapshot.Colour) error {
	sw := inv.settings.Switch
	res, err := run.l.Switch(ctx, s, deploy.SwitchRequest{To: to, Steps: sw.Steps, Interval: sw.Interval})
	if err != nil {
		// Say what is live after a refused or undone switch; the switch's
		// own error is the one that counts.
		_ = inv.reportListener(context.WithoutCancel(ctx), run)
		return interrupted(ctx, err)
	}
	if res.AlreadyLive {
		inv.log.Info("nothing to switch: production is already on "+string(res.To), "colour", string(res.To))
	} else {
		inv.log.Info("switched production traffic", "from", string(res.From), "to", string(res.To))
		inv.followLiveTag(ctx, s.Colour(res.To))
	}
	return inv.reportListener(ctx, run)
}

// followLiveTag moves the registries' live tag to the image the colour now
// serving production runs (after a switch, or a promote that ended the
// deployment), so verify's tag check and people reading the registry see
// what is live. A failure is reported, not fatal: traffic moved.
func (inv *invocation) followLiveTag(ctx context.Context, c *snapshot.ColourState) {
	if inv.settings.Registries == nil {
		return
	}
	digests := map[string]bool{}
	for _, ct := range c.Containers {
		if _, d, ok := strings.Cut(ct.Image, "@"); ok && inv.isReleasedRepository(ct.Image) {
			digests[d] = true
		}
	}
	if len(digests) != 1 {
		inv.log.Info("registry tags are left as they are: the live colour runs no single released image pinned by digest", "colour", string(c.Colour))
		return
	}
	for d := range digests {
		if err := inv.moveLiveTagsTo(ctx, d); err != nil {
			inv.log.Warn("production moved, but moving the registry's live tag failed", "error", err.Error())
		}
	}
}

// isReleasedRepository reports whether an image reference is in one of the
// repositories release copies to (the GitLab registry image, or the ECR
// repository by name).
func (inv *invocation) isReleasedRepository(ref string) bool {
	regs := inv.settings.Registries
	repo, _, _ := strings.Cut(ref, "@")
	if !regs.RegistryImage.IsZero() && repo == regs.RegistryImage.String() {
		return true
	}
	// BG_ECR_REPOSITORY is a full URI or a repository name such as team/web.
	ecr := regs.ECRRepository
	return ecr != "" && (repo == ecr || strings.HasSuffix(repo, "/"+ecr))
}

// reportListener writes the status reports and the live colour.
func (inv *invocation) reportListener(ctx context.Context, run *listenerRun) error {
	s, err := run.read(ctx)
	if err != nil {
		return err
	}
	inv.registryAfter(ctx, s, true) // moves the colour tags, then reads the registry
	dir := inv.settings.Output.Dir
	if err := writeStatus(dir, s); err != nil {
		return err
	}
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{envLiveColour: string(s.Live)}); err != nil {
		return err
	}
	_, err = fmt.Fprint(inv.env.Stdout, report.StatusMarkdown(s))
	return err
}

// switchColours is `switch` (and promote): production to the other colour.
func (m listenerModel) switchColours(ctx context.Context) error {
	inv := m.inv
	to, err := inv.switchTo()
	if err != nil {
		return err
	}
	run, s, err := inv.listenerNow(ctx)
	if err != nil {
		return err
	}
	return inv.switchAndReport(ctx, run, s, to)
}

// deploy is deploy in the listener model: render and register, bring
// the idle colour up on it behind the test route, smoke-check it, then
// switch (BG_SWITCH=auto) or leave the switch to its button.
func (m listenerModel) deploy(ctx context.Context) error {
	inv := m.inv
	run, s, err := inv.listenerNow(ctx)
	if err != nil {
		return err
	}
	if s.Live == "" {
		return &deploy.SwitchError{Msg: "production traffic is split between the colours: run switch to finish moving it before deploying"}
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	live := s.Colour(s.Live)
	r, err := inv.renderFiles(ctx, &deploy.ServiceSource{ECS: clients.ECS, Cluster: s.Cluster, Service: live.Service})
	if err != nil {
		return err
	}
	reg, _, err := registerRendered(ctx, inv, clients, r)
	if err != nil {
		return err
	}
	watch := inv.settings.Watch
	limit, err := inv.deadline(watch, nil)
	if err != nil {
		return err
	}
	idleCtx, cancel := context.WithTimeoutCause(ctx, limit, errIdleTimeout)
	idle, err := run.l.DeployIdle(idleCtx, s, reg.ARN)
	cancel()
	switch {
	case err != nil && errors.Is(context.Cause(idleCtx), errIdleTimeout):
		return &timeoutError{msg: fmt.Sprintf("the idle colour's service did not run %s stable and healthy within %s; production is untouched on %s, the idle service is left as it is", deploy.ShortTaskDef(reg.ARN), limit, s.Live)}
	case err != nil:
		return interrupted(ctx, err)
	}
	dir := inv.settings.Output.Dir
	dotenv := map[string]string{envImage: inv.settings.Image.Image.String(), envTaskDefinition: reg.ARN, envOutcome: "idle-ready", envIdleColour: string(idle)}
	maps.Copy(dotenv, inv.environmentURLs(ctx, clients.ELB, s.Routes.Production, s.Routes.Test))
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil {
		return err
	}
	checks := inv.settings.Checks
	if sm := smokeFor(checks, checks.TestURL); sm != nil {
		inv.log.Info("smoke check of the idle colour through the test route", "colour", string(idle), "url", sm.URL.Redacted())
		if _, err := verify.NewChecker(inv.log, nil).WithClock(inv.clock()).Run(ctx, *sm); err != nil {
			_ = report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{envOutcome: "smoke-failed"})
			return &deploy.SwitchError{Msg: fmt.Sprintf("%v; production is untouched on %s", err, s.Live)}
		}
	}
	if inv.settings.Switch.Switch != "auto" {
		inv.log.Info("the new version runs on the idle colour behind the test route; production moves when switch runs", "idle", string(idle), "live", string(s.Live))
		return inv.reportListener(ctx, run)
	}
	s, err = run.read(ctx)
	if err != nil {
		return err
	}
	if err := inv.switchAndReport(ctx, run, s, idle); err != nil {
		return err
	}
	// The switch moved the live tag to what production now runs.
	return report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{envOutcome: "succeeded"})
}

// registerRendered registers the rendered task definition (or reuses an
// identical latest revision), names it in the AppSpec, and keeps both files
// as artifacts, exactly as registered and sent, so a failed deployment can be
// read against what it was given. It returns the AppSpec's content.
func registerRendered(ctx context.Context, inv *invocation, clients *awsclient.Clients, r *rendered) (render.Registered, []byte, error) {
	reg, err := render.Register(ctx, clients.ECS, r.taskDef)
	if err != nil {
		return reg, nil, err
	}
	if reg.Reused {
		inv.log.Info("task definition unchanged: reusing the latest revision", "task_definition", reg.ARN)
	} else {
		inv.log.Info("registered task definition", "task_definition", reg.ARN)
	}
	if err := r.appSpec.Set(reg.ARN, "", 0); err != nil {
		return reg, nil, err
	}
	spec, err := r.appSpec.YAML()
	if err != nil {
		return reg, nil, err
	}
	return reg, spec, writeRendered(inv.settings.Output.Dir, r.taskDef, spec)
}

// rollback sends production back to the other colour at once, which
// still runs the previous version: mid-switch, back to the colour the
// IsProduction tag still names.
func (m listenerModel) rollback(ctx context.Context) error {
	inv := m.inv
	run, s, err := inv.listenerNow(ctx)
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
		return &usageError{msg: "production traffic is split and no target group is tagged IsProduction=true, so the colour to go back to is unknown", hint: "run switch --to blue or --to green"}
	}
	inv.log.Info("rolling back: production traffic goes to the other colour at once", "to", string(to))
	res, err := run.l.Switch(ctx, s, deploy.SwitchRequest{To: to, Steps: []int{100}})
	if err != nil {
		_ = inv.reportListener(context.WithoutCancel(ctx), run)
		return interrupted(ctx, err)
	}
	inv.log.Info("rolled back", "from", string(res.From), "to", string(res.To))
	inv.followLiveTag(ctx, s.Colour(res.To))
	return inv.reportListener(ctx, run)
}

// errIdleTimeout is the cause when bringing up the idle colour outlasts
// BG_TIMEOUT (or the job).
var errIdleTimeout = errors.New("timed out")

// timeoutError is a listener-model wait that ran out of time: exit 3.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) ExitCode() int { return ExitTimeout }

// interrupted tells a signal apart from a failure: when the job was
// cancelled, the error carries the signal (exit 130/143) after what the
// switch did about it (traffic sent back).
func interrupted(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		var sig Interrupted
		if errors.As(cause, &sig) {
			return fmt.Errorf("%w: %w", sig, err)
		}
	}
	return err
}
