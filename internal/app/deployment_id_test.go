package app

import (
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// The ecs model's deploy.env carries a service deployment ARN in
// BG_DEPLOYMENT_ID: the settings take it, and the codedeploy model refuses
// it before any call that changes AWS, saying what to do.
func TestDeploymentIDOfTheOtherModel(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	arn := "BG_DEPLOYMENT_ID=arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/2GV1H7T1X3ZYEVXT4XP5N"
	for _, cmd := range []string{"promote", "finish"} {
		code, _, stderr := runIn(t, s.environ(arn), cmd)
		if code != ExitUsage || !strings.Contains(stderr, "is an ECS service deployment, and web is deployed by CodeDeploy") || !strings.Contains(stderr, "unset BG_DEPLOYMENT_ID") {
			t.Errorf("%s with a service deployment ARN: exit %d, want 2 naming the mismatch\n%s", cmd, code, stderr)
		}
	}
	if code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID=arn:aws:ecs:eu-west-1:123456789012:service/prod/web"), "promote"); code != ExitUsage || !strings.Contains(stderr, "BG_DEPLOYMENT_ID") {
		t.Errorf("promote with a service ARN: exit %d, want 2 naming BG_DEPLOYMENT_ID\n%s", code, stderr)
	}
}
