package app

import "context"

// finish ends the termination wait, removing the original task set now,
// and watches the deployment to its end.
func (m codeDeployModel) finish(ctx context.Context) error {
	inv := m.inv
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	id, err := run.buttonDeployment(ctx, inv.log, "finish", "finish acts on a deployment in its termination wait")
	if err != nil || id == "" {
		return err
	}
	d, err := run.cd.Describe(ctx, id)
	if err != nil {
		return err
	}
	if !inFlight(d.Status) {
		// Pressed after the deployment ended: the old colour is already
		// gone (or production never left it), so there is nothing to end.
		inv.log.Info("nothing to finish: the deployment has ended", "deployment_id", id, "status", string(d.Status))
		return nil
	}
	if err := run.cd.Finish(ctx, id); err != nil {
		return err
	}
	inv.log.Info("ending the termination wait: the original task set is removed now", "deployment_id", id)
	run.session.WaitFor = "complete"
	_, err = run.session.Watch(ctx, id)
	return err
}
