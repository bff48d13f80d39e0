package app

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// ecsSandboxService is the ecs-model service the IAM policy run adds to the
// sandbox.
const ecsSandboxService = "api"

// ecsService adds an ecs-model service to the sandbox: ECS deploys it
// blue/green itself, held at a PAUSE hook after test traffic.
func ecsService(ctx context.Context, t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	if _, err := seed.CreateECSNative(ctx, seed.Clients{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg)}, seed.ECSNativeOptions{
		Options: seed.Options{Service: ecsSandboxService, Container: ecsSandboxService}, BakeTimeInMinutes: 1, Hooks: pauseAfterTest,
	}); err != nil {
		t.Fatalf("seeding the ecs-model service: %v", err)
	}
	c := elb.NewFromConfig(cfg)
	waitUntil(t, "the ecs-model service's tasks to be healthy", func() bool {
		tgs, err := c.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{ecsSandboxService + "-blue"}})
		if err != nil || len(tgs.TargetGroups) != 1 {
			return false
		}
		h, err := c.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: tgs.TargetGroups[0].TargetGroupArn})
		return err == nil && len(h.TargetHealthDescriptions) > 0 && allTargetsHealthy(h.TargetHealthDescriptions)
	})
}

func allTargetsHealthy(ds []elbtypes.TargetHealthDescription) bool {
	for _, d := range ds {
		if d.TargetHealth == nil || d.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
			return false
		}
	}
	return true
}
