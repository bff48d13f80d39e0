package app

import (
	"context"
	"fmt"
)

// runPromote lets a deployment waiting at Ready move production traffic, then
// watches it to the end.
func runPromote(ctx context.Context, inv *invocation) error {
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	id, err := run.deploymentID(ctx)
	if err != nil {
		return err
	}
	if id == "" {
		return &usageError{msg: fmt.Sprintf("no deployment of %s/%s is in progress", run.target.Application, run.target.Group), hint: "promote acts on a deployment waiting at Ready; run deploy first"}
	}
	if err := run.cd.Promote(ctx, id); err != nil {
		return err
	}
	inv.log.Info("promoted: production traffic starts moving", "deployment_id", id)
	run.session.Promote = "auto" // the promotion was asked for
	out, err := run.session.Watch(ctx, id)
	if err != nil {
		return err
	}
	inv.log.Info("deployment ended", "deployment_id", id, "status", string(out.Status))
	return nil
}
