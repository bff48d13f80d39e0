package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// bgEnv is a simulator seeded with an ECS-native blue/green service.
type bgEnv struct {
	sim   *awssim.Server
	clk   *clock.Manual
	start time.Time
	ecs   *ecs.Client
	elb   *elb.Client
	cw    *cloudwatch.Client
	world *seed.ECSNative
}

func newBGEnv(tb testing.TB, o seed.ECSNativeOptions) *bgEnv {
	tb.Helper()
	clk := clock.NewManual(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC))
	sim := awssim.New(awssim.WithClock(clk))
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
	e := &bgEnv{sim: sim, clk: clk, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg)}
	ctx := context.Background()
	for _, name := range o.Alarms {
		if _, err := e.cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
			Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
		}); err != nil {
			tb.Fatal(err)
		}
	}
	w, err := seed.CreateECSNative(ctx, seed.Clients{ECS: e.ecs, ELB: e.elb}, o)
	if err != nil {
		tb.Fatalf("seeding: %v", err)
	}
	e.world = w
	clk.Advance(time.Minute) // the first revision's tasks start and pass health checks
	return e
}

// deploy registers a revision with image and points the service at it:
// ECS starts a service deployment. It returns the task definition and the
// deployment's ARN, and sets start to the deployment's time.
func (e *bgEnv) deploy(t *testing.T, image string) (taskDef, arn string) {
	t.Helper()
	taskDef = e.registerOnly(t, image)
	return taskDef, e.update(t, taskDef)
}

func (e *bgEnv) describe(t *testing.T, arn string) ecstypes.ServiceDeployment {
	t.Helper()
	out, err := e.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments(%s): %d deployments, failures %v", arn, len(out.ServiceDeployments), out.Failures)
	}
	return out.ServiceDeployments[0]
}

// weights is a listener rule's forward weights, by colour: "blue/green".
func (e *bgEnv) weights(t *testing.T, ruleARN string) string {
	t.Helper()
	out, err := e.elb.DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{ruleARN}})
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]int32{}
	for _, a := range out.Rules[0].Actions {
		if a.ForwardConfig == nil {
			continue
		}
		for _, tg := range a.ForwardConfig.TargetGroups {
			w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
		}
	}
	return fmt.Sprintf("%d/%d", w[e.world.BlueTargetGroupARN], w[e.world.GreenTargetGroupARN])
}

// runUntilDone moves the clock in steps until the deployment ends (or
// limit passes), calling see after every step.
func (e *bgEnv) runUntilDone(t *testing.T, arn string, step, limit time.Duration, see func(ecstypes.ServiceDeployment)) ecstypes.ServiceDeployment {
	t.Helper()
	for elapsed := time.Duration(0); elapsed <= limit; elapsed += step {
		d := e.describe(t, arn)
		if see != nil {
			see(d)
		}
		switch d.Status {
		case ecstypes.ServiceDeploymentStatusSuccessful, ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusStopped, ecstypes.ServiceDeploymentStatusRollbackFailed:
			return d
		}
		e.clk.Advance(step)
	}
	t.Fatalf("deployment %s still running after %v", arn, limit)
	return ecstypes.ServiceDeployment{}
}

func (e *bgEnv) since(at *time.Time) string {
	if at == nil {
		return "-"
	}
	return at.Sub(e.start).String()
}

