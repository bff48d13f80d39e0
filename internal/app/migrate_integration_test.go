package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

const migrateRole = "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"

// TestMigrateSandboxServiceThenDeployUnderLoad migrates the sandbox's web
// service from CodeDeploy to ECS blue/green (a dry run first, a refusal
// while a CodeDeploy deployment runs), then deploys it with the ecs model
// while a steady load runs against the production listener: no request
// may fail.
func TestMigrateSandboxServiceThenDeployUnderLoad(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{AWSAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", Speed: simSpeed, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	out := t.TempDir()
	env := []string{"BG_OUTPUT_DIR=" + out, "BG_LOG_LEVEL=info", "CI_PROJECT_PATH=group/web", "CI_PIPELINE_ID=7", "BG_SMOKE_INTERVAL=50ms"}
	for _, line := range sb.Exports() {
		env = append(env, strings.TrimPrefix(line, "export "))
	}
	run := func(extra []string, args ...string) (int, string, string) {
		return runClocked(t, newFastClock(simSpeed), append(append([]string{}, env...), extra...), args...)
	}
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	ecsc, cd := ecs.NewFromConfig(cfg), codedeploy.NewFromConfig(cfg)
	service := func() ecstypes.Service {
		o, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil || len(o.Services) != 1 {
			t.Fatalf("DescribeServices: %v", err)
		}
		return o.Services[0]
	}

	// The dry run prints every change and what is missing, and changes nothing.
	code, stdout, stderr := run(nil, "migrate")
	if code != ExitOK {
		t.Fatalf("migrate (dry run): exit %d\n%s", code, stderr)
	}
	wantIn(t, "the dry run", stdout, "dry run: nothing is changed", "create a rule on the production listener", "create a rule on the test listener",
		"deploymentController CODE_DEPLOY -> ECS", "strategy CANARY, 10% then the rest after 5 min (from CodeDeployDefault.ECSCanary10Percent5Minutes)",
		"bakeTimeInMinutes 5 (the group's termination wait)", "a PAUSE hook after test traffic (POST_TEST_TRAFFIC_SHIFT)", "rolls back after 60 min without promote",
		"target group web-blue (blue), alternate web-green (green)", "missing prerequisites:", "--role-arn")
	if typ := service().DeploymentController.Type; typ != ecstypes.DeploymentControllerTypeCodeDeploy {
		t.Fatalf("the dry run changed the controller to %s", typ)
	}
	code, _, stderr = run(nil, "migrate", "--apply")
	if code != ExitUsage || !strings.Contains(stderr, "prerequisite") {
		t.Fatalf("--apply without the role: exit %d, want 2\n%s", code, stderr)
	}

	// While a CodeDeploy deployment runs, the migration is refused.
	code, _, stderr = run([]string{"BG_IMAGE=registry.example/web:2", "BG_PROMOTE=manual"}, "deploy")
	if code != ExitOK {
		t.Fatalf("CodeDeploy deploy: exit %d\n%s", code, stderr)
	}
	code, _, stderr = run(nil, "migrate", "--apply", "--role-arn", migrateRole)
	if code != ExitFailed || !strings.Contains(stderr, "is in flight") {
		t.Fatalf("migrate during a CodeDeploy deployment: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, stderr = run(nil, "promote"); code != ExitOK {
		t.Fatalf("promote: exit %d\n%s", code, stderr)
	}
	waitUntil(t, "the CodeDeploy deployment to end", func() bool {
		l, err := cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(sb.World.Application), DeploymentGroupName: aws.String(sb.World.Group), IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusInProgress, cdtypes.DeploymentStatusReady}})
		return err == nil && len(l.Deployments) == 0
	})

	code, stdout, stderr = run(nil, "migrate", "--apply", "--role-arn", migrateRole)
	if code != ExitOK {
		t.Fatalf("migrate --apply: exit %d\n%s\n%s", code, stdout, stderr)
	}
	wantIn(t, "migrate --apply", stderr, "created the production rule", "created the test rule", "now deploys with the ECS deployment controller (CANARY)")
	svc := service()
	if svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs || svc.DeploymentConfiguration.Strategy != ecstypes.DeploymentStrategyCanary ||
		svc.LoadBalancers[0].AdvancedConfiguration == nil || aws.ToString(svc.LoadBalancers[0].AdvancedConfiguration.RoleArn) != migrateRole {
		t.Fatalf("after the migration: %+v %+v %+v", svc.DeploymentController, svc.DeploymentConfiguration, svc.LoadBalancers)
	}
	code, _, stderr = run(nil, "migrate")
	if code != ExitOK || !strings.Contains(stderr, "nothing to migrate") {
		t.Errorf("second migrate: exit %d\n%s", code, stderr)
	}

	// The ecs model deploys it, gated at the PAUSE hook, under load.
	l := startLoad(t, strings.TrimSuffix(strings.TrimPrefix(sb.ProdURL, "http://"), "/"))
	code, stdout, stderr = run([]string{"BG_IMAGE=registry.example/web:3"}, "deploy")
	l.end()
	if code != ExitOK {
		t.Fatalf("ecs deploy after the migration: exit %d\n%s", code, stderr)
	}
	wantIn(t, "ecs deploy", stderr, "the ecs model", "the service's PAUSE hook holds the deployment", "smoke check passed", "continuing: production traffic starts moving",
		"traffic blue  10% ", "service deployment SUCCESSFUL")
	t.Logf("under load: %d requests, %d failed, answered by %v", l.total.Load(), l.failed.Load(), l.byTG)
	if l.failed.Load() != 0 || l.total.Load() < 20 || l.byTG["web-blue"] == 0 || l.byTG["web-green"] == 0 {
		t.Errorf("under load: %d of %d requests failed (first: %s); answered by %v", l.failed.Load(), l.total.Load(), l.firstFailure, l.byTG)
	}
	wantIn(t, "ecs deploy output", stdout, "blue is live")
}
