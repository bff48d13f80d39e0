package deploy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// simSpeed runs the simulator 600 times faster than the wall clock.
const simSpeed = 600

// fastClock paces the code under test as fast as the simulator runs.
type fastClock struct{ start time.Time }

func (c fastClock) Now() time.Time {
	return c.start.Add(time.Since(c.start) * 20)
}

func (c fastClock) After(d time.Duration) <-chan time.Time { return time.After(d / 20) }

// world is the simulator and the real SDK clients pointed at it.
type world struct {
	srv *awssim.Server
	ecs *ecs.Client
	elb *elb.Client
	cd  *codedeploy.Client
	cw  *cloudwatch.Client
	c   seed.Clients
}

func startWorld(t *testing.T) *world {
	t.Helper()
	srv := awssim.New(awssim.WithClock(clock.NewScaled(simSpeed)))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	w := &world{srv: srv, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg)}
	w.c = seed.Clients{ECS: w.ecs, ELB: w.elb, CodeDeploy: w.cd, ECR: ecr.NewFromConfig(cfg)}
	return w
}

func (w *world) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthy reports whether tg has its two targets healthy.
func (w *world) healthy(tg string) func() bool {
	return func() bool {
		h, err := w.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			return false
		}
		k := 0
		for _, d := range h.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				k++
			}
		}
		return k == 2
	}
}

func (w *world) status(t *testing.T, id string) cdtypes.DeploymentStatus {
	t.Helper()
	d, err := w.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return d.DeploymentInfo.Status
}