// Every stage comes at its due time whether or not anybody polls: a watcher
// reading every second sees the stages at these offsets, and a deployment
// nobody looks at until the end finishes at the same time.
func TestECSBlueGreenTimeline(t *testing.T) {
	t.Parallel()
	polled := newBGEnv(t, seed.ECSNativeOptions{BakeTimeInMinutes: 2})
	_, arn := polled.deploy(t, "registry.example/web:2")
	var stages []string
	last := ""
	end := polled.runUntilDone(t, arn, time.Second, 15*time.Minute, func(d ecstypes.ServiceDeployment) {
		if s := string(d.LifecycleStage); s != last && s != "" {
			stages = append(stages, polled.clk.Now().Sub(polled.start).String()+" "+s)
			last = s
		}
	})
	// The green tasks run after 10 s and pass two 5 s health checks; then
	// the hookless stages up to the production shift pass at once; the
	// bake time is 2 minutes; CLEAN_UP waits out the blue targets' 300 s
	// deregistration delay.
	want := []string{"0s SCALE_UP", "20s BAKE_TIME", "2m20s CLEAN_UP"}
	if diff := cmp.Diff(want, stages); diff != "" {
		t.Errorf("stages seen (-want +got):\n%s", diff)
	}
	if got := polled.since(end.FinishedAt); got != "7m20s" || end.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("polled: %s finished at %s, want SUCCESSFUL at 7m20s", end.Status, got)
	}

	quiet := newBGEnv(t, seed.ECSNativeOptions{BakeTimeInMinutes: 2})
	_, qarn := quiet.deploy(t, "registry.example/web:2")
	quiet.clk.Advance(20 * time.Minute)
	qd := quiet.describe(t, qarn)
	if got := quiet.since(qd.FinishedAt); got != "7m20s" || qd.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Errorf("unpolled: %s finished at %s, want SUCCESSFUL at 7m20s", qd.Status, got)
	}
	if got := quiet.weights(t, quiet.world.ProdRuleARN); got != "0/100" {
		t.Errorf("production rule after the deployment: %s, want 0/100 (blue/green)", got)
	}
	if got := quiet.weights(t, quiet.world.TestRuleARN); got != "0/100" {
		t.Errorf("test rule after the deployment: %s, want 0/100", got)
	}
	svc := quiet.service(t)
	if aws.ToString(svc.CurrentServiceDeployment) != qarn || len(svc.CurrentServiceRevisions) != 1 || aws.ToString(svc.CurrentServiceRevisions[0].Arn) != aws.ToString(qd.TargetServiceRevision.Arn) {
		t.Errorf("service: currentServiceDeployment %s, currentServiceRevisions %+v; want %s and the target revision only", aws.ToString(svc.CurrentServiceDeployment), svc.CurrentServiceRevisions, qarn)
	}
}

func (e *bgEnv) service(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(e.world.Cluster), Services: []string{e.world.Service}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices: %v %v", err, out)
	}
	return out.Services[0]
}

// LINEAR and CANARY write the production rule's weights step by step, the
// step bake time between steps and none after 100 %, and the deployment
// reports the weights it asked for.
func TestECSLinearCanaryWeights(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    seed.ECSNativeOptions
		want []string
	}{
		{
			name: "linear 25% every minute",
			o:    seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyLinear, Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(1)}},
			want: []string{"0s 100/0 test 100/0 requested 0", "20s 75/25 test 0/100 requested 25", "1m20s 50/50 test 0/100 requested 50", "2m20s 25/75 test 0/100 requested 75", "3m20s 0/100 test 0/100 requested 100"},
		},
		{
			name: "linear defaults (10% every 6 minutes)",
			o:    seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyLinear},
			want: []string{
				"0s 100/0 test 100/0 requested 0", "20s 90/10 test 0/100 requested 10", "6m20s 80/20 test 0/100 requested 20", "12m20s 70/30 test 0/100 requested 30",
				"18m20s 60/40 test 0/100 requested 40", "24m20s 50/50 test 0/100 requested 50", "30m20s 40/60 test 0/100 requested 60", "36m20s 30/70 test 0/100 requested 70",
				"42m20s 20/80 test 0/100 requested 80", "48m20s 10/90 test 0/100 requested 90", "54m20s 0/100 test 0/100 requested 100",
			},
		},
		{
			name: "canary 10% for 2 minutes",
			o:    seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyCanary, Canary: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(2)}},
			want: []string{"0s 100/0 test 100/0 requested 0", "20s 90/10 test 0/100 requested 10", "2m20s 0/100 test 0/100 requested 100"},
		},
		{
			name: "canary 0.5% (a share below 1 keeps weight 1)",
			o:    seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyCanary, Canary: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(0.5), CanaryBakeTimeInMinutes: aws.Int32(1)}},
			want: []string{"0s 100/0 test 100/0 requested 0", "20s 99/1 test 0/100 requested 0.5", "1m20s 0/100 test 0/100 requested 100"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newBGEnv(t, tc.o)
			_, arn := e.deploy(t, "registry.example/web:2")
			var got []string
			last := ""
			e.runUntilDone(t, arn, 10*time.Second, 2*time.Hour, func(d ecstypes.ServiceDeployment) {
				now := fmt.Sprintf("%s test %s requested %v", e.weights(t, e.world.ProdRuleARN), e.weights(t, e.world.TestRuleARN), aws.ToFloat64(d.TargetServiceRevision.RequestedProductionTrafficWeight))
				if now != last {
					got = append(got, e.clk.Now().Sub(e.start).String()+" "+now)
					last = now
				}
			})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("production weights blue/green over time (-want +got):\n%s", diff)
			}
		})
	}
}

func pauseHook(stage ecstypes.DeploymentLifecycleHookStage, minutes int32, action ecstypes.DeploymentLifecycleHookAction) []ecstypes.DeploymentLifecycleHook {
	return []ecstypes.DeploymentLifecycleHook{{
		TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{stage},
		TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(minutes), Action: action},
	}}
}

