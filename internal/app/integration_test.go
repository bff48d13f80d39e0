package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

// simSpeed runs simulated time 600 times faster than the wall clock: a
// 5-minute canary takes half a second, while the commands poll in real time.
const simSpeed = 600

type sim struct {
	srv   *awssim.Server
	url   string
	world *seed.World
	cd    *codedeploy.Client
	ecs   *ecs.Client
	elb   *elb.Client
	cw    *cloudwatch.Client
	out   string
}

func startSim(tb testing.TB, o seed.Options, opts ...awssim.Option) *sim {
	tb.Helper()
	srv := awssim.New(append([]awssim.Option{awssim.WithClock(clock.NewScaled(simSpeed))}, opts...)...)
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	s := &sim{srv: srv, url: hs.URL, cd: codedeploy.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), out: tb.TempDir()}
	w, err := seed.Create(context.Background(), seed.Clients{ECS: s.ecs, ELB: s.elb, CodeDeploy: s.cd, ECR: ecr.NewFromConfig(cfg)}, o)
	if err != nil {
		tb.Fatal(err)
	}
	s.world = w
	s.waitFor(tb, "the initial tasks to be healthy", func() bool {
		h, err := s.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.BlueTargetGroupARN)})
		return err == nil && len(h.TargetHealthDescriptions) == 2 && h.TargetHealthDescriptions[0].TargetHealth.State == "healthy" && h.TargetHealthDescriptions[1].TargetHealth.State == "healthy"
	})
	return s
}

func (s *sim) environ(extra ...string) []string {
	return append([]string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + s.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_CLUSTER=prod", "BG_SERVICE=web", "BG_OUTPUT_DIR=" + s.out, "BG_LOG_LEVEL=warn",
	}, extra...)
}

func (s *sim) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sim) startDeployment(t *testing.T, image string) string {
	t.Helper()
	ctx := context.Background()
	td, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	sum := sha256.Sum256([]byte(spec))
	out, err := s.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(s.world.Application), DeploymentGroupName: aws.String(s.world.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec), Sha256: aws.String(hex.EncodeToString(sum[:]))}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.DeploymentId)
}

func (s *sim) statusOf(t *testing.T, id string) cdtypes.DeploymentStatus {
	t.Helper()
	d, err := s.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return d.DeploymentInfo.Status
}

func runIn(tb testing.TB, environ []string, args ...string) (int, string, string) {
	tb.Helper()
	return runClocked(tb, nil, environ, args...)
}

// runClocked is runIn with the run's clock given.
func runClocked(tb testing.TB, clk monitor.Clock, environ []string, args ...string) (int, string, string) {
	tb.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := Run(ctx, args, Env{Environ: environ, Stdout: &out, Stderr: &errb, Clock: clk})
	return code, out.String(), errb.String()
}

// fastClock is the run's clock running speed times faster than the wall
// clock: every wait of the command (polls, smoke-check intervals, the wait
// behind another deployment) shrinks with it, as the simulator's do.
type fastClock struct {
	start time.Time
	speed float64
}

func newFastClock(speed float64) fastClock { return fastClock{start: time.Now(), speed: speed} }

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.speed))
}

func (c fastClock) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / c.speed))
}

func TestStatusAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	code, stdout, stderr := runIn(t, s.environ(), "status")
	if code != ExitOK {
		t.Fatalf("status exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"web on prod: blue is live", "100% (live)", "web-blue", "2/2 running"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"status.json", "status.md", "status.html"} {
		if _, err := os.Stat(filepath.Join(s.out, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestPromoteAgainstSimulator(t *testing.T) {
	t.Parallel()
	// Linear, 10% every 3 minutes: 2.7 s of real time at simSpeed, long
	// enough for the 1.5 s polls to see traffic split.
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440, DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"})
	id := s.startDeployment(t, "registry.example/web:2")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+id), "promote")
	if code != ExitOK {
		t.Fatalf("promote exit %d\n%s", code, stderr)
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("after promote the deployment is %s", got)
	}
	for _, want := range []string{"AllowTraffic", "deployment Succeeded", "traffic blue   0% ░░░░░░░░░░░░░░░░░░░░ 100% green"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("promote log lacks %q:\n%s", want, stderr)
		}
	}
	if !regexp.MustCompile(`traffic blue\s+[1-9]\d% \S+\s+[1-9]\d% green`).MatchString(stderr) {
		t.Errorf("promote log shows no split while traffic moved:\n%s", stderr)
	}
}

func TestRollbackAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	id := s.startDeployment(t, "registry.example/web:3")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	// No BG_DEPLOYMENT_ID: rollback finds the deployment in progress itself.
	code, _, stderr := runIn(t, s.environ(), "rollback")
	if code != ExitOK {
		t.Fatalf("rollback exit %d\n%s", code, stderr)
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusStopped {
		t.Errorf("after rollback the deployment is %s", got)
	}
	code, stdout, _ := runIn(t, s.environ(), "status")
	if code != ExitOK || !strings.Contains(stdout, "blue is live") {
		t.Errorf("status after rollback (exit %d):\n%s", code, stdout)
	}
}

// A button pressed with nothing to act on says so and leaves the pipeline
// green (issue: buttons that can only fail).
func TestButtonsWithoutDeploymentSaySoAndSucceed(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	for _, button := range []string{"promote", "finish"} {
		code, _, stderr := runIn(t, s.environ("BG_LOG_LEVEL=info"), button)
		if code != ExitOK || !strings.Contains(stderr, "nothing to "+button+": no deployment of AppECS-prod-web/DgpECS-prod-web is in progress") {
			t.Errorf("%s with nothing in flight: exit %d\n%s", button, code, stderr)
		}
	}
	code, _, stderr := runIn(t, s.environ("BG_SERVICE=nope"), "status")
	if code != ExitUsage || !strings.Contains(stderr, "ECS service nope not found in cluster prod") || !strings.Contains(stderr, "hint:") {
		t.Errorf("status of a missing service: exit %d\n%s", code, stderr)
	}
}

func TestFinishAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{TerminationWaitMinutes: 600})
	id := s.startDeployment(t, "registry.example/web:4")
	s.waitFor(t, "the termination wait", func() bool {
		out, err := s.cd.BatchGetDeploymentTargets(context.Background(), &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{"prod:web"}})
		return err == nil && out.DeploymentTargets[0].EcsTarget.Status == cdtypes.TargetStatusSucceeded
	})
	code, _, stderr := runIn(t, s.environ(), "finish")
	if code != ExitOK {
		t.Fatalf("finish exit %d\n%s", code, stderr)
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("after finish the deployment is %s", got)
	}
	// The buttons pressed again, with the deploy job's BG_DEPLOYMENT_ID of a
	// deployment that has ended: nothing to do, said so, exit 0.
	for cmd, want := range map[string]string{"finish": "nothing to finish", "promote": "nothing to promote"} {
		code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+id, "BG_LOG_LEVEL=info"), cmd)
		if code != ExitOK || !strings.Contains(stderr, want) {
			t.Errorf("%s after the deployment ended: exit %d, want 0 saying %q:\n%s", cmd, code, want, stderr)
		}
	}
}

func TestVerifyAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{Alarms: []string{"web-5xx"}})
	ctx := context.Background()
	if _, err := s.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("m"), Namespace: aws.String("n"),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
	}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIn(t, s.environ(), "verify")
	// The seed's image is a tag: a warning, in the log, status and JUnit.
	if code != ExitOK || !strings.Contains(stdout, "warn live images are pinned by digest") || !strings.Contains(stdout, "ok   alarms are OK") ||
		!strings.Contains(stdout, "Warnings:\n\n- live images are pinned by digest: not pinned by digest") {
		t.Errorf("verify exit %d\n%s\n%s", code, stdout, stderr)
	}
	if page, err := os.ReadFile(filepath.Join(s.out, "status.html")); err != nil || !strings.Contains(string(page), "Warnings:<ul><li>live images are pinned by digest: not pinned by digest") {
		t.Errorf("status.html lacks the warning (%v)", err)
	}
	if junit, err := os.ReadFile(filepath.Join(s.out, "junit.xml")); err != nil || !strings.Contains(string(junit), "warning: not pinned by digest") || !strings.Contains(string(junit), `failures="0"`) {
		t.Errorf("junit.xml with a warning = %s (%v)", junit, err)
	}
	if code, stdout, _ := runIn(t, s.environ("BG_REQUIRE_DIGEST=true"), "verify"); code != ExitVerify || !strings.Contains(stdout, "FAIL live images are pinned by digest") {
		t.Errorf("verify with BG_REQUIRE_DIGEST: exit %d\n%s", code, stdout)
	}
	if _, err := s.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx")}); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runIn(t, s.environ(), "verify")
	if code != ExitVerify || !strings.Contains(stdout, "FAIL alarms are OK: in ALARM: web-5xx") {
		t.Errorf("verify with a firing alarm: exit %d\n%s", code, stdout)
	}
	junit, err := os.ReadFile(filepath.Join(s.out, "junit.xml"))
	if err != nil || !strings.Contains(string(junit), `failures="1"`) {
		t.Errorf("junit.xml = %s (%v)", junit, err)
	}
}

func TestFailedTestTrafficSmokeCheckRollsBack(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(failing.Close)
	id := s.startDeployment(t, "registry.example/web:broken")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	code, _, stderr := runIn(t, s.environ("BG_TEST_URL="+failing.URL+"/health", "BG_SMOKE_INTERVAL=10ms", "BG_SMOKE_MAX_FAILURES=2"), "promote")
	if code != ExitFailed {
		t.Fatalf("promote with a failing smoke check: exit %d, want 1\n%s", code, stderr)
	}
	for _, want := range []string{"smoke check of " + failing.URL + "/health failed", "HTTP 503 (want 200)", "rolled back by deployment"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("output lacks %q:\n%s", want, stderr)
		}
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusStopped {
		t.Errorf("deployment is %s, want Stopped", got)
	}
}

