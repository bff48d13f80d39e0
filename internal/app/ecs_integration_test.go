package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// ecsSim is the simulator with an ecs-model service: ECS deploys it
// blue/green, linear or canary itself.
type ecsSim struct {
	srv   *awssim.Server
	url   string
	world *seed.ECSNative
	ecs   *ecs.Client
	elb   *elb.Client
	cw    *cloudwatch.Client
	out   string
}

func startECSSim(tb testing.TB, o seed.ECSNativeOptions, opts ...awssim.Option) *ecsSim {
	tb.Helper()
	srv := awssim.New(append([]awssim.Option{awssim.WithClock(clock.NewScaled(simSpeed))}, opts...)...)
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	s := &ecsSim{srv: srv, url: hs.URL, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), out: tb.TempDir()}
	ctx := context.Background()
	for _, name := range o.Alarms {
		if _, err := s.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
			Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
		}); err != nil {
			tb.Fatal(err)
		}
	}
	w, err := seed.CreateECSNative(ctx, seed.Clients{ECS: s.ecs, ELB: s.elb, ECR: ecr.NewFromConfig(cfg)}, o)
	if err != nil {
		tb.Fatal(err)
	}
	s.world = w
	waitUntil(tb, "the initial tasks to be healthy", func() bool {
		h, err := s.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.BlueTargetGroupARN)})
		return err == nil && len(h.TargetHealthDescriptions) == 2 && h.TargetHealthDescriptions[0].TargetHealth.State == "healthy" && h.TargetHealthDescriptions[1].TargetHealth.State == "healthy"
	})
	return s
}

// runECS runs a command with the run's clock as fast as the simulator's, as
// the sandbox runs them: the ECS service deployment API carries few
// timestamps to learn the simulator's speed from.
func runECS(tb testing.TB, environ []string, args ...string) (int, string, string) {
	tb.Helper()
	return runClocked(tb, newFastClock(simSpeed), environ, args...)
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *ecsSim) environ(extra ...string) []string {
	return append([]string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + s.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_CLUSTER=prod", "BG_SERVICE=web", "BG_OUTPUT_DIR=" + s.out,
		"BG_TASKDEF_FILE=" + filepath.Join(s.out, "no-taskdef.json"), "BG_APPSPEC_FILE=" + filepath.Join(s.out, "no-appspec.yml"),
		"CI_PROJECT_PATH=group/web", "CI_PIPELINE_ID=100", "BG_SMOKE_INTERVAL=10ms", "BG_SMOKE_MAX_FAILURES=2", "BG_LOG_LEVEL=debug",
	}, extra...)
}

func ecsImage(tag string) string { return "BG_IMAGE=registry.example/web:" + tag }

func (s *ecsSim) service(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v", err)
	}
	return out.Services[0]
}

// current is the service's current service deployment.
func (s *ecsSim) current(t *testing.T) ecstypes.ServiceDeployment {
	t.Helper()
	arn := aws.ToString(s.service(t).CurrentServiceDeployment)
	out, err := s.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments(%s): %v", arn, err)
	}
	return out.ServiceDeployments[0]
}

