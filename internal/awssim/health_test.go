package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// health reads one target's state and reason.
func (e *env) health(t *testing.T, tg, id string, port int32) string {
	t.Helper()
	out, err := e.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{
		TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(id), Port: aws.Int32(port)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetHealthDescriptions) != 1 {
		t.Fatalf("DescribeTargetHealth with one target answered %d", len(out.TargetHealthDescriptions))
	}
	h := out.TargetHealthDescriptions[0].TargetHealth
	return fmt.Sprintf("%s %s", h.State, h.Reason)
}

func (e *env) newTargetGroup(t *testing.T, name string) string {
	t.Helper()
	out, err := e.elb.CreateTargetGroup(context.Background(), &elb.CreateTargetGroupInput{
		Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String("vpc-1"), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckIntervalSeconds: aws.Int32(10), HealthyThresholdCount: aws.Int32(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn)
}

// TestTargetHealth_states walks one target through the states ELBv2
// documents: unused while no listener forwards to its group, initial with
// its two reasons, healthy after HealthyThresholdCount checks, draining for
// the group's deregistration delay, then not registered.
func TestTargetHealth_states(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	tg := e.newTargetGroup(t, "spare")
	target := []elbtypes.TargetDescription{{Id: aws.String("10.1.1.1"), Port: aws.Int32(80)}}
	if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: target}); err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration) { e.clk.Advance(d) }
	forward := func() {
		if _, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: aws.String(e.world.ProdListenerARN), Priority: aws.Int32(5),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/spare/*"}}},
			Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	deregister := func() {
		if _, err := e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: target}); err != nil {
			t.Fatal(err)
		}
	}
	lbs := func() int {
		out, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{tg}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.TargetGroups[0].LoadBalancerArns)
	}
	// ECS refuses a group no listener or rule forwards to: it has no load balancer.
	var invalid *ecstypes.InvalidParameterException
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("spare"), TaskDefinition: aws.String(e.world.TaskDefinitionARN),
		LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}},
	}); !errors.As(err, &invalid) || !strings.Contains(err.Error(), "does not have an associated load balancer") {
		t.Errorf("CreateService on a group without a load balancer: %v", err)
	}
	for _, c := range []struct {
		name string
		act  func()
		want string
	}{
		{name: "no_listener_uses_the_group", act: func() { step(time.Hour) }, want: "unused Target.NotInUse"},
		{name: "a_rule_forwards_to_it", act: func() {
			if n := lbs(); n != 0 {
				t.Errorf("before the rule the group lists %d load balancers", n)
			}
			forward()
			if n := lbs(); n != 1 {
				t.Errorf("a rule forwards to the group, which lists %d load balancers, want 1", n)
			}
		}, want: "initial Elb.RegistrationInProgress"},
		{name: "first_check_passed", act: func() { step(10 * time.Second) }, want: "initial Elb.InitialHealthChecking"},
		{name: "second_check_passed", act: func() { step(10 * time.Second) }, want: "initial Elb.InitialHealthChecking"},
		{name: "healthy_threshold_reached", act: func() { step(10 * time.Second) }, want: "healthy "},
		{name: "deregistered", act: deregister, want: "draining Target.DeregistrationInProgress"},
		{name: "just_before_the_default_delay", act: func() { step(299 * time.Second) }, want: "draining Target.DeregistrationInProgress"},
		{name: "default_delay_over", act: func() { step(time.Second) }, want: "unused Target.NotRegistered"},
	} {
		c.act()
		if got := e.health(t, tg, "10.1.1.1", 80); got != c.want {
			t.Errorf("%s: health = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestTargetHealth_drainingFollowsTheAttribute checks that a deregistered
// target drains for the deregistration_delay.timeout_seconds set on its
// group, and that DescribeTargetHealth with Targets answers exactly those.
func TestTargetHealth_drainingFollowsTheAttribute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	tg := e.world.BlueTargetGroupARN
	mod, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(tg), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range mod.Attributes {
		attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if attrs["deregistration_delay.timeout_seconds"] != "30" || attrs["stickiness.enabled"] != "false" {
		t.Errorf("ModifyTargetGroupAttributes answered %v, want every attribute with the new delay", attrs)
	}
	all, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil || len(all.TargetHealthDescriptions) != 2 {
		t.Fatalf("the seeded service's targets = %+v, %v", all, err)
	}
	first := all.TargetHealthDescriptions[0].Target
	if _, err := e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{*first}}); err != nil {
		t.Fatal(err)
	}
	asked, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{*first, {Id: aws.String("10.200.0.1"), Port: aws.Int32(8080)}}})
	if err != nil || len(asked.TargetHealthDescriptions) != 2 {
		t.Fatalf("DescribeTargetHealth with two targets = %+v, %v", asked, err)
	}
	if got := asked.TargetHealthDescriptions[0].TargetHealth; got.State != elbtypes.TargetHealthStateEnumDraining || got.Reason != elbtypes.TargetHealthReasonEnumDeregistrationInProgress {
		t.Errorf("deregistered target = %s %s, want draining", got.State, got.Reason)
	}
	if got := asked.TargetHealthDescriptions[1]; aws.ToString(got.Target.Id) != "10.200.0.1" || got.TargetHealth.Reason != elbtypes.TargetHealthReasonEnumNotRegistered {
		t.Errorf("unknown target = %s %s %s, want unused Target.NotRegistered", aws.ToString(got.Target.Id), got.TargetHealth.State, got.TargetHealth.Reason)
	}
	e.clk.Advance(29 * time.Second)
	if got := e.health(t, tg, aws.ToString(first.Id), aws.ToInt32(first.Port)); got != "draining Target.DeregistrationInProgress" {
		t.Errorf("29 s into a 30 s delay: %s", got)
	}
	e.clk.Advance(time.Second)
	if got := e.health(t, tg, aws.ToString(first.Id), aws.ToInt32(first.Port)); got != "unused Target.NotRegistered" {
		t.Errorf("after the 30 s delay: %s", got)
	}
}

func TestTargetGroupAttributes_validation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	got, err := e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(e.world.GreenTargetGroupARN)})
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, a := range got.Attributes {
		defaults[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	for k, v := range map[string]string{"deregistration_delay.timeout_seconds": "300", "stickiness.type": "lb_cookie", "load_balancing.algorithm.type": "round_robin", "slow_start.duration_seconds": "0"} {
		if defaults[k] != v {
			t.Errorf("default %s = %q, want %q", k, defaults[k], v)
		}
	}
	for _, c := range []struct {
		name, key, value, code string
	}{
		{name: "delay_too_long", key: "deregistration_delay.timeout_seconds", value: "3601", code: "InvalidConfigurationRequest"},
		{name: "delay_not_a_number", key: "deregistration_delay.timeout_seconds", value: "soon", code: "InvalidConfigurationRequest"},
		{name: "unknown_key", key: "no.such.attribute", value: "1", code: "InvalidConfigurationRequest"},
		{name: "bad_algorithm", key: "load_balancing.algorithm.type", value: "random", code: "InvalidConfigurationRequest"},
	} {
		_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
			TargetGroupArn: aws.String(e.world.GreenTargetGroupARN), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String(c.key), Value: aws.String(c.value)}},
		})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	var notFound *elbtypes.TargetGroupNotFoundException
	if _, err := e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(e.world.GreenTargetGroupARN + "x")}); !errors.As(err, &notFound) {
		t.Errorf("attributes of an unknown group: %v", err)
	}
}

// taskSets reads the service's task sets as "STATUS revision" and its
// task definition's revision.
func (e *env) taskSets(t *testing.T) (sets []string, taskDef string) {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	rev := func(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }
	s := out.Services[0]
	for _, ts := range s.TaskSets {
		sets = append(sets, aws.ToString(ts.Status)+" "+rev(aws.ToString(ts.TaskDefinition)))
	}
	return sets, rev(aws.ToString(s.TaskDefinition))
}

// TestTaskSets_primaryFollowsProductionTraffic checks the task set statuses
// through a canary with a termination wait: the original serves production,
// so it is PRIMARY until all traffic has moved; the replacement is PRIMARY
// during the termination wait (and the service runs its task definition);
// the original drains when the wait ends.
func TestTaskSets_primaryFollowsProductionTraffic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 10})
	_, id := e.deploy(t, "registry.example/web:ts", "")
	for _, c := range []struct {
		name    string
		advance time.Duration
		sets    string
		taskDef string
	}{
		{name: "installing", advance: 0, sets: "PRIMARY 1,ACTIVE 2", taskDef: "1"},
		{name: "canary", advance: time.Minute, sets: "PRIMARY 1,ACTIVE 2", taskDef: "1"},
		{name: "termination_wait", advance: 5 * time.Minute, sets: "ACTIVE 1,PRIMARY 2", taskDef: "2"},
		{name: "end_of_termination_wait", advance: 10 * time.Minute, sets: "DRAINING 1,PRIMARY 2", taskDef: "2"},
		{name: "drained", advance: 300 * time.Second, sets: "PRIMARY 2", taskDef: "2"},
	} {
		e.clk.Advance(c.advance)
		sets, td := e.taskSets(t)
		if strings.Join(sets, ",") != c.sets || td != c.taskDef {
			t.Errorf("%s: task sets %v, service task definition :%s; want %s and :%s", c.name, sets, td, c.sets, c.taskDef)
		}
	}
	if got := e.status(t, id).Status; got != "Succeeded" {
		t.Errorf("deployment after the original drained: %s", got)
	}
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := eventText(out.Services[0]); !strings.HasPrefix(got, "(service web) has reached a steady state.") || !regexp.MustCompile(`\(service web, taskSet ecs-svc/[0-9]+\) has begun draining connections on 2 tasks\.`).MatchString(got) {
		t.Errorf("events, newest first:\n%s", got)
	}
}

// rollingService creates an ECS-controller service behind the production
// listener's group of its own, with the given deployment configuration and
// grace period.
func (e *env) rollingService(t *testing.T, breaker *ecstypes.DeploymentCircuitBreaker, grace int32) {
	t.Helper()
	ctx := context.Background()
	tg := e.newTargetGroup(t, "api")
	if _, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{
		ListenerArn: aws.String(e.world.ProdListenerARN), Priority: aws.Int32(7),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
		TargetGroupArn: aws.String(tg), Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("20")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: aws.String(e.world.TaskDefinitionARN), DesiredCount: aws.Int32(2),
		LoadBalancers:                 []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(tg), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}},
		DeploymentConfiguration:       &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: breaker, MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100)},
		HealthCheckGracePeriodSeconds: aws.Int32(grace),
	}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
}

func (e *env) api(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Services[0]
}

func (e *env) updateAPI(t *testing.T, image string) string {
	t.Helper()
	ctx := context.Background()
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	return arn
}

func eventText(s ecstypes.Service) string {
	var messages []string
	for _, ev := range s.Events {
		messages = append(messages, aws.ToString(ev.Message))
	}
	return strings.Join(messages, "\n")
}

func rollouts(s ecstypes.Service) string {
	var out []string
	for _, d := range s.Deployments {
		out = append(out, fmt.Sprintf("%s %s", aws.ToString(d.Status), d.RolloutState))
	}
	return strings.Join(out, ",")
}

// TestCircuitBreaker_failedDeployment checks the deployment circuit breaker:
// a release whose tasks keep failing their health checks is FAILED once
// three tasks (half of two, at least three) failed, and rolled back when
// rollback is on; without the breaker ECS keeps trying.
func TestCircuitBreaker_failedDeployment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name         string
		breaker      *ecstypes.DeploymentCircuitBreaker
		wantRollouts string
		wantTaskDef  string // "old" or "new"
	}{
		{name: "rollback", breaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}, wantRollouts: "PRIMARY COMPLETED", wantTaskDef: "old"},
		{name: "no_rollback", breaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: false}, wantRollouts: "PRIMARY FAILED,ACTIVE COMPLETED", wantTaskDef: "new"},
		{name: "no_breaker", breaker: nil, wantRollouts: "PRIMARY IN_PROGRESS,ACTIVE COMPLETED", wantTaskDef: "new"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, seed.Options{})
			e.rollingService(t, c.breaker, 0)
			first := e.api(t)
			if rollouts(first) != "PRIMARY COMPLETED" {
				t.Fatalf("first deployment = %s", rollouts(first))
			}
			if got := eventText(first); !strings.Contains(got, "(service api) has reached a steady state.") || !strings.Contains(got, "(service api) registered 2 targets in (target-group ") {
				t.Errorf("events after the first deployment lack the steady state or the registered targets:\n%s", got)
			}
			newTD := e.updateAPI(t, "api:broken")
			e.sim.World().SetTaskDefinitionHealthy(newTD, false)
			e.clk.Advance(10 * time.Minute)
			s := e.api(t)
			if got := rollouts(s); got != c.wantRollouts {
				t.Errorf("deployments = %s, want %s", got, c.wantRollouts)
			}
			want := e.world.TaskDefinitionARN
			if c.wantTaskDef == "new" {
				want = newTD
			}
			if got := aws.ToString(s.TaskDefinition); got != want {
				t.Errorf("service task definition = %s, want %s", got, want)
			}
			all := eventText(s)
			for _, want := range []string{") (port 8080) is unhealthy in (target-group ", "(service api) has stopped 1 running tasks: (task "} {
				if !strings.Contains(all, want) {
					t.Errorf("events lack %q:\n%s", want, all)
				}
			}
			if c.breaker != nil && !strings.Contains(all, "deployment failed: tasks failed to start.") {
				t.Errorf("events lack the circuit breaker:\n%s", all)
			}
			if c.breaker != nil {
				list, err := e.ecs.ListServiceDeployments(context.Background(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")})
				if err != nil {
					t.Fatal(err)
				}
				desc, err := e.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)}})
				if err != nil {
					t.Fatal(err)
				}
				cb := desc.ServiceDeployments[0].DeploymentCircuitBreaker
				if cb == nil || cb.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.FailureCount < 3 || cb.Threshold != 3 {
					t.Errorf("circuit breaker = %+v, want TRIGGERED at threshold 3", cb)
				}
			}
		})
	}
}

// TestGracePeriod_holdsBackHealthStops checks healthCheckGracePeriodSeconds:
// ECS does not stop a task for failed health checks until the grace period
// after its start is over.
func TestGracePeriod_holdsBackHealthStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	e.rollingService(t, nil, 120)
	if got := e.api(t).HealthCheckGracePeriodSeconds; aws.ToInt32(got) != 120 {
		t.Errorf("healthCheckGracePeriodSeconds = %d", aws.ToInt32(got))
	}
	newTD := e.updateAPI(t, "api:slow")
	e.sim.World().SetTaskDefinitionHealthy(newTD, false)
	e.clk.Advance(100 * time.Second) // started at 10 s, unhealthy at 30 s, grace ends at 130 s
	if got := e.api(t).Deployments[0].FailedTasks; got != 0 {
		t.Errorf("%d tasks stopped within the grace period", got)
	}
	e.clk.Advance(40 * time.Second)
	if got := e.api(t).Deployments[0].FailedTasks; got == 0 {
		t.Error("no task stopped after the grace period")
	}
}

// TestStopDeployment_pendingThenStopped checks StopDeployment as CodeDeploy
// answers it: Pending, the deployment still running, Stopped a moment later.
func TestStopDeployment_pendingThenStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"})
	_, id := e.deploy(t, "registry.example/web:stop", "")
	e.clk.Advance(time.Minute)
	out, err := e.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil || out.Status != "Pending" {
		t.Fatalf("StopDeployment = %+v, %v", out, err)
	}
	if got := e.status(t, id).Status; got != "InProgress" {
		t.Errorf("right after the stop: %s", got)
	}
	e.clk.Advance(2 * time.Second)
	d := e.status(t, id)
	if d.Status != "Stopped" || aws.ToTime(d.CompleteTime).Sub(aws.ToTime(d.CreateTime)) != 62*time.Second {
		t.Errorf("2 s after the stop: %s, complete %v after creation", d.Status, aws.ToTime(d.CompleteTime).Sub(aws.ToTime(d.CreateTime)))
	}
}