func TestInterruptStopsWithRollback(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440, DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"})
	id := s.startDeployment(t, "registry.example/web:5")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(500*time.Millisecond, func() { cancel(Interrupted{Signal: syscall.SIGTERM}) })
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"promote"}, Env{Environ: s.environ(), Stdout: &out, Stderr: &errb})
	if code != 143 {
		t.Fatalf("interrupted promote: exit %d, want 143\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "stopped with rollback") {
		t.Errorf("output does not say the deployment was rolled back:\n%s", errb.String())
	}
	// On AWS a stopped deployment is Stopped once its rollback has moved
	// traffic back, not the moment StopDeployment answers.
	s.waitFor(t, "the deployment to be Stopped", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusStopped })
}

func TestTimeoutFollowsPolicy(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440, DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"})
	id := s.startDeployment(t, "registry.example/web:6")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+id, "BG_TIMEOUT=500ms", "BG_ON_TIMEOUT=rollback"), "promote")
	if code != ExitTimeout || !strings.Contains(stderr, "did not end within 500ms") || !strings.Contains(stderr, "stopped with rollback") {
		t.Fatalf("promote past its timeout: exit %d, want 3\n%s", code, stderr)
	}
	s.waitFor(t, "the deployment to be Stopped (BG_ON_TIMEOUT=rollback)", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusStopped })
}

// DESIGN §8: with 10% throttling and 5% server errors on every call, every
// scenario still ends correctly.
func TestPromoteUnderThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(42)
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440, DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"}, awssim.WithFaults(faults))
	id := s.startDeployment(t, "registry.example/web:7")
	s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
	faults.SetRates(0.10, 0.05, 0)
	code, _, stderr := runIn(t, s.environ(), "promote")
	faults.SetRates(0, 0, 0)
	if code != ExitOK {
		t.Fatalf("promote under faults: exit %d\n%s", code, stderr)
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("deployment is %s", got)
	}
	injected := 0
	for _, c := range s.srv.Calls() {
		if c.ErrorCode == "ThrottlingException" || c.ErrorCode == "Throttling" || c.ErrorCode == "ServiceUnavailable" {
			injected++
		}
	}
	if injected == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

func deployEnv(s *sim, extra ...string) []string {
	return s.environ(append([]string{
		"BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("c", 64),
		"BG_TASKDEF_FILE=" + filepath.Join(s.out, "no-taskdef.json"), "BG_APPSPEC_FILE=" + filepath.Join(s.out, "no-appspec.yml"),
		"CI_PROJECT_PATH=group/web", "CI_PIPELINE_ID=100", "CI_PIPELINE_URL=https://gitlab.example.com/group/web/-/pipelines/100", "BG_LOG_LEVEL=info",
	}, extra...)...)
}

func TestDeployAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"})
	code, stdout, stderr := runIn(t, deployEnv(s), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"no task definition file: starting from the live task definition", "no AppSpec file: generating one", "deployment Succeeded"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("deploy log lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "green is live") {
		t.Errorf("deploy did not end with the status:\n%s", stdout)
	}
	// The generated AppSpec carries the service's placement, as sent.
	spec, err := os.ReadFile(filepath.Join(s.out, "appspec.yml"))
	for _, want := range []string{"ContainerName: web", "- subnet-a", "- sg-1", "AssignPublicIp: DISABLED", "TaskDefinition: \"arn:aws:ecs:"} {
		if err != nil || !strings.Contains(string(spec), want) {
			t.Errorf("appspec.yml lacks %q (%v):\n%s", want, err, spec)
		}
	}
	env, err := os.ReadFile(filepath.Join(s.out, "deploy.env"))
	// No BG_PROD_URL or BG_TEST_URL was set: the environments get the load
	// balancer's address for each listener.
	for _, want := range []string{"ECS_BLUEGREEN_PROD_URL=http://" + s.world.DNSName + "/", "ECS_BLUEGREEN_TEST_URL=http://" + s.world.DNSName + ":8080/"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("deploy.env lacks %s:\n%s", want, env)
		}
	}
	if err != nil || !strings.Contains(string(env), "BG_DEPLOYMENT_ID=d-") || !strings.Contains(string(env), "ECS_BLUEGREEN_OUTCOME=succeeded") {
		t.Errorf("deploy.env = %s (%v)", env, err)
	}
	svc, _ := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	td, _ := s.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.Services[0].TaskDefinition})
	if got := aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image); got != "registry.example/web@sha256:"+strings.Repeat("c", 64) {
		t.Errorf("the service runs %s", got)
	}
	// A rerun with the same image registers no new revision.
	code, _, stderr = runIn(t, deployEnv(s), "deploy")
	if code != ExitOK || !strings.Contains(stderr, "task definition unchanged") {
		t.Errorf("rerun: exit %d\n%s", code, stderr)
	}
	revs, _ := s.ecs.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if len(revs.TaskDefinitionArns) != 2 {
		t.Errorf("revisions after two deploys of one image: %v", revs.TaskDefinitionArns)
	}
}