// A PAUSE hook after the test traffic shift holds the deployment with test
// traffic on green and production on blue until ContinueServiceDeployment
// or the hook's timeout, and then does what was asked.
func TestECSPauseHook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		timeoutAction ecstypes.DeploymentLifecycleHookAction
		act           ecstypes.DeploymentLifecycleHookAction // "": let the hook time out
		wantStatus    ecstypes.ServiceDeploymentStatus
		wantHook      ecstypes.DeploymentLifecycleHookStatus
		wantProd      string
		wantFinished  string
	}{
		{"continued", ecstypes.DeploymentLifecycleHookActionRollback, ecstypes.DeploymentLifecycleHookActionContinue, ecstypes.ServiceDeploymentStatusSuccessful, "", "0/100", "6m0s"},
		{"rolled back", ecstypes.DeploymentLifecycleHookActionRollback, ecstypes.DeploymentLifecycleHookActionRollback, ecstypes.ServiceDeploymentStatusRollbackSuccessful, "", "100/0", "6m0s"},
		{"timed out, rollback", ecstypes.DeploymentLifecycleHookActionRollback, "", ecstypes.ServiceDeploymentStatusRollbackSuccessful, "", "100/0", "15m20s"},
		{"timed out, continue", ecstypes.DeploymentLifecycleHookActionContinue, "", ecstypes.ServiceDeploymentStatusSuccessful, "", "0/100", "15m20s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newBGEnv(t, seed.ECSNativeOptions{Hooks: pauseHook(ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift, 10, tc.timeoutAction)})
			ctx := context.Background()
			_, arn := e.deploy(t, "registry.example/web:2")
			e.clk.Advance(time.Minute)
			d := e.describe(t, arn)
			if d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStagePostTestTrafficShift || len(d.LifecycleHookDetails) != 1 {
				t.Fatalf("after a minute: stage %s hooks %+v, want POST_TEST_TRAFFIC_SHIFT with one hook", d.LifecycleStage, d.LifecycleHookDetails)
			}
			h := d.LifecycleHookDetails[0]
			if h.Status != ecstypes.DeploymentLifecycleHookStatusAwaitingAction || h.TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause ||
				h.TimeoutAction != tc.timeoutAction || e.since(h.ExpiresAt) != "10m20s" || !strings.HasPrefix(aws.ToString(h.HookId), "ecs-pause-") {
				t.Fatalf("hook %+v (expires %s), want AWAITING_ACTION PAUSE expiring 10 minutes after test traffic moved", h, e.since(h.ExpiresAt))
			}
			if p, x := e.weights(t, e.world.ProdRuleARN), e.weights(t, e.world.TestRuleARN); p != "100/0" || x != "0/100" {
				t.Fatalf("while paused: production %s test %s, want 100/0 and 0/100", p, x)
			}
			if tc.act != "" {
				if _, err := e.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h.HookId, Action: tc.act}); err != nil {
					t.Fatal(err)
				}
				// A second answer finds the hook no longer waiting.
				_, err := e.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: h.HookId})
				var ce *ecstypes.ConflictException
				if !errors.As(err, &ce) {
					t.Errorf("a second ContinueServiceDeployment: %v, want ConflictException", err)
				}
			}
			end := e.runUntilDone(t, arn, 10*time.Second, time.Hour, nil)
			if end.Status != tc.wantStatus || e.since(end.FinishedAt) != tc.wantFinished {
				t.Errorf("ended %s at %s, want %s at %s", end.Status, e.since(end.FinishedAt), tc.wantStatus, tc.wantFinished)
			}
			if p := e.weights(t, e.world.ProdRuleARN); p != tc.wantProd {
				t.Errorf("production at the end %s, want %s", p, tc.wantProd)
			}
			if tc.wantStatus == ecstypes.ServiceDeploymentStatusRollbackSuccessful {
				if end.Rollback == nil || aws.ToString(end.Rollback.ServiceRevisionArn) != aws.ToString(end.SourceServiceRevisions[0].Arn) || end.Rollback.StartedAt == nil {
					t.Errorf("rollback %+v, want one to the source revision %s", end.Rollback, aws.ToString(end.SourceServiceRevisions[0].Arn))
				}
				if x := e.weights(t, e.world.TestRuleARN); x != "100/0" {
					t.Errorf("test rule after the rollback %s, want 100/0", x)
				}
			}
		})
	}
}

