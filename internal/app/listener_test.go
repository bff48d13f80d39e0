package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// listenerSim is the simulator seeded with the listener model.
type listenerSim struct {
	srv   *awssim.Server
	url   string
	world *seed.TwoServices
	ecs   *ecs.Client
	elb   *elb.Client
	cw    *cloudwatch.Client
	out   string
}

func startListenerSim(tb testing.TB, o seed.TwoServicesOptions) *listenerSim {
	tb.Helper()
	srv := awssim.New(awssim.WithClock(clock.NewScaled(simSpeed)))
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	s := &listenerSim{srv: srv, url: hs.URL, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), out: tb.TempDir()}
	w, err := seed.CreateTwoServices(context.Background(), seed.Clients{ECS: s.ecs, ELB: s.elb}, o)
	if err != nil {
		tb.Fatal(err)
	}
	s.world = w
	s.waitHealthy(tb, w.BlueTargetGroupARN, 2)
	s.waitHealthy(tb, w.GreenTargetGroupARN, 2)
	return s
}

func (s *listenerSim) waitHealthy(tb testing.TB, tg string, n int) {
	tb.Helper()
	(&sim{}).waitFor(tb, "healthy targets in "+tg, func() bool {
		h, err := s.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			return false
		}
		healthy := 0
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth.State == "healthy" {
				healthy++
			}
		}
		return healthy == n && len(h.TargetHealthDescriptions) == n
	})
}

func (s *listenerSim) environ(extra ...string) []string {
	prod := s.world.ProdListenerARN
	if s.world.ProdRuleARN != "" {
		prod = s.world.ProdRuleARN
	}
	return append([]string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + s.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_CLUSTER=prod", "BG_BLUE_SERVICE=" + s.world.BlueService, "BG_GREEN_SERVICE=" + s.world.GreenService,
		"BG_LISTENER_ARN=" + prod, "BG_TEST_LISTENER_ARN=" + s.world.TestListenerARN,
		"BG_OUTPUT_DIR=" + s.out, "BG_LOG_LEVEL=info",
		"BG_TASKDEF_FILE=" + filepath.Join(s.out, "none.json"), "BG_APPSPEC_FILE=" + filepath.Join(s.out, "none.yml"),
		"BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("e", 64),
	}, extra...)
}