func TestDeployManualPromoteAttachAndBusy(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	code, _, stderr := runIn(t, deployEnv(s, "BG_PROMOTE=manual"), "deploy")
	if code != ExitOK || !strings.Contains(stderr, "production traffic moves when promote runs") {
		t.Fatalf("deploy with manual promote: exit %d\n%s", code, stderr)
	}
	env, _ := os.ReadFile(filepath.Join(s.out, "deploy.env"))
	if !strings.Contains(string(env), "ECS_BLUEGREEN_OUTCOME=awaiting-promotion") {
		t.Errorf("deploy.env = %s", env)
	}
	// The same pipeline's retried job attaches instead of starting another.
	code, _, stderr = runIn(t, deployEnv(s, "BG_PROMOTE=manual"), "deploy")
	if code != ExitOK || !strings.Contains(stderr, "already running: watching it") {
		t.Errorf("retried deploy: exit %d\n%s", code, stderr)
	}
	if n := s.srv.CallCounts()["codedeploy:CreateDeployment"]; n != 1 {
		t.Errorf("CreateDeployment called %d times, want 1", n)
	}
	// Another pipeline fails fast when told to.
	code, _, stderr = runIn(t, deployEnv(s, "CI_PIPELINE_ID=101", "BG_ON_BUSY=fail"), "deploy")
	if code != ExitFailed || !strings.Contains(stderr, "already in progress") || !strings.Contains(stderr, "pipeline 100") {
		t.Errorf("busy deploy: exit %d\n%s", code, stderr)
	}
	// Waiting for it is bounded by BG_TIMEOUT: exit 3, nothing started.
	code, _, stderr = runIn(t, deployEnv(s, "CI_PIPELINE_ID=102", "BG_TIMEOUT=1s"), "deploy")
	if code != ExitTimeout || !strings.Contains(stderr, "waited 1s (BG_TIMEOUT) for deployment d-") || s.srv.CallCounts()["codedeploy:CreateDeployment"] != 1 {
		t.Errorf("deploy waiting behind another beyond BG_TIMEOUT: exit %d, %d CreateDeployment\n%s", code, s.srv.CallCounts()["codedeploy:CreateDeployment"], stderr)
	}
	vars, _ := reportDotenv(filepath.Join(s.out, "deploy.env"))
	code, _, stderr = runIn(t, s.environ("BG_DEPLOYMENT_ID="+vars["BG_DEPLOYMENT_ID"]), "promote")
	if code != ExitOK {
		t.Errorf("promote: exit %d\n%s", code, stderr)
	}
}

func TestDeployOfABrokenImageRollsBack(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	// The second revision of the family is the one deploy registers.
	s.srv.World().SetTaskDefinitionHealthy("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2", false)
	// The run's clock goes as fast as the simulator's, as the wall clock and
	// AWS's do: on the wall clock the watcher would space its reads by hours
	// of simulated time, past the hour ECS keeps stopped tasks.
	code, _, stderr := runClocked(t, monitor.ScaledClock{Start: time.Now(), Speed: simSpeed}, deployEnv(s), "deploy")
	if code != ExitFailed || !strings.Contains(stderr, "ECS_UPDATE_ERROR") || !strings.Contains(stderr, "rolled back by deployment") {
		t.Fatalf("deploy of a broken image: exit %d, want 1\n%s", code, stderr)
	}
	// The explanation goes past CodeDeploy's message: why ECS stopped the
	// tasks. (What the load balancer said is sampled every 15 s of real time
	// while the replacement starts: at this speed the deployment fails
	// before a sample, so that part is tested in internal/deploy.)
	for _, want := range []string{
		" tasks of web:2: Task failed ELB health checks in (target-group " + s.world.GreenTargetGroupARN + ") (container web exited 143)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failure explanation lacks %q:\n%s", want, stderr)
		}
	}
	env, _ := os.ReadFile(filepath.Join(s.out, "deploy.env"))
	if !strings.Contains(string(env), "ECS_BLUEGREEN_OUTCOME=rolled-back") {
		t.Errorf("deploy.env = %s", env)
	}
}

func reportDotenv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	return out, nil
}

func TestSandboxDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runIn(t, []string{"BG_SANDBOX_SPEED=600", "BG_OUTPUT_DIR=" + dir}, "sandbox")
	if code != ExitOK {
		t.Fatalf("sandbox demo: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"[1/23] status", "[2/23] build web v1", "[3/23] release", "-> exit 0, as expected", "registry tags moved",
		"the replacement is ready and checked; production traffic moves when promote runs", "$ ecs-bluegreen promote",
		"smoke check of", "HTTP 500 (want 200)", "rolled back by deployment", "-> exit 1, as expected",
		"production traffic blue  50%", "switched production traffic",
		"ok   production URL answers", "ok   registry live tag names the live image",
		// The ecs model's service: gated at its PAUSE hook, then linear; the
		// broken release rolled back there by ECS.
		"build orders v2", "the ecs model", "hook PAUSE", "continuing: production traffic starts moving", "traffic blue  50% ", "### orders on prod: green is live",
		"smoke check failed: rolling back at the PAUSE hook", "ROLLBACK_SUCCESSFUL",
		"requests, 0 failed.", "The sandbox ran 23 steps",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// The ecs model's production listener was under load too, without a
	// failed request.
	if !regexp.MustCompile(`By service: web [1-9][0-9]* requests, 0 failed; shop [1-9][0-9]* requests, 0 failed; orders [1-9][0-9]* requests, 0 failed\.`).MatchString(stdout) {
		t.Errorf("demo output lacks each service's requests with none failed:\n%s", stdout[max(0, len(stdout)-600):])
	}
	if _, err := os.Stat(filepath.Join(dir, "sandbox", "junit.xml")); err != nil {
		t.Errorf("the demo's verify left no junit.xml: %v", err)
	}
	// Every scenario of the demo, one log: no line names another live colour.
	checkColourStory(t, stdout, filepath.Join(dir, "sandbox"))
}

// TestSandboxScenarios: naming scenarios runs only those, in the demo's
// order; verify on the untouched seed reports the unpinned image (exit 4
// expected, so the demo passes); an unknown name is a usage error.
func TestSandboxScenarios(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runIn(t, []string{"BG_SANDBOX_SPEED=600", "BG_OUTPUT_DIR=" + t.TempDir()}, "sandbox", "verify", "switch")
	if code != ExitOK || !strings.Contains(stdout, "[1/6] build shop v2") || !strings.Contains(stdout, "verify: production runs an image by tag") || !strings.Contains(stdout, "The sandbox ran 6 steps") {
		t.Errorf("sandbox verify switch: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := runIn(t, nil, "sandbox", "canery"); code != ExitUsage || !strings.Contains(stderr, "first, canary, bad-release, switch, ecs, ecs-bad-release, verify") {
		t.Errorf("sandbox canery: exit %d\n%s", code, stderr)
	}
}

func TestCleanupAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	ctx := context.Background()
	for i := range 14 {
		if _, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("web"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(fmt.Sprintf("web:%d", i))}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Another family sharing the prefix is not touched.
	if _, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web-worker"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("w"), Image: aws.String("w")}},
	}); err != nil {
		t.Fatal(err)
	}
	active := func(family string) int {
		out, _ := s.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
		n := 0
		for _, a := range out.TaskDefinitionArns {
			if strings.Contains(a, "/"+family+":") {
				n++
			}
		}
		return n
	}
	code, stdout, stderr := runIn(t, s.environ("BG_DRY_RUN=true"), "cleanup")
	if code != ExitOK || !strings.Contains(stdout, "would deregister") || !strings.Contains(stdout, "web:1 (in use by task set") || active("web") != 15 {
		t.Fatalf("dry run: exit %d, %d active\n%s%s", code, active("web"), stdout, stderr)
	}
	code, stdout, stderr = runIn(t, s.environ("BG_DELETE_INACTIVE=true"), "cleanup")
	if code != ExitOK || !strings.Contains(stdout, "deregistered 4 and deleted 4 revisions") {
		t.Fatalf("cleanup: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := active("web"); got != 11 {
		t.Errorf("%d active revisions after cleanup, want 11 (the one in use and the newest 10)", got)
	}
	if active("web-worker") != 1 {
		t.Error("cleanup touched another family")
	}
	if code, _, stderr := runIn(t, s.environ("BG_KEEP=0"), "cleanup"); code != ExitUsage || !strings.Contains(stderr, "BG_KEEP") {
		t.Errorf("BG_KEEP=0: exit %d\n%s", code, stderr)
	}
}

// TestRenderAgainstLiveService: with BG_CLUSTER set, render reads the live
// service, generates the AppSpec from its placement and prints what the
// rendered task definition changes.
func TestRenderAgainstLiveService(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	ctx := context.Background()
	svc, err := s.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	td := *live.TaskDefinition
	td.Memory = aws.String("1024")
	file := filepath.Join(t.TempDir(), "taskdef.json")
	data, _ := json.Marshal(map[string]any{
		"family": td.Family, "networkMode": td.NetworkMode, "requiresCompatibilities": td.RequiresCompatibilities, "cpu": td.Cpu, "memory": td.Memory,
		"containerDefinitions": []map[string]any{{"name": "web", "image": "<IMAGE1_NAME>", "portMappings": []map[string]any{{"containerPort": 8080}}}},
	})
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runIn(t, s.environ("BG_IMAGE=registry.example/web@sha256:"+strings.Repeat("d", 64), "BG_TASKDEF_FILE="+file, "BG_APPSPEC_FILE="+filepath.Join(t.TempDir(), "none.yml")), "render")
	if code != ExitOK {
		t.Fatalf("render exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"Changes from the live task definition " + aws.ToString(td.TaskDefinitionArn), `~ memory: "512" -> "1024"`, `~ containerDefinitions[web].image: `} {
		if !strings.Contains(stderr, want) {
			t.Errorf("render log lacks %q:\n%s", want, stderr)
		}
	}
	spec, _ := os.ReadFile(filepath.Join(s.out, "appspec.yml"))
	if !strings.Contains(string(spec), "- subnet-a") || !strings.Contains(string(spec), "<TASK_DEFINITION>") {
		t.Errorf("appspec.yml not generated from the service:\n%s", spec)
	}
}

// TestDeployThatCannotFitInTheJobIsRefused: a ten-hour termination wait does
// not fit in a one-hour job, so deploy refuses before registering anything,
// and BG_WAIT_FOR=traffic (the job ends when traffic moved) makes it fit.
func TestDeployThatCannotFitInTheJobIsRefused(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{TerminationWaitMinutes: 600})
	code, _, stderr := runIn(t, deployEnv(s, "CI_JOB_TIMEOUT=3600"), "deploy")
	if code != ExitUsage || !strings.Contains(stderr, "expected to take about 10h10m0s") || !strings.Contains(stderr, "BG_WAIT_FOR=traffic") {
		t.Fatalf("deploy exit %d, want %d naming the estimate:\n%s", code, ExitUsage, stderr)
	}
	revs, _ := s.ecs.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if len(revs.TaskDefinitionArns) != 1 {
		t.Errorf("a refused deploy registered task definitions: %v", revs.TaskDefinitionArns)
	}
	// In a component job the hint names the inputs to change.
	code, _, stderr = runIn(t, deployEnv(s, "CI_JOB_TIMEOUT=3600", "ECS_BLUEGREEN_INPUTS=CI_JOB_TIMEOUT=job_timeout,BG_WAIT_FOR=wait_for"), "deploy")
	if code != ExitUsage || !strings.Contains(stderr, "the component's job_timeout input") || !strings.Contains(stderr, "BG_WAIT_FOR=traffic (the component's wait_for input)") {
		t.Errorf("in a component job: exit %d, want the hint to name the job_timeout and wait_for inputs:\n%s", code, stderr)
	}
	code, _, stderr = runIn(t, deployEnv(s, "CI_JOB_TIMEOUT=3600", "BG_TIMEOUT=2h"), "deploy")
	if code != ExitUsage || !strings.Contains(stderr, "BG_TIMEOUT is 2h0m0s, but the job may run only 55m0s") {
		t.Errorf("BG_TIMEOUT beyond the job: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runIn(t, deployEnv(s, "CI_JOB_TIMEOUT=3600", "BG_WAIT_FOR=traffic"), "deploy")
	if code != ExitOK {
		t.Errorf("deploy with BG_WAIT_FOR=traffic: exit %d\n%s", code, stderr)
	}
}

// TestDeployScenariosUnderFaults runs deploy end to end through the ways a
// deployment ends, each with 10% throttling and 5% server errors on every
// AWS call (DESIGN §8): every one must still end with the right exit code
// and the deployment in the right state.
func TestDeployScenariosUnderFaults(t *testing.T) {
	t.Parallel()
	hookSpec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\nHooks:\n  - AfterAllowTestTraffic: web-smoke-fn\n"
	for _, tt := range []struct {
		name    string
		opts    seed.Options
		appSpec string
		// during acts on the running deployment, as a Lambda hook or an
		// alarm would.
		during     func(t *testing.T, s *sim, id string)
		wantCode   int
		wantStatus cdtypes.DeploymentStatus
		wantText   string
	}{
		{name: "all_at_once", opts: seed.Options{}, wantCode: ExitOK, wantStatus: cdtypes.DeploymentStatusSucceeded, wantText: "deployment Succeeded"},
		{name: "canary", opts: seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"}, wantCode: ExitOK, wantStatus: cdtypes.DeploymentStatusSucceeded, wantText: "deployment Succeeded"},
		{
			name: "hook_fails", opts: seed.Options{}, appSpec: hookSpec,
			during: func(t *testing.T, s *sim, id string) {
				t.Helper()
				var exec string
				s.waitFor(t, "the hook to be called", func() bool {
					exec = s.srv.World().PendingHooks(id)["AfterAllowTestTraffic"]
					return exec != ""
				})
				s.retry(t, "failing the hook", func() error {
					_, err := s.cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
						DeploymentId: aws.String(id), LifecycleEventHookExecutionId: aws.String(exec), Status: cdtypes.LifecycleEventStatusFailed,
					})
					return err
				})
			},
			wantCode: ExitFailed, wantStatus: cdtypes.DeploymentStatusFailed, wantText: "lifecycle event AfterAllowTestTraffic failed",
		},
		{
			name: "alarm_during_shift", opts: seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", Alarms: []string{"web-5xx"}},
			during: func(t *testing.T, s *sim, id string) {
				t.Helper()
				s.retry(t, "creating the alarm", func() error {
					_, err := s.cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
						AlarmName: aws.String("web-5xx"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
						ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
					})
					return err
				})
				s.waitFor(t, "production traffic to start moving", func() bool { return s.greenWeight(id) > 0 })
				s.retry(t, "setting the alarm", func() error {
					_, err := s.cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx rate above 5%")})
					return err
				})
			},
			wantCode: ExitFailed, wantStatus: cdtypes.DeploymentStatusStopped, wantText: "alarm web-5xx is in ALARM: 5xx rate above 5%",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			faults := awssim.NewFaults(7)
			s := startSim(t, tt.opts, awssim.WithFaults(faults))
			extra := []string{}
			if tt.appSpec != "" {
				file := filepath.Join(t.TempDir(), "appspec.yml")
				if err := os.WriteFile(file, []byte(tt.appSpec), 0o600); err != nil {
					t.Fatal(err)
				}
				extra = append(extra, "BG_APPSPEC_FILE="+file)
			}
			faults.SetRates(0.10, 0.05, 0)
			defer faults.SetRates(0, 0, 0)
			type result struct {
				code           int
				stdout, stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, stdout, stderr := runIn(t, deployEnv(s, extra...), "deploy")
				done <- result{code, stdout, stderr}
			}()
			if tt.during != nil {
				var id string
				s.waitFor(t, "the deployment to start", func() bool {
					id = s.activeDeployment()
					return id != ""
				})
				tt.during(t, s, id)
			}
			r := <-done
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantText) {
				t.Fatalf("deploy exit %d, want %d with %q:\n%s", r.code, tt.wantCode, tt.wantText, r.stderr)
			}
			vars, err := reportDotenv(filepath.Join(s.out, "deploy.env"))
			if err != nil {
				t.Fatal(err)
			}
			id := vars["BG_DEPLOYMENT_ID"]
			faults.SetRates(0, 0, 0)
			if got := s.statusOf(t, id); got != tt.wantStatus {
				t.Errorf("deployment %s is %s, want %s", id, got, tt.wantStatus)
			}
		})
	}
}

