package app

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// model picks the deployment model (DESIGN §2) from the settings, once per
// run, so no command tells the models apart on its own. The models live in
// internal/deploy (each implements deploy.Model); this builds one from the
// run's clients and settings. Another model is one more case of the switch.
func (inv *invocation) model(ctx context.Context) (deploy.Model, error) {
	if inv.mdl != nil {
		return inv.mdl, nil
	}
	t := inv.settings.Target
	if t == nil {
		return nil, errors.New("internal error: command " + inv.cmd.name + " does not read the target settings")
	}
	deps, err := inv.modelDeps(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case t.Mode == config.ModeECS:
		inv.mdl = deploy.NewECSModel(deps)
	case t.Mode == config.ModeListener || t.BlueService != "":
		inv.mdl = deploy.NewListenerModel(deps)
	case t.Mode == config.ModeCodeDeploy:
		inv.mdl = deploy.NewCodeDeployModel(deps)
	default:
		inv.mdl = deploy.NewAutoModel(deps)
	}
	return inv.mdl, nil
}

// modelDeps is what every model is built from: the run's clients, typed
// settings, CI context, clock and logger, and the parts outside deploy's
// reach (render's file pipeline, the reports, the registry tags, running
// deploy again) as small interfaces and funcs.
func (inv *invocation) modelDeps(ctx context.Context) (deploy.Deps, error) {
	c, err := inv.clients(ctx)
	if err != nil {
		return deploy.Deps{}, err
	}
	s := inv.settings
	ci, ciErr := gitlab.ReadContext(inv.getenv)
	inputs := componentInputs(inv.env.Environ)
	d := deploy.Deps{
		Clients: deploy.Clients{ECS: c.ECS, ELB: c.ELB, CodeDeploy: c.CodeDeploy, CloudWatch: c.CloudWatch, Region: c.Config.Region},
		Settings: deploy.Settings{
			Target: s.Target, CodeDeploy: s.CodeDeploy, Deployment: s.Deployment, Watch: s.Watch, Checks: s.Checks, Switch: s.Switch,
		},
		CI: deploy.CI{
			InCI: ci.InCI, JobURL: ci.JobURL, PipelineURL: ci.PipelineURL, CommitSHA: ci.CommitSHA,
			Origin: inv.origin(ci), Redeploy: inv.getenv(envRedeploy), JobTimeout: inv.getenv("CI_JOB_TIMEOUT"), JobEnd: inv.jobEnd(), TaskDefinition: inv.getenv(deploy.EnvTaskDefinition),
			Inputs: deploy.Inputs{Timeout: inputs["BG_TIMEOUT"], WaitFor: inputs["BG_WAIT_FOR"], JobTimeout: inputs["CI_JOB_TIMEOUT"]},
			Err:    ciErr,
		},
		Log:         inv.log,
		Clock:       inv.clock(),
		Progress:    inv.progress,
		Section:     gitlab.Sections{W: inv.env.Stderr, InCI: ci.InCI}.Start,
		Render:      inv.renderFiles,
		Reports:     reports{inv},
		Redeploy:    inv.redeploy,
		Interrupted: interrupted,
	}
	if st := s.Status; st != nil {
		d.Settings.History = st.History
	}
	if s.Image != nil {
		d.Settings.Image = s.Image.Image.String()
		if dg, ok := s.Image.Image.Ref.(name.Digest); ok {
			d.Settings.ImageDigest = dg.DigestStr()
		}
	}
	if s.Registries != nil {
		d.Tags = registryTags{inv}
	}
	return d, nil
}

// viaModel is a command that runs as the run's model does it. These
// commands change what is live; their outputs were checked writable with
// the settings (config's BG_OUTPUT_DIR check), before anything changed: a
// deployment whose deploy.env cannot be written leaves the later jobs blind.
func viaModel(f func(deploy.Model, context.Context) error) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		m, err := inv.model(ctx)
		if err != nil {
			return err
		}
		return f(m, ctx)
	}
}

// toColour is a model command that takes the colour to switch to
// (`switch [--to blue|green]`, and promote, which in the listener model is
// the switch).
func toColour(f func(deploy.Model, context.Context, snapshot.Colour) error) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		m, err := inv.model(ctx)
		if err != nil {
			return err
		}
		to, err := inv.switchTo()
		if err != nil {
			return err
		}
		return f(m, ctx, to)
	}
}
