package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// rollback stops the deployment in progress with rollback and watches the
// rollback to its end. With none in progress it redeploys the image the
// registry's previous tag names (deploy moved it there when that image
// stopped being live).
func (m codeDeployModel) rollback(ctx context.Context) error {
	inv := m.inv
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	id, err := run.deploymentID(ctx)
	if err != nil {
		return err
	}
	if id != "" {
		// BG_DEPLOYMENT_ID from deploy.env may name a deployment long finished.
		d, err := run.cd.Describe(ctx, id)
		if err != nil {
			return err
		}
		if !inFlight(d.Status) {
			id = ""
		}
	}
	if id == "" {
		if done := rolledBackAlready(ctx, inv, run); done != "" {
			inv.log.Info("this pipeline's rollback already ran: nothing to do", "deployment_id", done)
			return nil
		}
		return redeployPrevious(ctx, inv)
	}
	if err := run.cd.Stop(ctx, id, true); err != nil {
		return err
	}
	inv.log.Warn("stopping the deployment with rollback", "deployment_id", id)
	// The stop is what the user asked for: no smoke checks, and no
	// evidence gathered to explain a failure nobody needs explained.
	run.session.TestSmoke, run.session.ProdSmoke, run.session.Evidence = nil, nil, nil
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

func inFlight(s cdtypes.DeploymentStatus) bool {
	switch s {
	case cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
		cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking:
		return true
	}
	return false
}

// envRedeploy marks the deploy that rollback runs, in its deployment's
// description, so a retried rollback job of the same pipeline sees its own
// work done. Not a BG_ setting: only rollback sets it.
const (
	envRedeploy    = "ECS_BLUEGREEN_REDEPLOY"
	redeployMarker = "rollback: redeploying the previous image"
)

// origin is the marker of this run's deployments: the GitLab project and
// pipeline, else BG_RUN_ID. Empty when neither says, and then a retried job
// cannot tell its own deployment from another's.
func (inv *invocation) origin(ci gitlab.Context) string {
	if o := deploy.Origin(ci.ProjectPath, ci.PipelineID); o != "" {
		return o
	}
	if d := inv.settings.Deployment; d != nil && d.RunID != "" {
		return "[ecs-bluegreen run " + d.RunID + "]"
	}
	return ""
}

// rolledBackAlready is the group's last successful deployment when this
// pipeline's rollback made it: a retried rollback job must not flip the
// colours again.
func rolledBackAlready(ctx context.Context, inv *invocation, run *codeDeployRun) string {
	ci, err := gitlab.ReadContext(inv.getenv)
	origin := inv.origin(ci)
	g := run.target.GroupInfo
	if err != nil || origin == "" || g == nil || g.LastSuccessfulDeployment == nil || g.LastSuccessfulDeployment.DeploymentId == nil {
		return ""
	}
	d, err := run.cd.Describe(ctx, aws.ToString(g.LastSuccessfulDeployment.DeploymentId))
	if err != nil || d == nil {
		return ""
	}
	desc := aws.ToString(d.Description)
	if strings.HasPrefix(desc, origin) && strings.Contains(desc, redeployMarker) {
		return aws.ToString(d.DeploymentId)
	}
	return ""
}

// redeployPrevious deploys the image the registry's previous tag names, with
// the task definition as deploy renders it; deploy then moves live and
// previous, so running rollback twice flips back.
func redeployPrevious(ctx context.Context, inv *invocation) error {
	regs := inv.settings.Registries
	client, repos, err := inv.registryRepos(ctx)
	if err != nil {
		return err
	}
	if len(repos) == 0 {
		return &usageError{
			msg:  "no deployment is in progress, and no registry is configured to find the previous image in",
			hint: "set BG_ECR_REPOSITORY (or BG_REGISTRY_IMAGE), whose previous tag deploy maintains; or run deploy with the image to go back to",
		}
	}
	// The last repository is where ECS pulls from: ECR when there is one.
	repo := repos[len(repos)-1]
	prev, err := client.Resolve(ctx, repo.Tag(regs.PreviousTag))
	if err != nil {
		return &usageError{msg: fmt.Sprintf("no deployment is in progress, and %s:%s cannot be read: %v", repo, regs.PreviousTag, err), hint: "nothing was changed; run deploy with the image to go back to"}
	}
	inv.log.Warn("no deployment in progress: redeploying the previous image", "image", prev.String())
	env := append(append([]string{}, inv.env.Environ...), "BG_IMAGE="+prev.String(), "BG_DEPLOYMENT_ID=", envRedeploy+"="+redeployMarker)
	return runCommand(ctx, lookup("deploy"), nil, Env{Environ: env, Stdout: inv.env.Stdout, Stderr: inv.env.Stderr, Clock: inv.env.Clock})
}
