package deploy

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// installAllowance is what the estimate allows for the replacement task set
// to start and pass its health checks, and for the test traffic checks: it
// depends on the image and the health check, which the group does not say.
const installAllowance = 10 * time.Minute

// Estimate is how long a deployment is expected to keep the deploy job, from
// the deployment group and configuration.
type Estimate struct {
	Total time.Duration
	// Parts name what the total is made of, for the message that says it
	// does not fit.
	Parts []string
}

func (e Estimate) String() string {
	return fmt.Sprintf("about %s (%s)", e.Total, strings.Join(e.Parts, ", "))
}

// TerminationWait is how long CodeDeploy keeps the original task set once
// production traffic moved: the window in which a stop can still roll back.
// ok is false when the group does not say (no blue/green configuration).
func (t *Target) TerminationWait() (wait time.Duration, ok bool) {
	g := t.GroupInfo
	if g == nil || g.BlueGreenDeploymentConfiguration == nil || g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess == nil {
		return 0, false
	}
	o := g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess
	if o.Action != cdtypes.InstanceActionTerminate {
		return 0, false // the original tasks are kept: nothing is lost
	}
	return time.Duration(o.TerminationWaitTimeInMinutes) * time.Minute, true
}

// Estimate works out how long deploy will watch: starting the replacement,
// the wait at Ready when CodeDeploy itself waits, the traffic shifts, and the
// termination wait unless the job ends once traffic moved.
func (t *Target) Estimate(promote PromotePolicy, waitFor WaitFor) Estimate {
	e := Estimate{Total: installAllowance, Parts: []string{installAllowance.String() + " to start and check the replacement"}}
	add := func(d time.Duration, what string) {
		if d > 0 {
			e.Total += d
			e.Parts = append(e.Parts, d.String()+" "+what)
		}
	}
	var ready *cdtypes.DeploymentReadyOption
	var terminate *cdtypes.BlueInstanceTerminationOption
	if g := t.GroupInfo; g != nil && g.BlueGreenDeploymentConfiguration != nil {
		ready = g.BlueGreenDeploymentConfiguration.DeploymentReadyOption
		terminate = g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess
	}
	if ready != nil && ready.ActionOnTimeout == cdtypes.DeploymentReadyActionStopDeployment {
		if promote == PromoteManual {
			// The job ends at Ready; promote runs in a later job.
			return e
		}
	} else if ready != nil {
		add(time.Duration(ready.WaitTimeInMinutes)*time.Minute, "wait before traffic moves")
	}
	add(t.ShiftTime, "shifting traffic ("+t.Config+")")
	if waitFor != WaitForTraffic && terminate != nil && terminate.Action == cdtypes.InstanceActionTerminate {
		add(time.Duration(terminate.TerminationWaitTimeInMinutes)*time.Minute, "termination wait")
	}
	return e
}

// Time budget when neither BG_TIMEOUT nor CI_JOB_TIMEOUT says.
const (
	defaultTimeout = time.Hour
	// jobTimeoutMargin leaves the job time to stop the deployment and write
	// its reports before GitLab kills it.
	jobTimeoutMargin = 5 * time.Minute
)

// BudgetError is a deployment that cannot fit in the time the job has:
// exit 2, found before anything changed.
type BudgetError struct {
	Msg, Hint string
}

func (e *BudgetError) Error() string { return e.Msg }

// ExitCode is 2: nothing was changed (DESIGN §3).
func (e *BudgetError) ExitCode() int { return 2 }

// ErrorHint says how to make the deployment fit.
func (e *BudgetError) ErrorHint() string { return e.Hint }

// Inputs name the GitLab component inputs behind the settings a budget
// hint mentions, so a component job's refusal says what to change in
// .gitlab-ci.yml. Empty outside a component.
type Inputs struct {
	Timeout, WaitFor, JobTimeout string
}

// Deadline is how long to watch: timeout (BG_TIMEOUT), else all the time the
// job has (jobTimeout, GitLab's CI_JOB_TIMEOUT in seconds, less a margin for
// stopping and reporting), else an hour or more if the estimate says the
// deployment needs it. Before a deployment is started, est says how long it
// should take: when that cannot fit in the job the run stops here, with
// nothing changed, instead of timing out midway.
func Deadline(timeout time.Duration, jobTimeout string, est *Estimate, in Inputs, log *slog.Logger) (time.Duration, error) {
	var available time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(jobTimeout)); err == nil && time.Duration(secs)*time.Second > 2*jobTimeoutMargin {
		available = time.Duration(secs)*time.Second - jobTimeoutMargin
	}
	note := func(input string) string {
		if input == "" {
			return ""
		}
		return " (the component's " + input + " input)"
	}
	fixTimeout := "raise the job's timeout (the timeout keyword, or the project's CI/CD settings)"
	if in.JobTimeout != "" {
		fixTimeout = "raise the job's timeout" + note(in.JobTimeout)
	}
	if timeout > 0 {
		if available > 0 && timeout > available {
			return 0, &BudgetError{
				Msg:  fmt.Sprintf("BG_TIMEOUT is %s, but the job may run only %s more (CI_JOB_TIMEOUT less %s to stop and report)", timeout, available, jobTimeoutMargin),
				Hint: "lower BG_TIMEOUT" + note(in.Timeout) + ", or " + fixTimeout,
			}
		}
		if est != nil && timeout < est.Total && log != nil {
			log.Warn("BG_TIMEOUT is shorter than the deployment is expected to take", "timeout", timeout.String(), "expected", est.String())
		}
		return timeout, nil
	}
	if est != nil && available > 0 && est.Total > available {
		return 0, &BudgetError{
			Msg:  fmt.Sprintf("the deployment is expected to take %s, but the job may run only %s (CI_JOB_TIMEOUT less %s to stop and report)", est, available, jobTimeoutMargin),
			Hint: fixTimeout + ", or set BG_WAIT_FOR=traffic" + note(in.WaitFor) + " so the job ends once production traffic has moved (finish or the scheduled verify see the rest)",
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
