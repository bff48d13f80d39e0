package app

import (
	"context"
	"fmt"
	"path/filepath"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// runVerify runs verify's checks (verify.Run) over what is live and writes
// junit.xml and the status reports; a failed check is exit 4.
func runVerify(ctx context.Context, inv *invocation) error {
	s, err := inv.snapshot(ctx)
	if err != nil {
		return err
	}
	inv.readRegistryTags(ctx, s)
	c, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	checks := inv.settings.Checks
	plan := verify.Plan{
		Expectations: verify.Expectations{MaxDeploymentAge: checks.StuckAfter, Now: inv.clock().Now(), RequireDigest: checks.RequireDigest},
		CloudWatch:   c.CloudWatch, LiveTag: inv.settings.Registries.LiveTag,
		ProdURL: deploy.SmokeFor(checks, checks.ProdURL), TestURL: deploy.SmokeFor(checks, checks.TestURL),
		Checker: verify.NewChecker(inv.log, nil).WithClock(inv.clock()),
	}
	if sw := inv.settings.Switch; sw != nil {
		plan.Alarms = sw.Alarms
	}
	rep := verify.Run(ctx, s, plan)

	cases := make([]report.Case, 0, len(rep.Results))
	for _, r := range rep.Results {
		r = r.AsCase()
		cases = append(cases, report.Case{Name: r.Name, Passed: r.Passed, Skipped: r.Skipped, Message: r.Message, Duration: r.Duration})
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
	for _, line := range rep.Lines() {
		fmt.Fprintln(inv.env.Stdout, line)
	}
	return rep.Err()
}
