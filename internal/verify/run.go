package verify

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// exitVerify is verify's exit code for a finding (DESIGN §3).
const exitVerify = 4

// Plan is what a verify run checks besides the snapshot itself.
type Plan struct {
	Expectations
	// CloudWatch reads the alarms: the deployment group's when the
	// snapshot has one, else Alarms (BG_ALARMS, the listener model's).
	CloudWatch cloudWatchAPI
	Alarms     []string
	// LiveTag is the registry tag that must name the live colour's image.
	LiveTag string
	// ProdURL and TestURL are the smoke checks of BG_PROD_URL and
	// BG_TEST_URL; nil when the variable is not set (the check is skipped).
	ProdURL, TestURL *Smoke
	Checker          *Checker
}

// Run runs every check of verify in its order: traffic, tasks, health,
// pinning and (listener model) the IsProduction tags over the snapshot;
// the alarms; the live tag and the colour tags; the production and test
// URLs. A check that only warns is added to s.Warnings, so that status
// shows it.
func Run(ctx context.Context, s *snapshot.Snapshot, p Plan) Report {
	results := CheckSnapshot(s, p.Expectations)
	alarms := p.Alarms
	if s.Group != nil {
		alarms = s.Group.Alarms
	}
	results = append(results, CheckAlarms(ctx, p.CloudWatch, alarms), CheckLiveTag(s, p.LiveTag), CheckColourTags(s))
	for _, u := range []struct {
		name  string
		smoke *Smoke
		env   string
	}{{"production URL answers", p.ProdURL, "BG_PROD_URL"}, {"test URL answers", p.TestURL, "BG_TEST_URL"}} {
		if u.smoke == nil {
			results = append(results, CheckResult{Name: u.name, Skipped: true, Message: u.env + " is not set"})
			continue
		}
		res, err := p.Checker.Run(ctx, *u.smoke)
		r := CheckResult{Name: u.name, Passed: err == nil, Duration: res.Duration}
		if err != nil {
			r.Message = err.Error()
		} else {
			r.Message = fmt.Sprintf("%d requests passed", res.Passes)
		}
		results = append(results, r)
	}
	for _, r := range results {
		if r.Warned() {
			s.Warnings = append(s.Warnings, r.Name+": "+r.Message)
		}
	}
	return Report{Results: results}
}

// Report is the results of one verify run, in the order the checks ran.
type Report struct {
	Results []CheckResult
}

// Err is a *FailedError naming every check that fails verify, or nil.
func (r Report) Err() error {
	var failed []CheckResult
	for _, c := range r.Results {
		if c.Failed() {
			failed = append(failed, c)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &FailedError{Failed: failed}
}

// Lines are the results as the log shows them, one a line: ok, skip, warn
// or FAIL, the check's name and its message.
func (r Report) Lines() []string {
	out := make([]string, 0, len(r.Results))
	for _, c := range r.Results {
		mark := "ok  "
		switch {
		case c.Skipped:
			mark = "skip"
		case c.Warned():
			mark = "warn"
		case !c.Passed:
			mark = "FAIL"
		}
		out = append(out, mark+" "+c.Name+": "+c.Message)
	}
	return out
}

// AsCase is the result as a JUnit case shows it: JUnit has no warning, so
// a warning is a passing case whose message says it.
func (r CheckResult) AsCase() CheckResult {
	if r.Warned() {
		r.Passed, r.Message = true, "warning: "+r.Message
	}
	return r
}

// FailedError is a verify run with failed checks: exit 4.
type FailedError struct {
	Failed []CheckResult
}

// ExitCode is 4: verify found a problem.
func (e *FailedError) ExitCode() int { return exitVerify }

func (e *FailedError) Error() string {
	lines := make([]string, 0, len(e.Failed)+1)
	lines = append(lines, fmt.Sprintf("verify found %d problems:", len(e.Failed)))
	for _, r := range e.Failed {
		lines = append(lines, "  "+r.Name+": "+r.Message)
	}
	return strings.Join(lines, "\n")
}