// StopServiceDeployment ROLLBACK during the bake time moves production back
// to blue at once and removes the green revision.
func TestECSStopServiceDeploymentRollback(t *testing.T) {
	t.Parallel()
	e := newBGEnv(t, seed.ECSNativeOptions{BakeTimeInMinutes: 10})
	ctx := context.Background()
	_, arn := e.deploy(t, "registry.example/web:2")
	e.clk.Advance(time.Minute)
	if d := e.describe(t, arn); d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStageBakeTime || e.weights(t, e.world.ProdRuleARN) != "0/100" {
		t.Fatalf("after a minute: %s with production %s, want BAKE_TIME with 0/100", d.LifecycleStage, e.weights(t, e.world.ProdRuleARN))
	}
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	if d := e.describe(t, arn); d.Status != ecstypes.ServiceDeploymentStatusRollbackRequested {
		t.Fatalf("right after the stop: %s, want ROLLBACK_REQUESTED", d.Status)
	}
	e.clk.Advance(time.Second)
	d := e.describe(t, arn)
	if d.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress || d.Rollback == nil || e.since(d.Rollback.StartedAt) != "1m1s" {
		t.Fatalf("a second after the stop: %s rollback %+v, want ROLLBACK_IN_PROGRESS started at 1m1s", d.Status, d.Rollback)
	}
	if p := e.weights(t, e.world.ProdRuleARN); p != "100/0" {
		t.Errorf("production once the rollback started %s, want 100/0", p)
	}
	// Stopping a deployment that is rolling back lets it carry on.
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)}); err != nil {
		t.Errorf("stopping a deployment that is rolling back: %v, want it to carry on", err)
	}
	end := e.runUntilDone(t, arn, 10*time.Second, time.Hour, nil)
	if end.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || e.since(end.FinishedAt) != "6m1s" {
		t.Errorf("ended %s at %s, want ROLLBACK_SUCCESSFUL once green drained (6m1s)", end.Status, e.since(end.FinishedAt))
	}
	if tr := end.TargetServiceRevision; tr.RunningTaskCount != 0 || tr.RequestedTaskCount != 0 || end.SourceServiceRevisions[0].RunningTaskCount != 2 {
		t.Errorf("revisions after the rollback: target %+v source %+v, want green gone and blue at 2", tr, end.SourceServiceRevisions[0])
	}
	_, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn)})
	var ce *ecstypes.ConflictException
	if !errors.As(err, &ce) {
		t.Errorf("stopping a finished deployment: %v, want ConflictException", err)
	}
}

