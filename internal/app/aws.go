package app

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// awsConfig builds the one aws.Config a command uses for every service. The
// command must read the "aws" family.
func (inv *invocation) awsConfig(ctx context.Context) (aws.Config, error) {
	a, ok := inv.settings["aws"].(*config.AWS)
	if !ok {
		return aws.Config{}, errors.New("internal error: command " + inv.cmd.name + " does not read the aws settings")
	}
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(a.EffectiveRegion()))
}
