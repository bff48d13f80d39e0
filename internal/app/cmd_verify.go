package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// verifyFailedError is a verify run with failed checks: exit 4.
type verifyFailedError struct {
	failed []verify.CheckResult
}

func (e *verifyFailedError) ExitCode() int { return ExitVerify }

func (e *verifyFailedError) Error() string {
	lines := make([]string, 0, len(e.failed)+1)
	lines = append(lines, fmt.Sprintf("verify found %d problems:", len(e.failed)))
	for _, r := range e.failed {
		lines = append(lines, "  "+r.Name+": "+r.Message)
	}
	return strings.Join(lines, "\n")
}

// runVerify checks what is live and writes junit.xml and the status reports.
func runVerify(ctx context.Context, inv *invocation) error {
	s, err := inv.snapshot(ctx)
	if err != nil {
		return err
	}
	inv.readRegistryTags(ctx, s)
	checks := inv.settings.Checks
	results := verify.CheckSnapshot(s, verify.Expectations{MaxDeploymentAge: checks.StuckAfter, Now: inv.clock().Now(), RequireDigest: checks.RequireDigest})
	c, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	switch sw := inv.settings.Switch; {
	case s.Group != nil:
		results = append(results, verify.CheckAlarms(ctx, c.CloudWatch, s.Group.Alarms))
	case sw != nil:
		results = append(results, verify.CheckAlarms(ctx, c.CloudWatch, sw.Alarms))
	}
	results = append(results, verify.CheckLiveTag(s, inv.settings.Registries.LiveTag), verify.CheckColourTags(s))
	checker := verify.NewChecker(inv.log, nil).WithClock(inv.clock())
	for _, u := range []struct {
		name string
		url  config.URL
		env  string
	}{{"production URL answers", checks.ProdURL, "BG_PROD_URL"}, {"test URL answers", checks.TestURL, "BG_TEST_URL"}} {
		sm := deploy.SmokeFor(checks, u.url)
		if sm == nil {
			results = append(results, verify.CheckResult{Name: u.name, Skipped: true, Message: u.env + " is not set"})
			continue
		}
		res, err := checker.Run(ctx, *sm)
		r := verify.CheckResult{Name: u.name, Passed: err == nil, Duration: res.Duration}
		if err != nil {
			r.Message = err.Error()
		} else {
			r.Message = fmt.Sprintf("%d requests passed", res.Passes)
		}
		results = append(results, r)
	}

	cases := make([]report.Case, 0, len(results))
	var failed []verify.CheckResult
	for _, r := range results {
		c := report.Case{Name: r.Name, Passed: r.Passed, Skipped: r.Skipped, Message: r.Message, Duration: r.Duration}
		if r.Warned() {
			// JUnit has no warning: a passing case whose output says it.
			c.Passed, c.Message = true, "warning: "+r.Message
			s.Warnings = append(s.Warnings, r.Name+": "+r.Message)
		}
		cases = append(cases, c)
		if r.Failed() {
			failed = append(failed, r)
		}
	}
	dir := inv.settings.Output.Dir
	junit, err := report.JUnit(s.Cluster+"/"+s.Service, s.Taken, cases)
	if err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(dir, "junit.xml"), junit, 0o644); err != nil {
		return err
	}
	if err := writeStatus(dir, s); err != nil {
		return err
	}
	fmt.Fprint(inv.env.Stdout, report.StatusMarkdown(s))
	for _, r := range results {
		mark := "ok  "
		switch {
		case r.Skipped:
			mark = "skip"
		case r.Warned():
			mark = "warn"
		case !r.Passed:
			mark = "FAIL"
		}
		fmt.Fprintf(inv.env.Stdout, "%s %s: %s\n", mark, r.Name, r.Message)
	}
	if len(failed) > 0 {
		return &verifyFailedError{failed: failed}
	}
	return nil
}
