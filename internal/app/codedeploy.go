package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// codeDeployRun is what promote, rollback, finish and deploy share: the
// resolved service and group, and a session to watch a deployment with.
type codeDeployRun struct {
	cd      *deploy.CodeDeploy
	target  *deploy.Target
	session *deploy.Session
	dep     *config.Deployment
}

// codeDeploy resolves the service and its group once per run: the status
// a command ends with uses the same resolution and reads only what changed.
func (inv *invocation) codeDeploy(ctx context.Context) (*codeDeployRun, error) {
	if inv.cd != nil {
		return inv.cd, nil
	}
	run, err := inv.resolveCodeDeploy(ctx)
	if err != nil {
		return nil, err
	}
	inv.cd = run
	return run, nil
}

func (inv *invocation) resolveCodeDeploy(ctx context.Context) (*codeDeployRun, error) {
	target := inv.settings.Target
	clients, err := inv.clients(ctx)
	if err != nil {
		return nil, err
	}
	cdSettings := inv.settings.CodeDeploy
	cdClient := clients.CodeDeploy
	cd := &deploy.CodeDeploy{ECS: clients.ECS, CD: cdClient, Clock: inv.clock()}
	t, err := cd.Resolve(ctx, target.Cluster, target.Service, cdSettings.Application, cdSettings.DeploymentGroup, cdSettings.DeploymentConfig)
	if err != nil {
		return nil, err
	}
	if inv.cmd.name == "deploy" || inv.cmd.name == "promote" {
		// Only these watch traffic shift: the plan paces the reads around
		// each canary or linear step (and deploy's estimate needs it).
		if err := cd.LoadPlan(ctx, t); err != nil {
			return nil, err
		}
	}
	inv.log.Info("resolved service", "cluster", t.Cluster, "service", t.Service, "application", t.Application, "deployment_group", t.Group, "deployment_config", t.Config)

	run := &codeDeployRun{cd: cd, target: t}
	if d := inv.settings.Deployment; d != nil {
		run.dep = d
	} else {
		run.dep = &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"}
	}
	watch := inv.settings.Watch
	if watch == nil { // status and verify only read
		watch = &config.Watch{OnTimeout: config.TimeoutLeave}
	}
	s := &deploy.Session{
		CD: cd,
		Watcher: monitor.Watcher{
			API: cdClient, Clock: inv.clock(), Plan: t.Plan,
			// While the replacement starts, ECS and ELBv2 are read instead of
			// CodeDeploy, whose budget the whole account shares.
			Replacement: &monitor.Replacement{ECS: clients.ECS, ELB: clients.ELB, Cluster: t.Cluster, Service: t.Service},
			OnEvent:     func(e monitor.Event) { inv.progress(e.At, e.String()) },
			OnWarning:   func(msg string) { inv.log.Warn(msg) },
		},
		Smoke:       verify.NewChecker(inv.log, nil).WithClock(inv.clock()),
		Promote:     deploy.PromotePolicy(run.dep.Promote),
		WaitFor:     deploy.WaitFor(run.dep.WaitFor),
		OnInterrupt: deploy.InterruptPolicy(run.dep.OnInterrupt),
		OnTimeout:   deploy.TimeoutPolicy(watch.OnTimeout),
		Region:      clients.Config.Region,
		Log:         inv.log,
		StopUntil:   inv.jobEnd(),
	}
	s.Evidence = &deploy.Evidence{ECS: clients.ECS, ELB: clients.ELB, CloudWatch: clients.CloudWatch, Cluster: t.Cluster, Service: t.Service, Alarms: t.Alarms()}
	if checks := inv.settings.Checks; checks != nil {
		s.TestSmoke = smokeFor(checks, checks.TestURL)
		s.ProdSmoke = smokeFor(checks, checks.ProdURL)
	}
	var est *deploy.Estimate
	if inv.cmd.name == "deploy" {
		e := t.Estimate(s.Promote, s.WaitFor)
		est = &e
	}
	if s.Timeout, err = inv.deadline(watch, est); err != nil {
		return nil, err
	}
	run.session = s
	return run, nil
}

func smokeFor(c *config.Checks, u config.URL) *verify.Smoke {
	if u.IsZero() {
		return nil
	}
	return &verify.Smoke{
		URL: u.URL, Pass: c.SmokeStatus.Contains, PassText: c.SmokeStatus.String(), Body: c.SmokeBody.Regexp,
		Host: c.SmokeHost, Successes: c.SmokeSuccesses, MaxFailures: c.SmokeFailures,
		Interval: c.SmokeInterval, Timeout: c.SmokeTimeout,
	}
}

// deadline is how long to watch (deploy.Deadline), from BG_TIMEOUT and the
// job's CI_JOB_TIMEOUT.
func (inv *invocation) deadline(w *config.Watch, est *deploy.Estimate) (time.Duration, error) {
	inputs := componentInputs(inv.env.Environ)
	in := deploy.Inputs{Timeout: inputs["BG_TIMEOUT"], WaitFor: inputs["BG_WAIT_FOR"], JobTimeout: inputs["CI_JOB_TIMEOUT"]}
	return deploy.Deadline(w.Timeout, inv.getenv("CI_JOB_TIMEOUT"), est, in, inv.log)
}

// progress prints one line of deployment progress on stderr.
func (inv *invocation) progress(at time.Time, line string) {
	fmt.Fprintf(inv.env.Stderr, "%s  %s\n", at.UTC().Format("15:04:05"), line)
}

// deploymentID is BG_DEPLOYMENT_ID, else the group's deployment in progress.
func (r *codeDeployRun) deploymentID(ctx context.Context) (string, error) {
	if r.dep.DeploymentID != "" {
		return r.dep.DeploymentID, nil
	}
	active, err := r.cd.InFlight(ctx, r.target)
	if err != nil {
		return "", err
	}
	if active == nil {
		return "", nil
	}
	return *active.DeploymentId, nil
}

// buttonDeployment is the deployment a button (promote, finish) acts on.
// With none in progress it says so and returns "": a button pressed when
// there is nothing to do leaves the pipeline green (what names the action,
// needs what it acts on).
func (r *codeDeployRun) buttonDeployment(ctx context.Context, log *slog.Logger, what, needs string) (string, error) {
	id, err := r.deploymentID(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		log.Info(fmt.Sprintf("nothing to %s: no deployment of %s/%s is in progress (%s)", what, r.target.Application, r.target.Group, needs))
	}
	return id, nil
}
