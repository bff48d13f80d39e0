package app

import (
	"context"
	"fmt"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
)

// promote lets a deployment waiting at Ready move production traffic,
// once the test traffic smoke check passed, then watches it to the end.
func (m codeDeployModel) promote(ctx context.Context) error {
	inv := m.inv
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	id, err := run.buttonDeployment(ctx, inv.log, "promote", "promote acts on a deployment waiting at Ready; run deploy first")
	if err != nil || id == "" {
		return err
	}
	d, err := run.cd.Describe(ctx, id)
	if err != nil {
		return err
	}
	if !inFlight(d.Status) {
		// A button pressed after the deployment ended has nothing to act
		// on: say so, and leave the pipeline green.
		inv.log.Info("nothing to promote: the deployment has ended", "deployment_id", id, "status", string(d.Status))
		return nil
	}
	if d.Status != cdtypes.DeploymentStatusReady {
		return &usageError{
			msg:  fmt.Sprintf("deployment %s is %s, not waiting at Ready", id, d.Status),
			hint: "promote moves production traffic for a deployment group with deploymentReadyOption STOP_DEPLOYMENT, while the deployment waits",
		}
	}
	// The session promotes at Ready, after the test traffic smoke check (when
	// BG_TEST_URL is set) has passed; a failed check stops it with rollback.
	run.session.Promote = "auto"
	// The way back if the production check fails once CodeDeploy can no
	// longer roll back: what the PRIMARY task set runs now (the original,
	// while the deployment waits at Ready), in an AppSpec made from the service.
	if prev := primaryTaskDefinition(run.target.ServiceState); prev != "" {
		src := &deploy.ServiceSource{Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.ServiceState}
		if spec, err := src.Spec(ctx); err == nil {
			ci, _ := gitlab.ReadContext(inv.getenv)
			run.session.Revert = run.revertTo(prev, render.NewAppSpec(prev, spec), deploy.Request{Origin: inv.origin(ci), OnBusy: deploy.BusyWait}, ci.JobURL)
		}
	}
	out, err := run.session.Watch(ctx, id)
	if err != nil {
		return err
	}
	inv.log.Info("deployment ended", "deployment_id", id, "status", string(out.Status))
	// Production now runs the promoted image: the registries' live tag
	// follows, as it does when deploy itself sees the deployment through.
	if s, err := inv.snapshot(ctx); err != nil {
		inv.log.Warn("the deployment ended but the live image could not be read to move the registry tags", "error", err.Error())
	} else if inv.moveColourTags(ctx, s); s.Live != "" {
		inv.followLiveTag(ctx, s.Colour(s.Live))
	}
	return nil
}