// The circuit breaker rolls back a deployment whose green tasks keep failing
// their health checks, before any production traffic moves; an alarm in
// ALARM during the bake time rolls back one that had moved it all.
func TestECSAutomaticRollback(t *testing.T) {
	t.Parallel()
	t.Run("circuit breaker", func(t *testing.T) {
		t.Parallel()
		e := newBGEnv(t, seed.ECSNativeOptions{CircuitBreaker: true})
		td := e.registerOnly(t, "registry.example/web:broken")
		e.sim.World().SetTaskDefinitionHealthy(td, false)
		arn := e.update(t, td)
		maxProd := "100/0"
		end := e.runUntilDone(t, arn, 10*time.Second, time.Hour, func(ecstypes.ServiceDeployment) {
			if w := e.weights(t, e.world.ProdRuleARN); w != "100/0" {
				maxProd = w
			}
		})
		if end.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || end.DeploymentCircuitBreaker == nil || end.DeploymentCircuitBreaker.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered {
			t.Fatalf("ended %s breaker %+v, want ROLLBACK_SUCCESSFUL with the breaker TRIGGERED", end.Status, end.DeploymentCircuitBreaker)
		}
		if end.DeploymentCircuitBreaker.FailureCount < end.DeploymentCircuitBreaker.Threshold || !strings.Contains(aws.ToString(end.Rollback.Reason), "circuit breaker") {
			t.Errorf("breaker %+v rollback %+v", end.DeploymentCircuitBreaker, end.Rollback)
		}
		if maxProd != "100/0" {
			t.Errorf("production moved to %s during a deployment that never got healthy", maxProd)
		}
	})
	t.Run("alarm", func(t *testing.T) {
		t.Parallel()
		e := newBGEnv(t, seed.ECSNativeOptions{BakeTimeInMinutes: 10, Options: seed.Options{Alarms: []string{"web-5xx"}}})
		ctx := context.Background()
		_, arn := e.deploy(t, "registry.example/web:2")
		e.clk.Advance(2 * time.Minute)
		if d := e.describe(t, arn); d.Alarms == nil || d.Alarms.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoring || d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStageBakeTime {
			t.Fatalf("before the alarm: %s alarms %+v, want BAKE_TIME MONITORING", d.LifecycleStage, d.Alarms)
		}
		if _, err := e.cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("errors")}); err != nil {
			t.Fatal(err)
		}
		d := e.describe(t, arn)
		if d.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress || d.Alarms.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered ||
			!cmp.Equal(d.Alarms.TriggeredAlarmNames, []string{"web-5xx"}) || e.weights(t, e.world.ProdRuleARN) != "100/0" {
			t.Fatalf("after the alarm: %s alarms %+v production %s, want ROLLBACK_IN_PROGRESS, TRIGGERED by web-5xx, 100/0", d.Status, d.Alarms, e.weights(t, e.world.ProdRuleARN))
		}
	})
	t.Run("lambda hook in progress, then succeeds", func(t *testing.T) {
		t.Parallel()
		const fn = "arn:aws:lambda:eu-west-1:123456789012:function:slow"
		e := newBGEnv(t, seed.ECSNativeOptions{Hooks: []ecstypes.DeploymentLifecycleHook{{
			HookTargetArn: aws.String(fn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
			LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostScaleUp},
		}}})
		e.sim.World().SetLifecycleHookAnswer(fn, "IN_PROGRESS")
		_, arn := e.deploy(t, "registry.example/web:2")
		e.clk.Advance(time.Minute)
		if d := e.describe(t, arn); d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStagePostScaleUp || d.LifecycleHookDetails[0].Status != ecstypes.DeploymentLifecycleHookStatusInProgress {
			t.Fatalf("a minute in: %s hooks %+v, want POST_SCALE_UP with the hook IN_PROGRESS", d.LifecycleStage, d.LifecycleHookDetails)
		}
		// The next answer counts only when ECS invokes the function again,
		// every 30 s from the first call (at 20 s): at 1m20s.
		e.sim.World().SetLifecycleHookAnswer(fn, "")
		if d := e.describe(t, arn); d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStagePostScaleUp {
			t.Errorf("the hook moved on before ECS called it again: %s", d.LifecycleStage)
		}
		e.clk.Advance(time.Minute)
		d := e.describe(t, arn)
		if d.LifecycleHookDetails[0].Status != ecstypes.DeploymentLifecycleHookStatusSucceeded || e.since(d.UpdatedAt) != "1m20s" {
			t.Errorf("after the next call: hook %s, stage changed at %s; want SUCCEEDED and 1m20s", d.LifecycleHookDetails[0].Status, e.since(d.UpdatedAt))
		}
	})
	t.Run("lambda hook fails", func(t *testing.T) {
		t.Parallel()
		const fn = "arn:aws:lambda:eu-west-1:123456789012:function:smoke"
		e := newBGEnv(t, seed.ECSNativeOptions{Hooks: []ecstypes.DeploymentLifecycleHook{{
			TargetType: ecstypes.DeploymentLifecycleHookTargetTypeAwsLambda, HookTargetArn: aws.String(fn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
			LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift},
		}}})
		e.sim.World().SetLifecycleHookAnswer(fn, "FAILED")
		_, arn := e.deploy(t, "registry.example/web:2")
		end := e.runUntilDone(t, arn, 10*time.Second, time.Hour, nil)
		if end.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || len(end.LifecycleHookDetails) != 1 || end.LifecycleHookDetails[0].Status != ecstypes.DeploymentLifecycleHookStatusFailed {
			t.Errorf("ended %s hooks %+v, want ROLLBACK_SUCCESSFUL after the hook FAILED", end.Status, end.LifecycleHookDetails)
		}
	})
}

func (e *bgEnv) registerOnly(tb testing.TB, image string) string {
	tb.Helper()
	td, err := e.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(e.world.Service), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

func (e *bgEnv) update(t *testing.T, td string) string {
	t.Helper()
	out, err := e.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String(e.world.Cluster), Service: aws.String(e.world.Service), TaskDefinition: aws.String(td)})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	e.start = e.clk.Now()
	return aws.ToString(out.Service.CurrentServiceDeployment)
}