func (w *world) register(t *testing.T, image string) string {
	t.Helper()
	td, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

func appSpec(taskDef string) []byte {
	return []byte("version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + taskDef +
		"\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n")
}

var quiet = slog.New(slog.DiscardHandler)

// session is a Session on the world's clients, as app builds one.
func (w *world) session(cd *CodeDeploy, t *Target) *Session {
	return &Session{
		CD: cd, Watcher: monitor.Watcher{API: w.cd, Clock: cd.Clock, Plan: t.Plan},
		Smoke:   verify.NewChecker(quiet, nil).WithClock(cd.Clock),
		Promote: PromoteAuto, WaitFor: WaitForComplete, OnInterrupt: InterruptRollback, OnTimeout: TimeoutLeave,
		Region: "eu-west-1", Log: quiet,
		Evidence: &Evidence{ECS: w.ecs, ELB: w.elb, CloudWatch: w.cw, Cluster: t.Cluster, Service: t.Service},
	}
}

func smokeAt(t *testing.T, status int) *verify.Smoke {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &verify.Smoke{URL: u, Pass: func(code int) bool { return code == http.StatusOK }, PassText: "200", Successes: 2, MaxFailures: 2, Interval: 10 * time.Millisecond, Timeout: 5 * time.Second}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", Alarms: []string{"web-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	two, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{Options: seed.Options{Service: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	cd := &CodeDeploy{ECS: w.ecs, CD: w.cd}
	got, err := cd.Resolve(ctx, sw.Cluster, sw.Service, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Application != sw.Application || got.Group != sw.Group || got.Config != "CodeDeployDefault.ECSLinear10PercentEvery3Minutes" || got.ServiceState == nil ||
		got.Plan.TargetGroups != [2]string{"web-blue", "web-green"} || got.Plan.ShiftInterval != 0 || len(got.Alarms()) != 1 {
		t.Errorf("Resolve = %+v (plan %+v)", got, got.Plan)
	}
	if err := cd.LoadPlan(ctx, got); err != nil || got.Plan.ShiftInterval != 3*time.Minute || got.ShiftTime != 27*time.Minute || got.Plan.TargetGroups[0] != "web-blue" ||
		!got.Plan.Linear || got.Plan.StepPercent != 10 || !got.Plan.TerminationKnown || got.Plan.TerminationWait != 0 {
		t.Errorf("LoadPlan: %v, plan %+v, shift %s", err, got.Plan, got.ShiftTime)
	}
	if wait, ok := got.TerminationWait(); !ok || wait != 0 {
		t.Errorf("TerminationWait = %s, %v", wait, ok)
	}
	tests := []struct {
		name, cluster, service, app, group, config, want string
	}{
		{name: "missing_service", cluster: sw.Cluster, service: "nope", want: "ECS service nope not found in cluster prod"},
		{name: "ecs_controller", cluster: sw.Cluster, service: two.BlueService, want: "uses the ECS deployment controller, not CODE_DEPLOY"},
		{name: "missing_group", cluster: sw.Cluster, service: sw.Service, app: sw.Application, group: "nope", want: "deployment group " + sw.Application + "/nope does not exist"},
		{name: "missing_config", cluster: sw.Cluster, service: sw.Service, config: "CodeDeployDefault.Nope", want: "deployment configuration CodeDeployDefault.Nope does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, err := cd.Resolve(ctx, tt.cluster, tt.service, tt.app, tt.group, tt.config)
			if err == nil {
				err = cd.LoadPlan(ctx, target)
			}
			var re *ResolveError
			if !errors.As(err, &re) || !strings.Contains(re.Msg, tt.want) || re.ErrorHint() == "" || re.ExitCode() != 2 {
				t.Errorf("Resolve: %v, want a ResolveError with %q and a hint", err, tt.want)
			}
		})
	}
}

// TestCodeDeployFlow: start, attach, busy, manual promote, promote, finish
// against the simulator, watched by the session as deploy and promote do.
func TestCodeDeployFlow(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{ReadyWaitMinutes: 1440, TerminationWaitMinutes: 600})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
	cd := &CodeDeploy{ECS: w.ecs, CD: w.cd, Clock: fastClock{start: time.Now()}}
	target, err := cd.Resolve(ctx, sw.Cluster, sw.Service, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.LoadPlan(ctx, target); err != nil {
		t.Fatal(err)
	}
	req := Request{AppSpec: appSpec(w.register(t, "registry.example/web:2")), Origin: Origin("group/web", "7"), OnBusy: BusyFail}
	req.Description = Describe(req.Origin, "https://gitlab.example/pipelines/7")
	started, err := cd.Start(ctx, target, req, nil)
	if err != nil || started.Attached {
		t.Fatalf("Start = %+v, %v", started, err)
	}
	// A retried job of the same pipeline attaches; another pipeline is busy.
	if again, err := cd.Start(ctx, target, req, nil); err != nil || !again.Attached || again.DeploymentID != started.DeploymentID {
		t.Errorf("second Start = %+v, %v", again, err)
	}
	other := req
	other.Origin = Origin("group/web", "8")
	var busy *BusyError
	if _, err := cd.Start(ctx, target, other, nil); !errors.As(err, &busy) || busy.DeploymentID != started.DeploymentID || busy.ExitCode() != 1 || busy.ErrorHint() == "" {
		t.Errorf("Start from another pipeline: %v, want BusyError naming %s", err, started.DeploymentID)
	}
	if active, err := cd.InFlight(ctx, target); err != nil || aws.ToString(active.DeploymentId) != started.DeploymentID {
		t.Errorf("InFlight = %v, %v", active, err)
	}
	if err := cd.Promote(ctx, started.DeploymentID); err == nil {
		t.Error("Promote before Ready succeeded")
	}

	s := w.session(cd, target)
	s.Promote = PromoteManual
	s.TestSmoke = smokeAt(t, http.StatusOK)
	out, err := s.Watch(ctx, started.DeploymentID)
	if err != nil || !out.AwaitingPromotion {
		t.Fatalf("manual watch = %+v, %v", out, err)
	}
	// promote: the session promotes at Ready and stops at the termination wait.
	s = w.session(cd, target)
	s.WaitFor = WaitForTraffic
	s.ProdSmoke = smokeAt(t, http.StatusOK)
	out, err = s.Watch(ctx, started.DeploymentID)
	if err != nil || !out.InTerminationWait {
		t.Fatalf("promote watch = %+v, %v", out, err)
	}
	if err := cd.Finish(ctx, started.DeploymentID); err != nil {
		t.Fatal(err)
	}
	s = w.session(cd, target)
	if out, err = s.Watch(ctx, started.DeploymentID); err != nil || out.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("finish watch = %+v, %v", out, err)
	}
	if err := cd.Stop(ctx, started.DeploymentID, true); err != nil {
		t.Errorf("Stop of a finished deployment: %v (want nil: nothing left to stop)", err)
	}
	if d, err := cd.Describe(ctx, started.DeploymentID); err != nil || d.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("Describe = %v, %v", d, err)
	}
}

// TestSessionFailures: a failing test check stops with rollback; a failing
// production check after the end redeploys; a timeout and an interrupt
// follow their policies.
func TestSessionFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		seed  seed.Options
		setup func(t *testing.T, s *Session, target *Target)
		ctx   func() (context.Context, context.CancelFunc)
		check func(t *testing.T, w *world, id string, out Outcome, err error)
	}{
		{
			name: "test_check_fails", seed: seed.Options{ReadyWaitMinutes: 1440},
			setup: func(t *testing.T, s *Session, _ *Target) {
				t.Helper()
				s.TestSmoke = smokeAt(t, http.StatusServiceUnavailable)
			},
			check: func(t *testing.T, w *world, id string, _ Outcome, err error) {
				t.Helper()
				var de *DeploymentError
				if !errors.As(err, &de) || de.RollbackID == "" || !strings.Contains(de.Reason, "HTTP 503") || de.ExitCode() != 1 || len(de.Explain()) == 0 {
					t.Errorf("err = %v, want a rolled back DeploymentError naming the check", err)
				}
				if got := w.status(t, id); got != cdtypes.DeploymentStatusStopped {
					t.Errorf("deployment %s", got)
				}
			},
		},
		{
			name: "production_check_fails_after_the_end", seed: seed.Options{},
			setup: func(t *testing.T, s *Session, target *Target) {
				t.Helper()
				s.ProdSmoke = smokeAt(t, http.StatusServiceUnavailable)
				previous := aws.ToString(target.ServiceState.TaskSets[0].TaskDefinition)
				s.Revert = func(ctx context.Context) (string, error) {
					st, err := s.CD.Start(ctx, target, Request{AppSpec: appSpec(previous)}, nil)
					return st.DeploymentID, err
				}
			},
			check: func(t *testing.T, _ *world, _ string, _ Outcome, err error) {
				t.Helper()
				var de *DeploymentError
				if !errors.As(err, &de) || de.RollbackID == "" {
					t.Errorf("err = %v, want a DeploymentError with the redeployment or the rollback", err)
				}
			},
		},
		{
			// 10% every 3 minutes: 2.7 s of real time, longer than the timeout.
			name: "timeout_rolls_back", seed: seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"},
			setup: func(_ *testing.T, s *Session, _ *Target) {
				s.Timeout, s.OnTimeout = 500*time.Millisecond, TimeoutRollback
			},
			check: func(t *testing.T, w *world, id string, _ Outcome, err error) {
				t.Helper()
				var te *TimeoutError
				if !errors.As(err, &te) || te.Applied != TimeoutRollback || te.ExitCode() != 3 || !strings.Contains(te.Error(), "stopped with rollback") {
					t.Errorf("err = %v, want a TimeoutError that rolled back", err)
				}
				w.waitFor(t, "the stop", func() bool { return w.status(t, id) == cdtypes.DeploymentStatusStopped })
			},
		},
		{
			// The deployment succeeds between the timeout and its stop: the
			// job says so and passes, as AWS says it went.
			name: "timeout_after_success", seed: seed.Options{},
			setup: func(_ *testing.T, s *Session, _ *Target) {
				s.Timeout, s.OnTimeout = time.Millisecond, TimeoutRollback
				s.CD.CD = &lateStop{codeDeployAPI: s.CD.CD}
			},
			check: func(t *testing.T, w *world, id string, out Outcome, err error) {
				t.Helper()
				if err != nil || out.Status != cdtypes.DeploymentStatusSucceeded {
					t.Errorf("err = %v, outcome %+v; want no error and the deployment Succeeded", err, out)
				}
				if got := w.status(t, id); got != cdtypes.DeploymentStatusSucceeded {
					t.Errorf("deployment %s", got)
				}
			},
		},
		{
			name: "interrupted_rolls_back", seed: seed.Options{DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"},
			setup: func(*testing.T, *Session, *Target) {},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(context.Background())
				time.AfterFunc(300*time.Millisecond, func() { cancel(errors.New("interrupted by terminated")) })
				return ctx, func() { cancel(nil) }
			},
			check: func(t *testing.T, w *world, id string, _ Outcome, err error) {
				t.Helper()
				var ie *InterruptedError
				if !errors.As(err, &ie) || ie.Applied != InterruptRollback || !strings.Contains(ie.Error(), "stopped with rollback") {
					t.Errorf("err = %v, want an InterruptedError that rolled back", err)
				}
				w.waitFor(t, "the stop", func() bool { return w.status(t, id) == cdtypes.DeploymentStatusStopped })
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t)
			ctx := context.Background()
			sw, err := seed.Create(ctx, w.c, tt.seed)
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
			cd := &CodeDeploy{ECS: w.ecs, CD: w.cd, Clock: fastClock{start: time.Now()}}
			target, err := cd.Resolve(ctx, sw.Cluster, sw.Service, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if err := cd.LoadPlan(ctx, target); err != nil {
				t.Fatal(err)
			}
			started, err := cd.Start(ctx, target, Request{AppSpec: appSpec(w.register(t, "registry.example/web:2"))}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := w.session(cd, target)
			tt.setup(t, s, target)
			wctx, cancel := context.WithCancel(ctx)
			if tt.ctx != nil {
				wctx, cancel = tt.ctx()
			}
			defer cancel()
			out, err := s.Watch(wctx, started.DeploymentID)
			tt.check(t, w, started.DeploymentID, out, err)
		})
	}
}

