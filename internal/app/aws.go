package app

import (
	"context"
	"errors"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awsclient"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version"
)

// clients builds the AWS clients once per run. The command must read the
// "aws" family. Endpoints, static keys and AWS_MAX_ATTEMPTS come from the
// run's environment, so tests and the sandbox point the clients at the
// simulator without touching the process environment.
func (inv *invocation) clients(ctx context.Context) (*awsclient.Clients, error) {
	if inv.aws != nil {
		return inv.aws, nil
	}
	a := inv.settings.AWS
	if a == nil {
		return nil, errors.New("internal error: command " + inv.cmd.name + " does not read the aws settings")
	}
	getenv := inv.getenv
	c, err := awsclient.Load(ctx, awsclient.Options{
		Getenv:      getenv,
		Region:      a.EffectiveRegion(),
		RoleARN:     a.RoleARN.String(),
		IDToken:     a.IDToken.Value(),
		SessionName: "gitlab-" + getenv("CI_PROJECT_PATH") + "-" + getenv("CI_JOB_ID"),
		Version:     version.Get().Version,
		Logger:      inv.log,
	})
	if err != nil {
		return nil, err
	}
	inv.aws = c
	return c, nil
}

// getenv reads the run's environment, with empty values counting as unset.
func (inv *invocation) getenv(key string) string {
	v, _ := config.EnvironLookuper(inv.env.Environ).Lookup(key)
	return v
}