// The next deployment goes to the other target group; one started while
// another is in flight stops it and reconciles first; the revisions say
// what each deployment ran.
func TestECSBlueGreenAlternatesAndReconciles(t *testing.T) {
	t.Parallel()
	e := newBGEnv(t, seed.ECSNativeOptions{})
	ctx := context.Background()
	td2, first := e.deploy(t, "registry.example/web:2")
	if end := e.runUntilDone(t, first, 10*time.Second, time.Hour, nil); end.Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Fatalf("first deployment %s", end.Status)
	}
	revs, err := e.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{aws.ToString(e.describe(t, first).TargetServiceRevision.Arn)}})
	if err != nil || len(revs.ServiceRevisions) != 1 {
		t.Fatalf("DescribeServiceRevisions: %v %+v", err, revs)
	}
	r := revs.ServiceRevisions[0]
	if aws.ToString(r.TaskDefinition) != td2 || len(r.LoadBalancers) != 1 || aws.ToString(r.LoadBalancers[0].TargetGroupArn) != e.world.GreenTargetGroupARN ||
		len(r.ContainerImages) != 1 || aws.ToString(r.ContainerImages[0].Image) != "registry.example/web:2" {
		t.Errorf("revision %+v, want %s in the green target group with its image", r, td2)
	}
	_, second := e.deploy(t, "registry.example/web:3")
	e.clk.Advance(5 * time.Second) // the new tasks are still starting
	_, third := e.deploy(t, "registry.example/web:4")
	if d := e.describe(t, second); d.Status != ecstypes.ServiceDeploymentStatusStopped {
		t.Errorf("the superseded deployment is %s, want STOPPED", d.Status)
	}
	if d := e.describe(t, third); d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStageReconcileService && d.LifecycleStage != ecstypes.ServiceDeploymentLifecycleStageScaleUp {
		t.Errorf("the new deployment is at %s", d.LifecycleStage)
	}
	end := e.runUntilDone(t, third, 10*time.Second, time.Hour, nil)
	if end.Status != ecstypes.ServiceDeploymentStatusSuccessful || e.weights(t, e.world.ProdRuleARN) != "100/0" {
		t.Errorf("third deployment %s with production %s, want SUCCESSFUL back on the first target group (100/0)", end.Status, e.weights(t, e.world.ProdRuleARN))
	}
	list, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(e.world.Cluster), Service: aws.String(e.world.Service)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range list.ServiceDeployments {
		got = append(got, string(d.Status))
	}
	if diff := cmp.Diff([]string{"SUCCESSFUL", "STOPPED", "SUCCESSFUL", "SUCCESSFUL"}, got); diff != "" {
		t.Errorf("ListServiceDeployments newest first (-want +got):\n%s", diff)
	}
	// The service's first deployment (CreateService) made the revision the
	// first blue/green deployment started from.
	initial := aws.ToString(list.ServiceDeployments[3].TargetServiceRevisionArn)
	if src := aws.ToString(e.describe(t, first).SourceServiceRevisions[0].Arn); src != initial {
		t.Errorf("the first blue/green deployment's source %s, want the initial revision %s", src, initial)
	}
	revs, err = e.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{initial}})
	if err != nil || len(revs.ServiceRevisions) != 1 || aws.ToString(revs.ServiceRevisions[0].TaskDefinition) != e.world.TaskDefinitionARN {
		t.Errorf("DescribeServiceRevisions of the initial revision: %v %+v, want task definition %s", err, revs, e.world.TaskDefinitionARN)
	}
}

// Configurations ECS refuses, and the service deployment calls' errors.
func TestECSBlueGreenErrors(t *testing.T) {
	t.Parallel()
	e := newBGEnv(t, seed.ECSNativeOptions{})
	ctx := context.Background()
	adv := &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(e.world.GreenTargetGroupARN), ProductionListenerRule: aws.String(e.world.ProdRuleARN), RoleArn: aws.String(e.world.RoleARN)}
	lb := func(a *ecstypes.AdvancedConfiguration) []ecstypes.LoadBalancer {
		return []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(e.world.BlueTargetGroupARN), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080), AdvancedConfiguration: a}}
	}
	for _, tc := range []struct {
		name string
		cfg  ecstypes.DeploymentConfiguration
		lbs  []ecstypes.LoadBalancer
		ctl  ecstypes.DeploymentControllerType
	}{
		{"BLUE_GREEN without bakeTimeInMinutes", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen}, lb(adv), ""},
		{"BLUE_GREEN without advancedConfiguration", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)}, lb(nil), ""},
		{"BLUE_GREEN without a load balancer", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)}, nil, ""},
		{"BLUE_GREEN with CODE_DEPLOY", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5)}, lb(adv), ecstypes.DeploymentControllerTypeCodeDeploy},
		{"linear step below 3%", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyLinear, LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(2)}}, lb(adv), ""},
		{"canary bake over a day", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, CanaryConfiguration: &ecstypes.CanaryConfiguration{CanaryBakeTimeInMinutes: aws.Int32(1441)}}, lb(adv), ""},
		{"linearConfiguration on CANARY", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LinearConfiguration: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(10)}}, lb(adv), ""},
		{"Lambda hook without its function", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: []ecstypes.DeploymentLifecycleHook{{LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{"POST_SCALE_UP"}}}}, lb(adv), ""},
		{"hook at SCALE_UP", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: pauseHook("SCALE_UP", 5, "ROLLBACK")}, lb(adv), ""},
		{"hook timeout of 0", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary, LifecycleHooks: pauseHook("POST_SCALE_UP", 0, "ROLLBACK")}, lb(adv), ""},
		{"missing production rule", ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyCanary}, lb(&ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(e.world.GreenTargetGroupARN), ProductionListenerRule: aws.String(e.world.ProdRuleARN + "x"), RoleArn: aws.String(e.world.RoleARN)}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &ecs.CreateServiceInput{
				Cluster: aws.String(e.world.Cluster), ServiceName: aws.String("bad"), TaskDefinition: aws.String(e.world.TaskDefinitionARN),
				DeploymentConfiguration: &tc.cfg, LoadBalancers: tc.lbs,
			}
			if tc.ctl != "" {
				in.DeploymentController = &ecstypes.DeploymentController{Type: tc.ctl}
			}
			_, err := e.ecs.CreateService(ctx, in)
			var ip *ecstypes.InvalidParameterException
			if !errors.As(err, &ip) {
				t.Errorf("CreateService: %v, want InvalidParameterException", err)
			}
		})
	}
	missing := "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/nope"
	var nf *ecstypes.ServiceDeploymentNotFoundException
	if _, err := e.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(missing), HookId: aws.String("ecs-pause-x")}); !errors.As(err, &nf) {
		t.Errorf("ContinueServiceDeployment of a missing deployment: %v, want ServiceDeploymentNotFoundException", err)
	}
	_, arn := e.deploy(t, "registry.example/web:2")
	var api smithy.APIError
	if _, err := e.ecs.ContinueServiceDeployment(ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String("ecs-pause-x")}); !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" {
		t.Errorf("ContinueServiceDeployment of a hook that does not exist: %v, want InvalidParameterException", err)
	}
	if out, err := e.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{"arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/web/1"}}); err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServiceRevisions of a missing revision: %v %+v, want a MISSING failure", err, out)
	}
}