// lateStop delivers StopDeployment only once the deployment has ended by
// itself: the stop reaches a deployment that just succeeded.
type lateStop struct{ codeDeployAPI }

func (l *lateStop) StopDeployment(ctx context.Context, in *codedeploy.StopDeploymentInput, optFns ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error) {
	for {
		d, err := l.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: in.DeploymentId})
		if err != nil {
			return nil, err
		}
		switch d.DeploymentInfo.Status {
		case cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
			return l.codeDeployAPI.StopDeployment(ctx, in, optFns...)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// progressLog collects a Listener's progress lines.
type progressLog struct {
	mu    sync.Mutex
	lines []string
}

func (p *progressLog) add(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
}

func (p *progressLog) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// TestListenerFlow: deploy the idle colour, switch in steps, switch again
// (nothing moves), and the refusals.
func TestListenerFlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		noTest bool
	}{{name: "with_test_listener"}, {name: "without_test_listener", noTest: true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := startWorld(t)
			ctx := context.Background()
			sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w.waitFor(t, "healthy blue", w.healthy(sw.BlueTargetGroupARN))
			testRoute := sw.TestListenerARN
			if tt.noTest {
				// No BG_TEST_LISTENER_ARN, and no listener forwards to green:
				// on AWS its targets answer "unused" until something does.
				testRoute = ""
				if _, err := w.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(sw.TestListenerARN), DefaultActions: []elbtypes.Action{{
					Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")},
				}}}); err != nil {
					t.Fatal(err)
				}
			}
			read := func() *snapshot.Snapshot {
				t.Helper()
				s, err := (&snapshot.Reader{ECS: w.ecs, ELB: w.elb}).ReadListener(ctx, sw.Cluster, sw.BlueService, sw.GreenService, sw.ProdListenerARN, testRoute)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			var progress progressLog
			l := &Listener{ECS: w.ecs, ELB: w.elb, CloudWatch: w.cw, Clock: fastClock{start: time.Now()}, Log: quiet, Progress: progress.add, Poll: 500 * time.Millisecond}
			idle, err := l.DeployIdle(ctx, read(), w.register(t, "registry.example/web:2"))
			if err != nil || idle != snapshot.Green {
				t.Fatalf("DeployIdle = %s, %v\n%s", idle, err, &progress)
			}
			s := read()
			green := s.Colour(snapshot.Green)
			if s.Live != snapshot.Blue || green.Healthy != 2 || !strings.HasSuffix(green.TaskDefinition, ":2") {
				t.Fatalf("after DeployIdle: live %s, green %+v", s.Live, green)
			}
			if tt.noTest {
				// No test route: green joined production at weight 0, so its
				// health was checked before traffic moves.
				if w := snapshot.ForwardWeights(s.Routes.Actions[s.Routes.Production]); len(w) != 2 || w[green.TargetGroupARN] != 0 {
					t.Errorf("production forward without a test route = %v, want green at weight 0", w)
				}
			} else if green.TestWeight != 100 {
				t.Errorf("green test weight %.0f", green.TestWeight)
			}
			res, err := l.Switch(ctx, s, SwitchRequest{Steps: []int{50, 100}, Interval: time.Second})
			if err != nil || res.To != snapshot.Green || res.From != snapshot.Blue {
				t.Fatalf("Switch = %+v, %v\n%s", res, err, &progress)
			}
			if s = read(); s.Live != snapshot.Green || s.Colour(snapshot.Green).IsProduction != "true" || s.Colour(snapshot.Blue).IsProduction != "false" {
				t.Errorf("after Switch: live %s, tags %q %q", s.Live, s.Colour(snapshot.Green).IsProduction, s.Colour(snapshot.Blue).IsProduction)
			}
			if !strings.Contains(progress.String(), "production traffic blue  50%") {
				t.Errorf("progress lacks the 50%% step:\n%s", &progress)
			}
			if res, err := l.Switch(ctx, s, SwitchRequest{To: snapshot.Green}); err != nil || !res.AlreadyLive {
				t.Errorf("switch to the live colour = %+v, %v", res, err)
			}
			if _, err := l.Switch(ctx, s, SwitchRequest{Steps: []int{50, 40}}); err == nil {
				t.Error("falling steps accepted")
			}
			// A colour with no healthy targets is refused, and nothing moves.
			s.Colour(snapshot.Blue).Healthy = 0
			var se *SwitchError
			if _, err := l.Switch(ctx, s, SwitchRequest{}); !errors.As(err, &se) || se.Returned || se.ExitCode() != 1 || se.Unwrap() == nil {
				t.Errorf("switch to a colour without healthy targets: %v", err)
			}
			if read().Live != snapshot.Green {
				t.Error("a refused switch moved production")
			}
		})
	}
}

