package app

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
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
	results = append(results, inv.checkLiveTag(s)...)
	checker := verify.NewChecker(inv.log, nil).WithClock(inv.clock())
	for _, u := range []struct {
		name string
		url  config.URL
		env  string
	}{{"production URL answers", checks.ProdURL, "BG_PROD_URL"}, {"test URL answers", checks.TestURL, "BG_TEST_URL"}} {
		sm := smokeFor(checks, u.url)
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

// checkLiveTag compares what production runs with what each registry's live
// tag names: a mismatch means someone deployed around the pipeline, or a
// deployment ended without moving the tag.
func (inv *invocation) checkLiveTag(s *snapshot.Snapshot) []verify.CheckResult {
	regs := inv.settings.Registries
	r := verify.CheckResult{Name: "registry live tag names the live image"}
	if len(s.Registry) == 0 {
		r.Skipped, r.Message = true, "no registry configured (BG_REGISTRY_IMAGE, BG_ECR_REPOSITORY)"
		return []verify.CheckResult{r}
	}
	if s.Live == "" {
		r.Skipped, r.Message = true, "no single live colour"
		return []verify.CheckResult{r}
	}
	live := map[string]bool{}
	for _, c := range s.Colour(s.Live).Containers {
		if _, d, ok := strings.Cut(c.Image, "@"); ok {
			live[d] = true
		}
	}
	var problems, fine, untracked []string
	for _, t := range s.Registry {
		switch {
		case t.Tag != regs.LiveTag:
		case t.Error != "":
			problems = append(problems, fmt.Sprintf("%s:%s cannot be read (%s)", t.Repository, t.Tag, t.Error))
		case t.Digest == "":
			// No live tag: this registry is not where the pipeline releases.
			untracked = append(untracked, t.Repository)
		case !live[t.Digest]:
			problems = append(problems, fmt.Sprintf("%s:%s is %s, but production runs %s", t.Repository, t.Tag, t.Digest, strings.Join(keys(live), ", ")))
		default:
			fine = append(fine, t.Repository)
		}
	}
	if len(problems) > 0 {
		r.Message = strings.Join(problems, "; ")
		return []verify.CheckResult{r}
	}
	if len(fine) == 0 {
		r.Skipped, r.Message = true, "no "+regs.LiveTag+" tag in "+strings.Join(untracked, ", ")+" (deploy moves it once release copies images there)"
		return []verify.CheckResult{r}
	}
	r.Passed, r.Message = true, "live tag matches in "+strings.Join(fine, ", ")
	return []verify.CheckResult{r}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"no digest-pinned image"}
	}
	return out
}