// The data plane routes by the weights ECS writes: during a linear step a
// quarter of production requests and all test requests reach the green
// revision, and after StopServiceDeployment none do.
func TestECSDataPlaneFollowsRules(t *testing.T) {
	t.Parallel()
	e := newBGEnv(t, seed.ECSNativeOptions{Strategy: ecstypes.DeploymentStrategyLinear, Linear: &ecstypes.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(5)}})
	ctx := context.Background()
	dp := e.sim.DataPlane()
	t.Cleanup(dp.Close)
	prod, err := dp.Bind(ctx, e.world.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	test, err := dp.Bind(ctx, e.world.TestListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	greenShare := func(addr, td string) int {
		n := 0
		for range 100 {
			code, a := get(t, "http://"+addr+"/")
			if code != 200 {
				t.Fatalf("request to %s failed: %d %+v", addr, code, a)
			}
			if a.TaskDefinition == td {
				n++
			}
		}
		return n
	}
	td, arn := e.deploy(t, "registry.example/web:2")
	e.clk.Advance(time.Minute) // the first 25 % step
	if p, x := greenShare(prod, td), greenShare(test, td); p != 25 || x != 100 {
		t.Errorf("during the first step: %d%% of production and %d%% of test requests reached green, want 25 and 100", p, x)
	}
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second) // ROLLBACK_REQUESTED, then the rollback
	if p, x := greenShare(prod, td), greenShare(test, td); p != 0 || x != 0 {
		t.Errorf("after the rollback: %d%% of production and %d%% of test requests reached green, want none", p, x)
	}
}

// The control endpoint sets a Lambda hook's answer for a sandbox driven
// from another process, and says what it wants when asked wrongly.
func TestECSHookAnswerControlEndpoint(t *testing.T) {
	t.Parallel()
	const fn = "arn:aws:lambda:eu-west-1:123456789012:function:smoke"
	e := newBGEnv(t, seed.ECSNativeOptions{Hooks: []ecstypes.DeploymentLifecycleHook{{
		HookTargetArn: aws.String(fn), RoleArn: aws.String("arn:aws:iam::123456789012:role/hooks"),
		LifecycleStages: []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePreScaleUp},
	}}})
	url := aws.ToString(e.ecs.Options().BaseEndpoint) + awssim.ControlPrefix + "lifecycle-hook-answers"
	for _, tc := range []struct {
		method, body string
		want         int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPut, `{"hookStatus":"FAILED"}`, http.StatusBadRequest},
		{http.MethodPut, `{"functionArn":"` + fn + `","hookStatus":"MAYBE"}`, http.StatusBadRequest},
		{http.MethodPut, `{"functionArn":"` + fn + `","hookStatus":"FAILED"}`, http.StatusNoContent},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), tc.method, url, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.body, resp.StatusCode, tc.want)
		}
	}
	_, arn := e.deploy(t, "registry.example/web:2")
	// Before SCALE_UP there is no green revision to take away: the rollback
	// is over at once.
	if d := e.describe(t, arn); d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || len(d.LifecycleHookDetails) != 1 || aws.ToString(d.LifecycleHookDetails[0].TargetArn) != fn {
		t.Errorf("after the hook answered FAILED at PRE_SCALE_UP: %s hooks %+v, want ROLLBACK_SUCCESSFUL", d.Status, d.LifecycleHookDetails)
	}
}