func (s *ecsSim) dotenv(t *testing.T) map[string]string {
	t.Helper()
	env, err := reportDotenv(filepath.Join(s.out, "deploy.env"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func okServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	return srv
}

func failingServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(srv.Close)
	return srv
}

func wantIn(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

var pauseAfterTest = []ecstypes.DeploymentLifecycleHook{{
	TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
	LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift},
}}

// The service is found to be an ecs-model one (BG_MODE unset), deployed
// blue/green to the end, and reported with green live; a rerun of the same
// image changes nothing.
func TestECSDeployBlueGreen(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{BakeTimeInMinutes: 2})
	t.Logf("DEBUG rule %s listener %s", s.world.ProdRuleARN, s.world.ProdListenerARN)
	code, stdout, stderr := runECS(t, s.environ(ecsImage("2")), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy exit %d\n%s", code, stderr)
	}
	wantIn(t, "deploy log", stderr, "the ecs model", "gate: the service has no PAUSE hook after test traffic and no smoke URL is set",
		"service deployment started", "stage BAKE_TIME", "traffic blue   0% ░░░░░░░░░░░░░░░░░░░░ 100% green", "service deployment SUCCESSFUL",
		"green revision")
	wantIn(t, "deploy output", stdout, "green is live")
	env := s.dotenv(t)
	if !strings.Contains(env[envDeploymentID], ":service-deployment/prod/web/") || env[envOutcome] != "succeeded" || env[envLiveColour] != "green" {
		t.Errorf("deploy.env = %v", env)
	}
	if env[envProdURL] != "http://"+s.world.DNSName+"/" || env[envTestURL] != "http://"+s.world.DNSName+":8080/" {
		t.Errorf("deploy.env URLs = %q %q in %v", env[envProdURL], env[envTestURL], env)
	}
	if d := s.current(t); d.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment %s", d.Status)
	}
	if _, err := os.Stat(filepath.Join(s.out, "appspec.yml")); err == nil {
		t.Error("the ecs model wrote an appspec.yml")
	}
	code, _, stderr = runECS(t, s.environ(ecsImage("2")), "deploy")
	if code != ExitOK || !strings.Contains(stderr, "nothing to deploy") {
		t.Errorf("rerun: exit %d\n%s", code, stderr)
	}
	// status and verify read the ecs model's snapshot.
	code, stdout, stderr = runECS(t, s.environ(), "status")
	if code != ExitOK {
		t.Fatalf("status exit %d\n%s", code, stderr)
	}
	wantIn(t, "status", stdout, "green is live", "| production traffic | 0% | **100% (live)** |", "| test traffic |", "web-green")
	code, _, stderr = runECS(t, s.environ(), "verify")
	if code != ExitOK {
		t.Errorf("verify exit %d\n%s", code, stderr)
	}
}

// A linear deployment held by a PAUSE hook after test traffic: the test
// URL is checked there, then ContinueServiceDeployment lets it go on.
func TestECSDeployLinearThroughThePauseGate(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{
		Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: 1, Hooks: pauseAfterTest,
		Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(2)},
	})
	ok := okServer(t)
	code, stdout, stderr := runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+ok.URL+"/health", "BG_MODE=ecs"), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy exit %d\n%s", code, stderr)
	}
	wantIn(t, "deploy log", stderr, "gate: the service's PAUSE hook holds the deployment after test traffic moves; the test URL is smoke-checked, then ContinueServiceDeployment",
		"hook PAUSE", "AWAITING_ACTION", "smoke check passed", "continuing: production traffic starts moving",
		"traffic blue  75% ", "traffic blue  50% ", "service deployment SUCCESSFUL")
	wantIn(t, "deploy output", stdout, "green is live")
	if strings.Index(stderr, "smoke check passed") > strings.Index(stderr, "traffic blue  75%") {
		t.Errorf("production moved before the test check passed:\n%s", stderr)
	}
}

// The gate fails at the PAUSE hook: ECS is told to roll back there.
func TestECSPauseGateFailsRollsBack(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyCanary, Hooks: pauseAfterTest})
	bad := failingServer(t)
	code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+bad.URL+"/health"), "deploy")
	if code != ExitFailed {
		t.Fatalf("deploy with a failing test check: exit %d, want 1\n%s", code, stderr)
	}
	wantIn(t, "deploy log", stderr, "rolling back at the PAUSE hook", "the test traffic smoke check failed", "ROLLBACK_SUCCESSFUL")
	if env := s.dotenv(t); env[envOutcome] != "rolled-back" || env[envLiveColour] != "blue" {
		t.Errorf("deploy.env = %v", env)
	}
	if d := s.current(t); d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s", d.Status)
	}
}