// retry repeats a test's own call through the injected faults.
func (s *sim) retry(tb testing.TB, what string, call func() error) {
	tb.Helper()
	var err error
	s.waitFor(tb, what, func() bool { err = call(); return err == nil })
}

// activeDeployment is the group's deployment in progress, or "".
func (s *sim) activeDeployment() string {
	out, err := s.cd.ListDeployments(context.Background(), &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(s.world.Application), DeploymentGroupName: aws.String(s.world.Group),
		IncludeOnlyStatuses: []cdtypes.DeploymentStatus{cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress, cdtypes.DeploymentStatusReady},
	})
	if err != nil || len(out.Deployments) == 0 {
		return ""
	}
	return out.Deployments[0]
}

// greenWeight is the replacement's share of production traffic, or 0.
func (s *sim) greenWeight(id string) float64 {
	ctx := context.Background()
	targets, err := s.cd.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil || len(targets.TargetIds) == 0 {
		return 0
	}
	out, err := s.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: targets.TargetIds})
	if err != nil || len(out.DeploymentTargets) == 0 || out.DeploymentTargets[0].EcsTarget == nil {
		return 0
	}
	for _, ts := range out.DeploymentTargets[0].EcsTarget.TaskSetsInfo {
		if ts.TaskSetLabel == cdtypes.TargetLabelGreen {
			return ts.TrafficWeight
		}
	}
	return 0
}