// snapshot reads the listener model the way the commands do.
func (s *listenerSim) snapshot(tb testing.TB) *snapshot.Snapshot {
	tb.Helper()
	prod := s.world.ProdListenerARN
	if s.world.ProdRuleARN != "" {
		prod = s.world.ProdRuleARN
	}
	r := &snapshot.Reader{ECS: s.ecs, ELB: s.elb}
	snap, err := r.ReadListener(context.Background(), "prod", s.world.BlueService, s.world.GreenService, prod, s.world.TestListenerARN)
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// load sends requests to the production listener until stopped, counting
// failures and which target group answered.
type load struct {
	failed, total atomic.Int64
	mu            sync.Mutex
	byTG          map[string]int
	firstFailure  string
	stop          chan struct{}
	done          sync.WaitGroup
}

func startLoad(tb testing.TB, addr string) *load {
	tb.Helper()
	l := &load{byTG: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{}
	for range 4 {
		l.done.Add(1)
		go func() {
			defer l.done.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				l.total.Add(1)
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					l.fail(err.Error())
					continue
				}
				var a awssim.TaskAnswer
				_ = json.NewDecoder(resp.Body).Decode(&a)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					l.fail(resp.Status + " from " + a.TargetGroup)
					continue
				}
				l.mu.Lock()
				l.byTG[a.TargetGroup]++
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) fail(why string) {
	l.failed.Add(1)
	l.mu.Lock()
	if l.firstFailure == "" {
		l.firstFailure = why
	}
	l.mu.Unlock()
}

func (l *load) end() {
	close(l.stop)
	l.done.Wait()
}

// TestListenerDeployAndSwitch: deploy brings the idle colour up on the new
// task definition behind the test listener; switch moves production in
// weighted steps under a steady load without one failed request; the test
// listener and the IsProduction tags follow; a second switch to the same
// colour changes nothing; rollback sends production back at once.
func TestListenerDeployAndSwitch(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	before := len(s.srv.Calls())
	code, _, stderr := runIn(t, s.environ(), "deploy")
	if code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	snap := s.snapshot(t)
	green := snap.Colour(snapshot.Green)
	if snap.Live != snapshot.Blue || !strings.HasSuffix(green.TaskDefinition, "task-definition/web:2") || green.TestWeight != 100 || green.Healthy != 2 {
		t.Fatalf("after deploy: live %s, green runs %s with test weight %.0f and %d healthy", snap.Live, green.TaskDefinition, green.TestWeight, green.Healthy)
	}
	env, _ := reportDotenv(filepath.Join(s.out, "deploy.env"))
	if env["ECS_BLUEGREEN_IDLE_COLOUR"] != "green" || env[envOutcome] != "idle-ready" || env[envProdURL] != "http://"+s.world.DNSName+"/" || env[envTestURL] != "http://"+s.world.DNSName+":8080/" {
		t.Errorf("deploy.env = %v", env)
	}

	addr, err := s.srv.DataPlane().Bind(context.Background(), s.world.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.srv.DataPlane().Close)
	l := startLoad(t, addr)
	code, _, stderr = runIn(t, s.environ("BG_SWITCH_STEPS=10,50,100", "BG_SWITCH_INTERVAL=300ms"), "switch")
	l.end()
	if code != ExitOK {
		t.Fatalf("switch: exit %d\n%s", code, stderr)
	}
	if l.failed.Load() != 0 || l.total.Load() < 20 || l.byTG["web-blue"] == 0 || l.byTG["web-green"] == 0 {
		t.Errorf("under load: %d of %d requests failed (first: %s); answered by %v", l.failed.Load(), l.total.Load(), l.firstFailure, l.byTG)
	}
	for _, want := range []string{"production traffic blue  90%", "production traffic blue  50%", "production traffic blue   0%", "test traffic now reaches blue"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("switch log lacks %q:\n%s", want, stderr)
		}
	}
	snap = s.snapshot(t)
	if snap.Live != snapshot.Green || snap.Colour(snapshot.Blue).TestWeight != 100 || snap.Colour(snapshot.Green).IsProduction != "true" || snap.Colour(snapshot.Blue).IsProduction != "false" {
		t.Errorf("after switch: live %s, blue test weight %.0f, tags green=%s blue=%s", snap.Live, snap.Colour(snapshot.Blue).TestWeight, snap.Colour(snapshot.Green).IsProduction, snap.Colour(snapshot.Blue).IsProduction)
	}
	env, _ = reportDotenv(filepath.Join(s.out, "deploy.env"))
	if env[envLiveColour] != "green" {
		t.Errorf("deploy.env live colour = %q", env[envLiveColour])
	}

	// Running it twice is harmless: production, the test route and the
	// tags stay as they are.
	code, _, stderr = runIn(t, s.environ("BG_SWITCH_TO=green"), "switch")
	snap = s.snapshot(t)
	if code != ExitOK || !strings.Contains(stderr, "already") || snap.Live != snapshot.Green || snap.Colour(snapshot.Blue).TestWeight != 100 ||
		snap.Colour(snapshot.Green).IsProduction != "true" || snap.Colour(snapshot.Blue).IsProduction != "false" {
		t.Errorf("second switch to green: exit %d, live %s, blue test weight %.0f, tags green=%s blue=%s\n%s", code, snap.Live,
			snap.Colour(snapshot.Blue).TestWeight, snap.Colour(snapshot.Green).IsProduction, snap.Colour(snapshot.Blue).IsProduction, stderr)
	}
	// A retried switch job of the same pipeline (deploy.env says green was
	// prepared) keeps production on green rather than flipping it back.
	code, _, stderr = runIn(t, s.environ("ECS_BLUEGREEN_IDLE_COLOUR=green"), "switch")
	if code != ExitOK || s.snapshot(t).Live != snapshot.Green {
		t.Errorf("retried switch job: exit %d, live %s\n%s", code, s.snapshot(t).Live, stderr)
	}
	code, _, stderr = runIn(t, s.environ(), "rollback")
	if code != ExitOK || s.snapshot(t).Live != snapshot.Blue {
		t.Errorf("rollback: exit %d, live %s\n%s", code, s.snapshot(t).Live, stderr)
	}
	runIn(t, s.environ("BG_ALARMS=web-5xx"), "verify")
	checkCallsAllowed(t, s.srv.Calls()[before:])
}

// TestListenerSwitchRefusesAnUnhealthyColour: a switch to a colour whose
// targets fail their health checks changes nothing.
func TestListenerSwitchRefusesAnUnhealthyColour(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	if code, _, stderr := runIn(t, s.environ(), "deploy"); code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	s.srv.World().SetTaskDefinitionHealthy(s.snapshot(t).Colour(snapshot.Green).TaskDefinition, false)
	(&sim{}).waitFor(t, "green to fail its health checks", func() bool {
		return s.snapshot(t).Colour(snapshot.Green).Healthy == 0
	})
	code, _, stderr := runIn(t, s.environ(), "switch")
	if code != ExitFailed || !strings.Contains(stderr, "refusing to switch production to green") {
		t.Fatalf("switch to an unhealthy colour: exit %d\n%s", code, stderr)
	}
	if snap := s.snapshot(t); snap.Live != snapshot.Blue {
		t.Errorf("a refused switch moved traffic: live %q", snap.Live)
	}
}

// TestListenerSwitchReturnsTrafficOnAlarm: an alarm during a weighted step
// sends production back to the old colour and fails the job.
func TestListenerSwitchReturnsTrafficOnAlarm(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{ProdRule: true})
	ctx := context.Background()
	if _, err := s.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		(&sim{}).waitFor(t, "the first step", func() bool { return s.snapshot(t).Colour(snapshot.Green).ProductionWeight > 0 })
		_, _ = s.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx above 5")})
	}()
	code, _, stderr := runIn(t, s.environ("BG_SWITCH_STEPS=10,100", "BG_SWITCH_INTERVAL=20s", "BG_ALARMS=web-5xx"), "switch")
	if code != ExitFailed || !strings.Contains(stderr, "production traffic is back on blue") || !strings.Contains(stderr, "web-5xx") {
		t.Fatalf("switch with an alarm during the step: exit %d\n%s", code, stderr)
	}
	snap := s.snapshot(t)
	if snap.Live != snapshot.Blue || snap.Colour(snapshot.Blue).IsProduction != "true" {
		t.Errorf("after the failed switch: live %q, blue IsProduction=%s", snap.Live, snap.Colour(snapshot.Blue).IsProduction)
	}
}