// TestListenerSwitchReturnsOnAlarm: an alarm that fires while a step bakes
// sends production back.
func TestListenerSwitchReturnsOnAlarm(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "healthy green", w.healthy(sw.GreenTargetGroupARN))
	if _, err := w.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("shop-5xx"), MetricName: aws.String("m"), Namespace: aws.String("n"), ComparisonOperator: "GreaterThanThreshold",
		EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), Period: aws.Int32(60), Statistic: "Sum",
	}); err != nil {
		t.Fatal(err)
	}
	s, err := (&snapshot.Reader{ECS: w.ecs, ELB: w.elb}).ReadListener(ctx, sw.Cluster, sw.BlueService, sw.GreenService, sw.ProdListenerARN, sw.TestListenerARN)
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{ECS: w.ecs, ELB: w.elb, CloudWatch: w.cw, Alarms: []string{"shop-5xx"}, Clock: fastClock{start: time.Now()}, Log: quiet, Progress: func(string) {}, Poll: time.Second}
	time.AfterFunc(300*time.Millisecond, func() {
		_, _ = w.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("shop-5xx"), StateValue: "ALARM", StateReason: aws.String("5xx")})
	})
	_, err = l.Switch(ctx, s, SwitchRequest{Steps: []int{10, 100}, Interval: time.Hour})
	var se *SwitchError
	if !errors.As(err, &se) || !se.Returned || !strings.Contains(se.Error(), "shop-5xx") {
		t.Fatalf("switch under a firing alarm: %v", err)
	}
	after, err := (&snapshot.Reader{ECS: w.ecs, ELB: w.elb}).ReadListener(ctx, sw.Cluster, sw.BlueService, sw.GreenService, sw.ProdListenerARN, sw.TestListenerARN)
	if err != nil || after.Live != snapshot.Blue {
		t.Errorf("production after the alarm: %v, %v", after.Live, err)
	}
}