// BG_PROMOTE=manual ends the job at the PAUSE hook; promote continues it;
// a second deployment held there is rolled back by rollback.
func TestECSManualPromoteAndRollback(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{BakeTimeInMinutes: 1, Hooks: pauseAfterTest})
	code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_PROMOTE=manual"), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy exit %d\n%s", code, stderr)
	}
	wantIn(t, "deploy log", stderr, "the job ends there and the promote job continues it", "production traffic moves when promote runs")
	if env := s.dotenv(t); env[envOutcome] != "awaiting-promotion" {
		t.Errorf("deploy.env = %v", env)
	}
	// A retried deploy job attaches to the held deployment.
	code, _, stderr = runECS(t, s.environ(ecsImage("2"), "BG_PROMOTE=manual"), "deploy")
	if code != ExitOK || !strings.Contains(stderr, "already running: watching it") {
		t.Fatalf("retried deploy: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runECS(t, s.environ(), "promote")
	if code != ExitOK {
		t.Fatalf("promote exit %d\n%s", code, stderr)
	}
	wantIn(t, "promote", stderr+stdout, "continuing: production traffic starts moving", "service deployment SUCCESSFUL", "green is live")
	code, _, stderr = runECS(t, s.environ(), "promote")
	if code != ExitOK || !strings.Contains(stderr, "nothing to promote") {
		t.Errorf("promote with nothing held: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runECS(t, s.environ(), "finish")
	if code != ExitOK || !strings.Contains(stderr, "ECS offers no way to end a service deployment's bake time early") {
		t.Errorf("finish: exit %d\n%s", code, stderr)
	}

	code, _, stderr = runECS(t, s.environ(ecsImage("3"), "BG_PROMOTE=manual"), "deploy")
	if code != ExitOK {
		t.Fatalf("second deploy exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = runECS(t, s.environ(), "rollback")
	if code != ExitOK {
		t.Fatalf("rollback exit %d\n%s", code, stderr)
	}
	wantIn(t, "rollback", stderr+stdout, "stopping the service deployment with rollback", "rolled back", "green is live")
	if d := s.current(t); d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s", d.Status)
	}
	// Nothing in flight: rollback goes back to the revision before the
	// last successful deployment, on the other colour. The pipeline's
	// deploy.env names what it deployed (web:2, live again).
	pipeline := "ECS_BLUEGREEN_TASK_DEFINITION=" + aws.ToString(s.service(t).TaskDefinition)
	code, stdout, stderr = runECS(t, s.environ(pipeline), "rollback")
	if code != ExitOK {
		t.Fatalf("rollback after the end: exit %d\n%s", code, stderr)
	}
	wantIn(t, "rollback after the end", stderr+stdout, "going back to the previous revision", "service deployment SUCCESSFUL", "blue is live")
	live := aws.ToString(s.service(t).TaskDefinition)
	td, err := s.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(live)})
	if err != nil || aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image) != "public.ecr.aws/nginx/nginx:latest" {
		t.Errorf("after the rollback the service runs %v (%v)", td, err)
	}
	// The same job retried does not go back once more.
	code, _, stderr = runECS(t, s.environ(pipeline), "rollback")
	if code != ExitOK || !strings.Contains(stderr, "nothing to roll back") || aws.ToString(s.service(t).TaskDefinition) != live {
		t.Errorf("retried rollback: exit %d, service runs %s\n%s", code, aws.ToString(s.service(t).TaskDefinition), stderr)
	}
}

// Without a PAUSE hook the check runs while ECS moves on: a failure stops
// the deployment with rollback. BG_PROMOTE=manual is refused up front.
func TestECSGateWithoutPauseHook(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyCanary, Canary: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(30)}})
	code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_PROMOTE=manual"), "deploy")
	if code != ExitUsage || !strings.Contains(stderr, "no PAUSE lifecycle hook after test traffic") {
		t.Fatalf("manual promote without a PAUSE hook: exit %d, want 2\n%s", code, stderr)
	}
	if arn := aws.ToString(s.service(t).CurrentServiceDeployment); arn != "" && s.current(t).Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("the refused deploy started %s", arn)
	}
	bad := failingServer(t)
	code, _, stderr = runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+bad.URL+"/"), "deploy")
	if code != ExitFailed {
		t.Fatalf("deploy with a failing test check: exit %d, want 1\n%s", code, stderr)
	}
	wantIn(t, "deploy log", stderr, "checks run while ECS moves on", "stopping the service deployment with rollback", "ROLLBACK_SUCCESSFUL")
	if d := s.current(t); d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment %s", d.Status)
	}
}

