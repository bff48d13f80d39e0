package app

import (
	"context"
	"errors"
	"fmt"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
)

// runRollback stops the deployment in progress with rollback and watches the
// rollback to its end. Rolling back a finished deployment (redeploying the
// previous task definition) needs render and is not built yet.
func runRollback(ctx context.Context, inv *invocation) error {
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	id, err := run.requireDeployment(ctx, "roll back", "redeploying the previous task definition after a finished deployment is not implemented yet: run deploy with the previous image")
	if err != nil {
		return err
	}
	if err := run.cd.Stop(ctx, id, true); err != nil {
		return err
	}
	inv.log.Warn("stopping the deployment with rollback", "deployment_id", id)
	run.session.TestSmoke, run.session.ProdSmoke = nil, nil
	run.session.Promote = "auto"
	_, err = run.session.Watch(ctx, id)
	var derr *deploy.DeploymentError
	if errors.As(err, &derr) && derr.RollbackID != "" && derr.RollbackStatus == "Succeeded" {
		// The rollback asked for is done: production is back on the previous
		// revision. That is this job's success.
		inv.log.Info("rolled back", "deployment_id", id, "rollback_deployment_id", derr.RollbackID)
		return nil
	}
	if err == nil {
		return fmt.Errorf("deployment %s ended Succeeded before the stop took effect: nothing was rolled back", id)
	}
	return err
}
