package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// defaultTimeout is used when neither BG_TIMEOUT nor CI_JOB_TIMEOUT is set.
const (
	defaultTimeout = time.Hour
	// jobTimeoutMargin leaves the job time to stop the deployment and write
	// its reports before GitLab kills it.
	jobTimeoutMargin = 5 * time.Minute
)

func (inv *invocation) codeDeploy(ctx context.Context) (*codeDeployRun, error) {
	target := inv.settings["target"].(*config.Target)
	if target.Mode == config.ModeListener || target.BlueService != "" {
		return nil, &usageError{msg: "the listener model (BG_BLUE_SERVICE/BG_GREEN_SERVICE) is not implemented yet in this release", hint: "use a CODE_DEPLOY service with BG_SERVICE"}
	}
	if target.Mode == config.ModeECS {
		return nil, &usageError{msg: "BG_MODE=ecs (ECS native blue/green) is not implemented yet", hint: "use a CODE_DEPLOY service, or leave BG_MODE unset"}
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return nil, err
	}
	cdSettings := inv.settings["codedeploy"].(*config.CodeDeploy)
	cdClient := clients.CodeDeploy
	cd := &deploy.CodeDeploy{ECS: clients.ECS, CD: cdClient}
	t, err := cd.Resolve(ctx, target.Cluster, target.Service, cdSettings.Application, cdSettings.DeploymentGroup, cdSettings.DeploymentConfig)
	if err != nil {
		return nil, err
	}
	inv.log.Info("resolved service", "cluster", t.Cluster, "service", t.Service, "application", t.Application, "deployment_group", t.Group, "deployment_config", t.Config)

	run := &codeDeployRun{cd: cd, target: t}
	if d, ok := inv.settings["deployment"].(*config.Deployment); ok {
		run.dep = d
	} else {
		run.dep = &config.Deployment{Promote: "auto", WaitFor: "complete", OnBusy: "wait", OnInterrupt: "rollback"}
	}
	watch, ok := inv.settings["watch"].(*config.Watch)
	if !ok { // status and verify only read
		watch = &config.Watch{OnTimeout: config.TimeoutLeave}
	}
	s := &deploy.Session{
		CD: cd,
		Watcher: monitor.Watcher{
			API: cdClient, Clock: monitor.RealClock{}, Plan: t.Plan,
			OnEvent:   func(e monitor.Event) { inv.progress(e.At, e.String()) },
			OnWarning: func(msg string) { inv.log.Warn(msg) },
		},
		Smoke:       verify.NewChecker(inv.log, nil),
		Promote:     deploy.PromotePolicy(run.dep.Promote),
		WaitFor:     deploy.WaitFor(run.dep.WaitFor),
		OnInterrupt: deploy.InterruptPolicy(run.dep.OnInterrupt),
		OnTimeout:   deploy.TimeoutPolicy(watch.OnTimeout),
		Region:      clients.Config.Region,
		Log:         inv.log,
	}
	s.Evidence = &deploy.Evidence{ECS: clients.ECS, ELB: clients.ELB, CloudWatch: clients.CloudWatch, Cluster: t.Cluster, Service: t.Service, Alarms: t.Alarms()}
	if checks, ok := inv.settings["checks"].(*config.Checks); ok {
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

// deadline is how long to watch: BG_TIMEOUT, else all the time the job has
// (CI_JOB_TIMEOUT less a margin for stopping and reporting), else an hour or
// more if the estimate says the deployment needs it. Before a deployment is
// started, est says how long it should take: when that cannot fit in the job
// the run stops here, with nothing changed, instead of timing out midway.
func (inv *invocation) deadline(w *config.Watch, est *deploy.Estimate) (time.Duration, error) {
	var available time.Duration
	if v, ok := config.EnvironLookuper(inv.env.Environ).Lookup("CI_JOB_TIMEOUT"); ok {
		if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && time.Duration(secs)*time.Second > 2*jobTimeoutMargin {
			available = time.Duration(secs)*time.Second - jobTimeoutMargin
		}
	}
	fixTimeout := "raise the job's timeout (the timeout keyword, or the project's CI/CD settings)"
	inputs := componentInputs(inv.env.Environ)
	if in, ok := inputs["CI_JOB_TIMEOUT"]; ok {
		fixTimeout = "raise the job's timeout (the component's " + in + " input)"
	}
	if w.Timeout > 0 {
		if available > 0 && w.Timeout > available {
			return 0, &usageError{
				msg:  fmt.Sprintf("BG_TIMEOUT is %s, but the job may run only %s more (CI_JOB_TIMEOUT less %s to stop and report)", w.Timeout, available, jobTimeoutMargin),
				hint: "lower " + withInput("BG_TIMEOUT", inputs) + ", or " + fixTimeout,
			}
		}
		if est != nil && w.Timeout < est.Total {
			inv.log.Warn("BG_TIMEOUT is shorter than the deployment is expected to take", "timeout", w.Timeout.String(), "expected", est.String())
		}
		return w.Timeout, nil
	}
	if est != nil && available > 0 && est.Total > available {
		return 0, &usageError{
			msg:  fmt.Sprintf("the deployment is expected to take %s, but the job may run only %s (CI_JOB_TIMEOUT less %s to stop and report)", est, available, jobTimeoutMargin),
			hint: fixTimeout + ", or set BG_WAIT_FOR=traffic" + inputNote("BG_WAIT_FOR", inputs) + " so the job ends once production traffic has moved (finish or the scheduled verify see the rest)",
		}
	}
	switch {
	case available > 0:
		return available, nil
	case est != nil && est.Total+est.Total/2 > defaultTimeout:
		return est.Total + est.Total/2, nil
	default:
		return defaultTimeout, nil
	}
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

// requireDeployment is deploymentID, or a usage error when nothing is in
// progress: what names the action ("promote"), hint says what it needs.
func (r *codeDeployRun) requireDeployment(ctx context.Context, what, hint string) (string, error) {
	id, err := r.deploymentID(ctx)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", &usageError{msg: fmt.Sprintf("no deployment of %s/%s is in progress to %s", r.target.Application, r.target.Group, what), hint: hint}
	}
	return id, nil
}