// ECS rolls back on its own: an alarm during the shift, the circuit
// breaker on tasks that never get healthy. The job fails (exit 1).
func TestECSAutomaticRollbacks(t *testing.T) {
	t.Parallel()
	t.Run("alarm", func(t *testing.T) {
		t.Parallel()
		s := startECSSim(t, seed.ECSNativeOptions{
			Strategy: ecstypes.DeploymentStrategyLinear, Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(10), StepBakeTimeInMinutes: aws.Int32(5)},
			Options: seed.Options{Alarms: []string{"web-5xx"}},
		})
		go func() {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}}); err == nil && len(out.Services) == 1 && aws.ToString(out.Services[0].CurrentServiceDeployment) != "" {
					d, err := s.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(out.Services[0].CurrentServiceDeployment)}})
					if err == nil && len(d.ServiceDeployments) == 1 && d.ServiceDeployments[0].LifecycleStage == ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift {
						_, _ = s.cw.SetAlarmState(context.Background(), &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("errors")})
						return
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		code, _, stderr := runECS(t, s.environ(ecsImage("2")), "deploy")
		if code != ExitFailed {
			t.Fatalf("deploy with an alarm: exit %d, want 1\n%s", code, stderr)
		}
		wantIn(t, "deploy log", stderr, "alarms TRIGGERED: web-5xx", "ROLLBACK_SUCCESSFUL")
	})
	t.Run("circuit_breaker", func(t *testing.T) {
		t.Parallel()
		s := startECSSim(t, seed.ECSNativeOptions{CircuitBreaker: true})
		s.srv.World().SetTaskDefinitionHealthy("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2", false)
		code, _, stderr := runECS(t, s.environ(ecsImage("broken")), "deploy")
		if code != ExitFailed {
			t.Fatalf("deploy of tasks that never get healthy: exit %d, want 1\n%s", code, stderr)
		}
		wantIn(t, "deploy log", stderr, "circuit breaker TRIGGERED", "ROLLBACK_SUCCESSFUL")
	})
}

// An interrupt stops the deployment with rollback (exit 143); a timeout
// follows BG_ON_TIMEOUT (exit 3).
func TestECSInterruptAndTimeout(t *testing.T) {
	t.Parallel()
	t.Run("interrupt", func(t *testing.T) {
		t.Parallel()
		s := startECSSim(t, seed.ECSNativeOptions{Hooks: pauseAfterTest})
		ctx, cancel := context.WithCancelCause(context.Background())
		go func() {
			waitUntil(t, "the pause", func() bool {
				out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
				return err == nil && aws.ToString(out.Services[0].CurrentServiceDeployment) != ""
			})
			time.Sleep(300 * time.Millisecond)
			cancel(Interrupted{Signal: syscall.SIGTERM})
		}()
		var out, errb bytes.Buffer
		code := Run(ctx, []string{"deploy"}, Env{Environ: s.environ(ecsImage("2"), "BG_PROMOTE=manual", "BG_TEST_URL="+slowServer(t).URL), Stdout: &out, Stderr: &errb, Clock: newFastClock(simSpeed)})
		if code != 143 {
			t.Fatalf("interrupted deploy: exit %d, want 143\n%s", code, errb.String())
		}
		wantIn(t, "deploy log", errb.String(), "was stopped with rollback")
		waitUntil(t, "the rollback", func() bool { return s.current(t).Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful })
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		s := startECSSim(t, seed.ECSNativeOptions{Hooks: pauseAfterTest})
		code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+slowServer(t).URL, "BG_TIMEOUT=1s", "BG_ON_TIMEOUT=rollback"), "deploy")
		if code != ExitTimeout {
			t.Fatalf("deploy past its timeout: exit %d, want 3\n%s", code, stderr)
		}
		wantIn(t, "deploy log", stderr, "did not end within 1s", "stopped with rollback")
		waitUntil(t, "the rollback", func() bool { return s.current(t).Status == ecstypes.ServiceDeploymentStatusRollbackSuccessful })
	})
}

// slowServer answers after a while: a smoke check against it outlasts the
// job's patience.
func slowServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// DESIGN §8: with 10% throttling and 5% server errors on every call, a
// gated linear deployment still ends correctly.
func TestECSDeployUnderThrottlingAndServerErrors(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(7)
	s := startECSSim(t, seed.ECSNativeOptions{
		Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: 1, Hooks: pauseAfterTest,
		Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
	}, awssim.WithFaults(faults))
	faults.SetRates(0.10, 0.05, 0)
	code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+okServer(t).URL), "deploy")
	faults.SetRates(0, 0, 0)
	if code != ExitOK {
		t.Fatalf("deploy under faults: exit %d\n%s", code, stderr)
	}
	if d := s.current(t); d.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment %s", d.Status)
	}
	injected := 0
	for _, c := range s.srv.Calls() {
		if c.ErrorCode == "ThrottlingException" || c.ErrorCode == "ServerException" || c.ErrorCode == "ServiceUnavailable" {
			injected++
		}
	}
	if injected == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
}

