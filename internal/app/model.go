package app

import (
	"context"
	"errors"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// model is one deployment model (DESIGN §2): the commands that act on what
// is live, each as that model does it. It is chosen once per run, from the
// settings, so no command tells the models apart on its own.
type model interface {
	deploy(ctx context.Context) error
	promote(ctx context.Context) error
	rollback(ctx context.Context) error
	finish(ctx context.Context) error
	switchColours(ctx context.Context) error
	// snapshot reads both colours: status, verify and the reports read it.
	snapshot(ctx context.Context) (*snapshot.Snapshot, error)
	// services are the ECS services whose task definitions are in use.
	services() []string
}

// codeDeployModel is one CODE_DEPLOY service deployed by CodeDeploy.
type codeDeployModel struct{ inv *invocation }

// listenerModel is two services behind one production listener or rule.
type listenerModel struct{ inv *invocation }

// model picks the deployment model from the settings, once.
func (inv *invocation) model() (model, error) {
	if inv.mdl != nil {
		return inv.mdl, nil
	}
	t := inv.settings.Target
	switch {
	case t == nil:
		return nil, errors.New("internal error: command " + inv.cmd.name + " does not read the target settings")
	case t.Mode == config.ModeECS:
		inv.mdl = newECSModel(inv)
	case t.Mode == config.ModeListener || t.BlueService != "":
		inv.mdl = listenerModel{inv: inv}
	case t.Mode == config.ModeCodeDeploy:
		inv.mdl = codeDeployModel{inv: inv}
	default:
		inv.mdl = detectModel(inv)
	}
	return inv.mdl, nil
}

// viaModel is a command that runs as the run's model does it. These
// commands change what is live; their outputs were checked writable with
// the settings (config's BG_OUTPUT_DIR check), before anything changed: a
// deployment whose deploy.env cannot be written leaves the later jobs blind.
func viaModel(f func(model, context.Context) error) func(context.Context, *invocation) error {
	return func(ctx context.Context, inv *invocation) error {
		m, err := inv.model()
		if err != nil {
			return err
		}
		return f(m, ctx)
	}
}

func (m codeDeployModel) services() []string { return []string{m.inv.settings.Target.Service} }

// switchColours has no meaning for one CodeDeploy service.
func (m codeDeployModel) switchColours(context.Context) error {
	return &usageError{
		msg:  "switch moves production between two services (the listener model), and BG_BLUE_SERVICE/BG_GREEN_SERVICE are not set",
		hint: "in the codedeploy model, promote moves production traffic and rollback moves it back",
	}
}

func (m listenerModel) services() []string {
	t := m.inv.settings.Target
	return []string{t.BlueService, t.GreenService}
}

// promote in the listener model is switching production to the idle colour.
func (m listenerModel) promote(ctx context.Context) error { return m.switchColours(ctx) }

// finish has nothing to end: the old colour stays up behind the test route.
func (m listenerModel) finish(context.Context) error {
	return &usageError{msg: "finish ends CodeDeploy's termination wait; the listener model has none (the old colour stays up behind the test route)", hint: "nothing to do: switch or rollback move production"}
}

func (m listenerModel) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	run, err := m.inv.listener(ctx)
	if err != nil {
		return nil, err
	}
	return run.read(ctx)
}