// TestFailedProductionCheck: the production smoke check runs while
// CodeDeploy can still roll back (the termination wait), and a failure stops
// the deployment with rollback; with a termination wait of zero there is no
// such window, deploy says so before it starts, and a failure redeploys the
// previous revision. Either way the job fails and production runs web:1.
func TestFailedProductionCheck(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(failing.Close)
	tests := []struct {
		name            string
		terminationWait int32
		want            []string
		wantStatus      cdtypes.DeploymentStatus
	}{
		{name: "termination_wait", terminationWait: 60, wantStatus: cdtypes.DeploymentStatusStopped, want: []string{"smoke check failed: stopping the deployment with rollback", "rolled back by deployment"}},
		// The check may still catch the deployment in AfterAllowTraffic
		// (then a stop rolls back); once it is Succeeded the previous
		// revision is redeployed. Which one depends on the poll.
		{name: "no_termination_wait", terminationWait: 0, want: []string{"termination wait is 0", "rolled back by deployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t, seed.Options{TerminationWaitMinutes: tt.terminationWait})
			code, _, stderr := runIn(t, deployEnv(s, "BG_PROD_URL="+failing.URL+"/", "BG_SMOKE_INTERVAL=10ms", "BG_SMOKE_MAX_FAILURES=2"), "deploy")
			if code != ExitFailed {
				t.Fatalf("deploy with a failing production check: exit %d, want 1\n%s", code, stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("log lacks %q:\n%s", want, stderr)
				}
			}
			env, _ := reportDotenv(filepath.Join(s.out, "deploy.env"))
			if got := s.statusOf(t, env[envDeploymentID]); tt.wantStatus != "" && got != tt.wantStatus {
				t.Errorf("the deployment is %s, want %s", got, tt.wantStatus)
			}
			s.waitFor(t, "production back on web:1", func() bool {
				svc, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				return err == nil && strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), "task-definition/web:1")
			})
		})
	}
}

