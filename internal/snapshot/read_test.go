package snapshot

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// world is the simulator with the real SDK clients pointed at it.
type world struct {
	srv *awssim.Server
	ecs *ecs.Client
	elb *elb.Client
	cd  *codedeploy.Client
	c   seed.Clients
}

func startWorld(t *testing.T) *world {
	t.Helper()
	srv := awssim.New(awssim.WithClock(clock.NewScaled(600)))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	w := &world{srv: srv, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg)}
	w.c = seed.Clients{ECS: w.ecs, ELB: w.elb, CodeDeploy: w.cd, ECR: ecr.NewFromConfig(cfg)}
	return w
}

func (w *world) reader() *Reader { return &Reader{ECS: w.ecs, ELB: w.elb, CD: w.cd} }

// seededTasks is how many tasks the seed starts in each colour.
const seededTasks = 2

// waitHealthy waits (in real time, the simulator runs 600x) until tg has
// the seeded tasks healthy.
func (w *world) waitHealthy(t *testing.T, tg string) {
	t.Helper()
	n := seededTasks
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h, err := w.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		healthy := 0
		if err == nil {
			for _, d := range h.TargetHealthDescriptions {
				if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
					healthy++
				}
			}
		}
		if healthy == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("target group %s never had %d healthy targets", tg, n)
}

func (w *world) calls() int { return len(w.srv.Calls()) }

func forwardTo(tg string) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg), Weight: aws.Int32(1)}},
	}}}
}

func TestReadCodeDeploy(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitHealthy(t, sw.BlueTargetGroupARN)
	in := CodeDeployService{Cluster: sw.Cluster, Service: sw.Service, Application: sw.Application, Group: sw.Group}
	before := w.calls()
	s, err := w.reader().ReadCodeDeploy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// DescribeServices, GetDeploymentGroup, DescribeTargetGroups,
	// DescribeListeners, one DescribeTaskDefinition, two DescribeTargetHealth,
	// ListDeployments: nothing in flight, so no BatchGetDeployments.
	if n := w.calls() - before; n != 8 {
		t.Errorf("ReadCodeDeploy made %d calls, want 8", n)
	}
	blue, green := s.Colour(Blue), s.Colour(Green)
	if s.Live != Blue || blue.Healthy != 2 || blue.ProductionWeight != 100 || blue.TestWeight != 100 || green.ProductionWeight != 0 ||
		blue.TaskSet == nil || blue.TaskSet.Status != "PRIMARY" || len(blue.Containers) != 1 || s.InFlight != nil || s.Group.ProdListener != sw.ProdListenerARN {
		t.Errorf("snapshot = %+v (blue %+v, green %+v)", s, blue, green)
	}

	// Given the service and group already read, it reads neither again.
	svc, err := w.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(sw.Cluster), Services: []string{sw.Service}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := w.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(sw.Application), DeploymentGroupName: aws.String(sw.Group)})
	if err != nil {
		t.Fatal(err)
	}
	in.State, in.GroupInfo = &svc.Services[0], g.DeploymentGroupInfo
	before = w.calls()
	if _, err := w.reader().ReadCodeDeploy(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := w.calls() - before; n != 6 {
		t.Errorf("ReadCodeDeploy with the service and group given made %d calls, want 6", n)
	}
}

func TestReadCodeDeploy_errors(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   CodeDeployService
		want string
	}{
		{name: "missing_service", in: CodeDeployService{Cluster: sw.Cluster, Service: "nope", Application: sw.Application, Group: sw.Group}, want: "ECS service nope not found"},
		{name: "missing_group", in: CodeDeployService{Cluster: sw.Cluster, Service: sw.Service, Application: sw.Application, Group: "nope"}, want: "reading deployment group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := w.reader().ReadCodeDeploy(ctx, tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadCodeDeploy = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestReadListener_carryingRoute: the route that carries production is the
// one reported, whichever ARN was configured: after a swap of listener rules
// (awslabs' blue_green_flip.py) the listener's default action still names
// blue while every request goes to green.
func TestReadListener_carryingRoute(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.waitHealthy(t, sw.BlueTargetGroupARN)
	read := func(prod string) *Snapshot {
		t.Helper()
		s, err := w.reader().ReadListener(ctx, sw.Cluster, sw.BlueService, sw.GreenService, prod, sw.TestListenerARN)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := read(sw.ProdListenerARN)
	if s.Live != Blue || s.Routes.Production != sw.ProdListenerARN || s.Colour(Green).TestWeight != 100 || s.Colour(Blue).IsProduction != "true" {
		t.Fatalf("seeded: live %q via %s, green test weight %.0f, blue IsProduction %q", s.Live, s.Routes.Production, s.Colour(Green).TestWeight, s.Colour(Blue).IsProduction)
	}
	// The flip: a priority-1 rule forwarding everything to green, and the
	// tags as the sample writes them (capitalised).
	rule, err := w.elb.CreateRule(ctx, &elb.CreateRuleInput{
		ListenerArn: aws.String(sw.ProdListenerARN), Priority: aws.Int32(1), Actions: forwardTo(sw.GreenTargetGroupARN),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ruleARN := aws.ToString(rule.Rules[0].RuleArn)
	for tg, v := range map[string]string{sw.GreenTargetGroupARN: "True", sw.BlueTargetGroupARN: "False"} {
		if _, err := w.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{tg}, Tags: []elbtypes.Tag{{Key: aws.String("IsProduction"), Value: aws.String(v)}}}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, configured string
	}{{name: "listener_configured", configured: sw.ProdListenerARN}, {name: "rule_configured", configured: ruleARN}}
	for _, tt := range tests {
		s := read(tt.configured)
		if s.Live != Green || s.Routes.Production != ruleARN || s.Colour(Green).ProductionWeight != 100 || len(s.Routes.Actions[ruleARN]) != 1 {
			t.Errorf("%s: live %q via %s (want green via the rule %s)", tt.name, s.Live, s.Routes.Production, ruleARN)
		}
		if s.Colour(Green).IsProduction != "true" || s.Colour(Blue).IsProduction != "false" {
			t.Errorf("%s: IsProduction green %q blue %q, want true and false whatever the case", tt.name, s.Colour(Green).IsProduction, s.Colour(Blue).IsProduction)
		}
	}
	// A rule that forwards elsewhere does not carry the colours' traffic.
	if _, err := w.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(ruleARN), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("503")}}}}); err != nil {
		t.Fatal(err)
	}
	if s := read(sw.ProdListenerARN); s.Live != Blue || s.Routes.Production != sw.ProdListenerARN {
		t.Errorf("after the rule stopped forwarding: live %q via %s, want blue via the listener", s.Live, s.Routes.Production)
	}
}

func TestReadListener_errors(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, blue, green, prod, want string
	}{
		{name: "missing_service", blue: "nope", green: sw.GreenService, prod: sw.ProdListenerARN, want: "ECS service nope (blue) not found"},
		{name: "same_service_twice", blue: sw.BlueService, green: sw.BlueService, prod: sw.ProdListenerARN, want: "share target group"},
		{name: "missing_route", blue: sw.BlueService, green: sw.GreenService, prod: sw.ProdListenerARN + "0", want: "listener"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := w.reader().ReadListener(ctx, sw.Cluster, tt.blue, tt.green, tt.prod, ""); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadListener = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