// TestListenerSwitchMovesLiveTag: after a switch the registry's live tag
// names the image production now runs, so verify's tag check holds.
func TestListenerSwitchMovesLiveTag(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	repo := strings.TrimPrefix(reg.URL, "http://") + "/group/shop"
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := name.NewTag(repo + ":main")
	if err := remote.Write(src, img, remote.WithAuth(authn.Anonymous)); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	environ := s.environ("BG_IMAGE="+repo+"@"+d.String(), "BG_REGISTRY_IMAGE="+repo, "HOME="+t.TempDir())
	if code, _, stderr := runIn(t, environ, "deploy"); code != ExitOK {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runIn(t, environ, "switch"); code != ExitOK {
		t.Fatalf("switch: exit %d\n%s", code, stderr)
	}
	live, _ := name.NewTag(repo + ":live")
	got, err := remote.Head(live, remote.WithAuth(authn.Anonymous))
	if err != nil || got.Digest != d {
		t.Errorf("live tag after the switch = %v (%v), want %s", got, err, d)
	}
}

// TestListenerSwitchInterrupted: a job cancelled while a step bakes sends
// production back and exits 143, never 0 or 1.
func TestListenerSwitchInterrupted(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		(&sim{}).waitFor(t, "the first step", func() bool { return s.snapshot(t).Colour(snapshot.Green).ProductionWeight > 0 })
		cancel(Interrupted{Signal: syscall.SIGTERM})
	}()
	var out, errb bytes.Buffer
	code := Run(ctx, []string{"switch"}, Env{Environ: s.environ("BG_SWITCH_STEPS=10,100", "BG_SWITCH_INTERVAL=1m"), Stdout: &out, Stderr: &errb})
	if code != 143 || !strings.Contains(errb.String(), "production traffic is back on blue") {
		t.Fatalf("interrupted switch: exit %d, want 143 with traffic back\n%s", code, errb.String())
	}
	if snap := s.snapshot(t); snap.Live != snapshot.Blue {
		t.Errorf("after the interrupted switch: live %q", snap.Live)
	}
}

// TestListenerDeployTimesOut: an idle colour that never gets healthy ends
// the deploy at BG_TIMEOUT with exit 3, production untouched.
func TestListenerDeployTimesOut(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	// Every revision the deploy may register answers 503.
	for rev := 2; rev <= 3; rev++ {
		s.srv.World().SetTaskDefinitionHealthy(strings.TrimSuffix(s.world.TaskDefinitionARN, ":1")+fmt.Sprintf(":%d", rev), false)
	}
	code, _, stderr := runIn(t, s.environ("BG_TIMEOUT=2s"), "deploy")
	if code != ExitTimeout || !strings.Contains(stderr, "production is untouched on blue") {
		t.Fatalf("deploy of a colour that never gets healthy: exit %d, want 3\n%s", code, stderr)
	}
	// Given time, ECS stops and replaces the failing tasks; once as many
	// failed as the service runs, deploy says so and fails.
	code, _, stderr = runIn(t, s.environ("BG_TIMEOUT=1m"), "deploy")
	if code != ExitFailed || !strings.Contains(stderr, "failed to start or stay healthy; production is untouched") {
		t.Fatalf("deploy of a colour whose tasks keep failing: exit %d, want 1\n%s", code, stderr)
	}
	if snap := s.snapshot(t); snap.Live != snapshot.Blue {
		t.Errorf("live %q after a failed deploy", snap.Live)
	}
}

// TestListenerCleanupKeepsBothColours: cleanup in the listener model keeps
// the revisions both services run, whatever BG_KEEP says.
func TestListenerCleanupKeepsBothColours(t *testing.T) {
	t.Parallel()
	s := startListenerSim(t, seed.TwoServicesOptions{})
	if code, _, stderr := runIn(t, s.environ(), "deploy"); code != ExitOK { // green runs web:2
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	ctx := context.Background()
	for range 3 { // revisions 3..5, used by nothing
		if _, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("web"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("registry.example/web:x")}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runIn(t, s.environ("BG_KEEP=1"), "cleanup")
	if code != ExitOK {
		t.Fatalf("cleanup: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"web:1 (in use by", "web:2 (in use by", "deregister arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3", "deregister arn:aws:ecs:eu-west-1:123456789012:task-definition/web:4"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("cleanup output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "deregister arn:aws:ecs:eu-west-1:123456789012:task-definition/web:5") {
		t.Errorf("cleanup deregistered the newest revision despite BG_KEEP=1:\n%s", stdout)
	}
}