// slowCreate holds CreateDeployment's answer back after the simulator made
// the deployment, so a signal can arrive while the call is in flight.
type slowCreate struct {
	next  http.Handler
	delay time.Duration
}

func (h slowCreate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.next.ServeHTTP(w, r)
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".CreateDeployment") {
		time.Sleep(h.delay)
	}
}

// TestSignalDuringCreateDeployment: SIGTERM while CreateDeployment is in
// flight ends the job with 143, and the deployment the call made is found
// and stopped with rollback (BG_ON_INTERRUPT's default).
func TestSignalDuringCreateDeployment(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{TerminationWaitMinutes: 600})
	hs := httptest.NewServer(slowCreate{next: s.srv, delay: 2 * time.Second})
	t.Cleanup(hs.Close)
	s.url = hs.URL
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for s.srv.CallCounts()["codedeploy:CreateDeployment"] == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel(Interrupted{Signal: syscall.SIGTERM})
	}()
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"deploy"}, Env{Environ: deployEnv(s, "AWS_MAX_ATTEMPTS=1"), Stdout: &out, Stderr: &errb})
	if code != 143 {
		t.Fatalf("deploy interrupted during CreateDeployment: exit %d, want 143\n%s", code, errb.String())
	}
	env, _ := reportDotenv(filepath.Join(s.out, "deploy.env"))
	id := env[envDeploymentID]
	deadline := time.Now().Add(5 * time.Second)
	for s.statusOf(t, id) != cdtypes.DeploymentStatusStopped && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.statusOf(t, id); got != cdtypes.DeploymentStatusStopped {
		t.Errorf("deployment %s is %s, want Stopped", id, got)
	}
	if !strings.Contains(errb.String(), "stopped with rollback") {
		t.Errorf("log does not say the deployment was stopped:\n%s", errb.String())
	}
}

// TestRunIdentityOutsideGitLab: with no pipeline, BG_RUN_ID is what lets a
// retried deploy attach to its own deployment instead of queueing behind it.
func TestRunIdentityOutsideGitLab(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	env := deployEnv(s, "CI_PIPELINE_ID=", "CI_PROJECT_PATH=", "BG_RUN_ID=nightly-7", "BG_PROMOTE=manual", "BG_ON_BUSY=fail")
	for i, want := range []string{"deployment started", "already running: watching it"} {
		code, _, stderr := runIn(t, env, "deploy")
		if code != ExitOK || !strings.Contains(stderr, want) {
			t.Fatalf("deploy %d outside GitLab: exit %d, want a log with %q\n%s", i+1, code, want, stderr)
		}
	}
	if n := s.srv.CallCounts()["codedeploy:CreateDeployment"]; n != 1 {
		t.Errorf("CreateDeployment called %d times, want 1", n)
	}
}

// TestFailedProductionCheckAfterPromote: promote has the same way back as
// deploy when the group keeps nothing to roll back to.
func TestFailedProductionCheckAfterPromote(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(failing.Close)
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	if code, _, stderr := runIn(t, deployEnv(s, "BG_PROMOTE=manual"), "deploy"); code != ExitOK {
		t.Fatalf("deploy to Ready: exit %d\n%s", code, stderr)
	}
	env, _ := reportDotenv(filepath.Join(s.out, "deploy.env"))
	code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+env[envDeploymentID], "BG_PROD_URL="+failing.URL+"/", "BG_SMOKE_INTERVAL=10ms", "BG_SMOKE_MAX_FAILURES=2"), "promote")
	if code != ExitFailed || !strings.Contains(stderr, "rolled back by deployment") {
		t.Fatalf("promote with a failing production check: exit %d, want 1 and the way back\n%s", code, stderr)
	}
	s.waitFor(t, "production back on web:1", func() bool {
		svc, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		return err == nil && strings.HasSuffix(aws.ToString(svc.Services[0].TaskDefinition), "task-definition/web:1")
	})
}