// cleanup in the ecs model keeps what the service deployments use.
func TestECSCleanup(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{})
	for _, tag := range []string{"2", "3", "4"} {
		if code, _, stderr := runECS(t, s.environ(ecsImage(tag)), "deploy"); code != ExitOK {
			t.Fatalf("deploy %s: exit %d\n%s", tag, code, stderr)
		}
	}
	code, _, stderr := runECS(t, s.environ("BG_KEEP=1"), "cleanup")
	if code != ExitOK {
		t.Fatalf("cleanup exit %d\n%s", code, stderr)
	}
	live := aws.ToString(s.service(t).TaskDefinition)
	if _, err := s.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(live)}); err != nil {
		t.Errorf("cleanup removed the live revision: %v", err)
	}
	revs, err := s.ecs.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil || len(revs.TaskDefinitionArns) >= 4 {
		t.Errorf("after cleanup the active revisions are %v (%v)", revs.TaskDefinitionArns, err)
	}
}

// TestECSDeployCalls counts the AWS calls of one gated ecs deploy (a linear
// deployment held at its PAUSE hook, 2 × 5 min steps, 5 min bake), by
// operation, and holds them to a budget: each change made once, the
// service deployment read about once per observed change, not per second.
// The counts are printed (go test -run TestECSDeployCalls -v).
func TestECSDeployCalls(t *testing.T) {
	t.Parallel()
	s := startECSSim(t, seed.ECSNativeOptions{
		Strategy: ecstypes.DeploymentStrategyLinear, BakeTimeInMinutes: 5, Hooks: pauseAfterTest,
		Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(5)},
	})
	before := len(s.srv.Calls())
	code, _, stderr := runECS(t, s.environ(ecsImage("2"), "BG_TEST_URL="+okServer(t).URL), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy exit %d\n%s", code, stderr)
	}
	calls := s.srv.Calls()[before:]
	byOp := map[string]int{}
	var ops []string
	for _, c := range calls {
		if !strings.Contains(c.UserAgent, "ecs-bluegreen/") {
			continue
		}
		if byOp[c.Operation] == 0 {
			ops = append(ops, c.Operation)
		}
		byOp[c.Operation]++
	}
	var line []string
	for _, op := range ops {
		line = append(line, op+"×"+strconv.Itoa(byOp[op]))
	}
	span := calls[len(calls)-1].Time.Sub(calls[0].Time)
	t.Logf("one ecs deploy (%s of simulated time): %s", span.Round(time.Second), strings.Join(line, " "))
	for op, want := range map[string]int{"RegisterTaskDefinition": 1, "UpdateService": 1, "ContinueServiceDeployment": 1, "DescribeServiceRevisions": 2} {
		if byOp[op] != want {
			t.Errorf("%s called %d times, want %d", op, byOp[op], want)
		}
	}
	// Scheduled waits (steps, bake) are read every 12 s to catch what
	// nobody scheduled, then at the moment they are due; changes add a few
	// reads each. A read per second would be about 950.
	if n, most := byOp["DescribeServiceDeployments"], int(span/(12*time.Second))+20; n > most {
		t.Errorf("DescribeServiceDeployments called %d times over %s, budget %d", n, span, most)
	}
	for _, op := range []string{"StopServiceDeployment", "ListServiceDeployments"} {
		if byOp[op] != 0 {
			t.Errorf("a passing deploy called %s", op)
		}
	}
}

// BG_MODE=ecs on a CODE_DEPLOY service is refused before anything changes,
// pointing at migrate.
func TestECSModeOnACodeDeployService(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	code, _, stderr := runIn(t, deployEnv(s, "BG_MODE=ecs"), "deploy")
	if code != ExitUsage || !strings.Contains(stderr, "uses the CODE_DEPLOY deployment controller") || !strings.Contains(stderr, "ecs-bluegreen migrate") {
		t.Fatalf("BG_MODE=ecs on a CODE_DEPLOY service: exit %d, want 2\n%s", code, stderr)
	}
	revs, err := s.ecs.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web")})
	if err != nil || len(revs.TaskDefinitionArns) != 1 {
		t.Errorf("the refused deploy registered a revision: %v (%v)", revs.TaskDefinitionArns, err)
	}
}