// TestCleaner: old revisions go, the newest and the ones in use stay; a dry
// run changes nothing.
func TestCleaner(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{"r.example/web:2", "r.example/web:3", "r.example/web:4"} {
		w.register(t, img)
	}
	var out strings.Builder
	c := &Cleaner{ECS: w.ecs, Log: quiet, Out: &out, Keep: 1, DeleteInactive: true, DryRun: true}
	families, inUse, err := c.InUse(ctx, sw.Cluster, []string{sw.Service})
	if err != nil || len(families) != 1 || families[0] != "web" || len(inUse) != 1 {
		t.Fatalf("InUse = %v, %v, %v", families, inUse, err)
	}
	if _, _, err := c.InUse(ctx, sw.Cluster, []string{"nope"}); err == nil {
		t.Error("InUse of a missing service succeeded")
	}
	if err := c.Clean(ctx, "web", inUse); err != nil || !strings.Contains(out.String(), "would deregister") || !strings.Contains(out.String(), "nothing was changed") {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	c.DryRun = false
	out.Reset()
	// Deregistered and, with DeleteInactive, deleted in the same run.
	if err := c.Clean(ctx, "web", inUse); err != nil || !strings.Contains(out.String(), "deregistered 2 and deleted 2 revisions") {
		t.Fatalf("cleanup: %v\n%s", err, out.String())
	}
	left, err := w.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil || len(left.TaskDefinitionArns) != 2 {
		t.Errorf("active revisions after cleanup: %v (%v), want web:1 (in use) and web:4 (newest)\n%s", left.TaskDefinitionArns, err, out.String())
	}
}

// dropper does the work of the next calls of an operation and then drops
// the connection: the change is made, the client never hears of it.
type dropper struct {
	next http.Handler
	mu   sync.Mutex
	drop map[string]int
}

func (d *dropper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	d.mu.Lock()
	n := d.drop[op]
	if n > 0 {
		d.drop[op] = n - 1
	}
	d.mu.Unlock()
	if n > 0 {
		d.next.ServeHTTP(httptest.NewRecorder(), r)
		panic(http.ErrAbortHandler)
	}
	d.next.ServeHTTP(w, r)
}

// TestLostAnswers: a CreateDeployment or ContinueDeployment whose answer is
// lost is judged by reading AWS back, and a StopDeployment that fails is
// retried; the SDK's own retries are off, so only ours count.
func TestLostAnswers(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(1)
	srv := awssim.New(awssim.WithClock(clock.NewScaled(simSpeed)), awssim.WithFaults(faults))
	d := &dropper{next: srv, drop: map[string]int{}}
	hs := httptest.NewServer(d)
	t.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL), RetryMaxAttempts: 1}
	w := &world{srv: srv, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg)}
	w.c = seed.Clients{ECS: w.ecs, ELB: w.elb, CodeDeploy: w.cd, ECR: ecr.NewFromConfig(cfg)}
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{ReadyWaitMinutes: 1440, TerminationWaitMinutes: 600})
	if err != nil {
		t.Fatal(err)
	}
	cd := &CodeDeploy{ECS: w.ecs, CD: w.cd, Clock: fastClock{start: time.Now()}}
	target, err := cd.Resolve(ctx, sw.Cluster, sw.Service, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.drop["CreateDeployment"], d.drop["ContinueDeployment"] = 1, 1
	d.mu.Unlock()
	started, err := cd.Start(ctx, target, Request{AppSpec: appSpec(w.register(t, "registry.example/web:2")), Origin: Origin("group/web", "9"), Description: Origin("group/web", "9")}, nil)
	if err != nil || started.DeploymentID == "" {
		t.Fatalf("Start with the answer lost = %+v, %v", started, err)
	}
	if n := srv.CallCounts()["codedeploy:CreateDeployment"]; n != 1 {
		t.Errorf("CreateDeployment made %d times, want 1", n)
	}
	w.waitFor(t, "Ready", func() bool { return w.status(t, started.DeploymentID) == cdtypes.DeploymentStatusReady })
	if err := cd.Promote(ctx, started.DeploymentID); err != nil {
		t.Errorf("Promote with the answer lost: %v", err)
	}
	if got := w.status(t, started.DeploymentID); got == cdtypes.DeploymentStatusReady {
		t.Errorf("after Promote the deployment is still %s", got)
	}
	faults.FailNext("codedeploy", "StopDeployment", awssim.FaultServerError, 2)
	if err := cd.Stop(ctx, started.DeploymentID, true); err != nil {
		t.Errorf("Stop through two server errors: %v", err)
	}
	w.waitFor(t, "Stopped", func() bool { return w.status(t, started.DeploymentID) == cdtypes.DeploymentStatusStopped })
	if _, err := cd.Start(ctx, target, Request{AppSpec: []byte("not: an appspec")}, nil); err == nil {
		t.Error("a CreateDeployment CodeDeploy refuses is not an error")
	}
}