// A CodeDeploy blue/green service moves to ECS blue/green with one
// UpdateService, reusing its listeners and target groups as AWS's migration
// guide describes, and then deploys natively; a change refused on the way
// leaves the service as it was.
func TestECSMigrateFromCodeDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	lbs := []ecstypes.LoadBalancer{{
		TargetGroupArn: aws.String(e.world.BlueTargetGroupARN), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080),
		AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(e.world.GreenTargetGroupARN), ProductionListenerRule: aws.String(e.world.ProdListenerARN),
			TestListenerRule: aws.String(e.world.TestListenerARN), RoleArn: aws.String("arn:aws:iam::123456789012:role/ecs-lb"),
		},
	}}
	in := &ecs.UpdateServiceInput{
		Cluster: aws.String(e.world.Cluster), Service: aws.String(e.world.Service), LoadBalancers: lbs,
		DeploymentController:    &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Strategy: ecstypes.DeploymentStrategyBlueGreen},
	}
	var ip *ecstypes.InvalidParameterException
	if _, err := e.ecs.UpdateService(ctx, in); !errors.As(err, &ip) {
		t.Fatalf("migrating without bakeTimeInMinutes: %v, want InvalidParameterException", err)
	}
	svc, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.world.Cluster), Services: []string{e.world.Service}})
	if err != nil || svc.Services[0].DeploymentController.Type != ecstypes.DeploymentControllerTypeCodeDeploy || svc.Services[0].LoadBalancers[0].AdvancedConfiguration != nil {
		t.Fatalf("after the refused migration: %v %+v, want the CODE_DEPLOY service unchanged", err, svc.Services[0].DeploymentController)
	}
	in.DeploymentConfiguration.BakeTimeInMinutes = aws.Int32(1)
	if _, err := e.ecs.UpdateService(ctx, in); err != nil {
		t.Fatalf("migrating: %v", err)
	}
	b := &bgEnv{sim: e.sim, clk: e.clk, ecs: e.ecs, elb: e.elb, world: &seed.ECSNative{
		Cluster: e.world.Cluster, Service: e.world.Service, BlueTargetGroupARN: e.world.BlueTargetGroupARN, GreenTargetGroupARN: e.world.GreenTargetGroupARN,
	}}
	td, arn := b.deploy(t, "registry.example/web:2")
	end := b.runUntilDone(t, arn, 10*time.Second, time.Hour, nil)
	l, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{e.world.ProdListenerARN}})
	if err != nil {
		t.Fatal(err)
	}
	weights := map[string]int32{}
	for _, tg := range l.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups {
		weights[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
	}
	if end.Status != ecstypes.ServiceDeploymentStatusSuccessful || weights[e.world.GreenTargetGroupARN] != 100 || weights[e.world.BlueTargetGroupARN] != 0 {
		t.Errorf("first native deployment after the migration: %s, production listener %v; want SUCCESSFUL with green at 100", end.Status, weights)
	}
	if s := b.service(t); aws.ToString(s.TaskDefinition) != td || len(s.Deployments) != 1 {
		t.Errorf("service after it: %s with %d deployments, want %s alone", aws.ToString(s.TaskDefinition), len(s.Deployments), td)
	}
}

// ECS refuses to start when a rule does not reach both target groups, as
// the migration guide quotes: the deployment rolls back at once.
func TestECSInvalidNetworkingRollsBack(t *testing.T) {
	t.Parallel()
	e := newBGEnv(t, seed.ECSNativeOptions{})
	ctx := context.Background()
	for _, r := range []string{e.world.ProdRuleARN, e.world.TestRuleARN} {
		if _, err := e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(r), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(e.world.BlueTargetGroupARN)}}}); err != nil {
			t.Fatal(err)
		}
	}
	_, arn := e.deploy(t, "registry.example/web:2")
	d := e.describe(t, arn)
	if d.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || !strings.Contains(aws.ToString(d.StatusReason), "invalid networking configuration") {
		t.Errorf("deployment %s (%s), want ROLLBACK_SUCCESSFUL for invalid networking configuration", d.Status, aws.ToString(d.StatusReason))
	}
}
