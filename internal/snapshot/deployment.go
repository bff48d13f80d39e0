package snapshot

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// DeploymentReader reads one CodeDeploy deployment and its ECS target.
type DeploymentReader interface {
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	ListDeploymentTargets(ctx context.Context, in *codedeploy.ListDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	BatchGetDeploymentTargets(ctx context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error)
}

// ReadDeployment reads deployment id (one GetDeployment): the watcher's
// observation of it, and what the buttons check before they act.
func ReadDeployment(ctx context.Context, api interface {
	GetDeployment(ctx context.Context, in *codedeploy.GetDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
}, id string,
) (*cdtypes.DeploymentInfo, error) {
	out, err := api.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	if out.DeploymentInfo == nil {
		return nil, fmt.Errorf("GetDeployment %s returned no deploymentInfo", id)
	}
	return out.DeploymentInfo, nil
}

// ReadDeploymentTarget reads the deployment's ECS target: its lifecycle
// events and task sets. targetID is the target's id once known (it is
// listed on the first read, and kept); nil and no error before the
// deployment has started.
func ReadDeploymentTarget(ctx context.Context, api DeploymentReader, id string, targetID *string) (*cdtypes.ECSTarget, error) {
	if *targetID == "" {
		list, err := api.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
		var notStarted *cdtypes.DeploymentNotStartedException
		if errors.As(err, &notStarted) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if len(list.TargetIds) == 0 {
			return nil, nil
		}
		*targetID = list.TargetIds[0]
	}
	out, err := api.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{*targetID}})
	if err != nil {
		return nil, err
	}
	for _, t := range out.DeploymentTargets {
		if t.EcsTarget != nil {
			return t.EcsTarget, nil
		}
	}
	return nil, nil
}