// TestServiceSource: what render takes from the live service, read once.
func TestServiceSource(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := &ServiceSource{ECS: w.ecs, Cluster: sw.Cluster, Service: sw.Service}
	before := len(w.srv.Calls())
	td, err := src.TaskDefinition(ctx)
	if err != nil || td == nil {
		t.Fatalf("TaskDefinition = %v, %v", td, err)
	}
	if again, err := src.TaskDefinition(ctx); err != nil || again == td {
		t.Errorf("a second TaskDefinition must be a fresh copy: %p %p, %v", td, again, err)
	}
	spec, err := src.Spec(ctx)
	if err != nil || spec.Container != "web" || spec.Port != 8080 || len(spec.Subnets) == 0 {
		t.Errorf("Spec = %+v, %v", spec, err)
	}
	if lt, err := src.LaunchType(ctx); err != nil || lt != "FARGATE" {
		t.Errorf("LaunchType = %q, %v", lt, err)
	}
	// One DescribeServices and one DescribeTaskDefinition for all of it.
	if n := len(w.srv.Calls()) - before; n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	missing := &ServiceSource{ECS: w.ecs, Cluster: sw.Cluster, Service: "nope"}
	if _, err := missing.Spec(ctx); err == nil || !strings.Contains(err.Error(), "service nope not found") {
		t.Errorf("Spec of a missing service: %v", err)
	}
}
