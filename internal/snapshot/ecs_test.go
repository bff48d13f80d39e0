package snapshot

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestReadECS reads an ecs-model service before, during (its bake time)
// and after a blue/green deployment: the colours are its target groups,
// whichever ECS made live, each with the revision running there.
func TestReadECS(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC))
	srv := awssim.New(awssim.WithClock(clk))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	ecsc, elbc := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	ctx := context.Background()
	w, err := seed.CreateECSNative(ctx, seed.Clients{ECS: ecsc, ELB: elbc}, seed.ECSNativeOptions{BakeTimeInMinutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	r := &ECSReader{ECS: ecsc, ELB: elbc, Now: clk.Now}
	read := func() *Snapshot {
		t.Helper()
		before := len(srv.Calls())
		s, err := r.Read(ctx, ECSService{Cluster: "prod", Service: "web"})
		if err != nil {
			t.Fatal(err)
		}
		// DescribeServices, DescribeTargetGroups, DescribeRules, two
		// DescribeTargetHealth, DescribeServiceRevisions, a
		// DescribeTaskDefinition per task definition, and the current
		// service deployment when there is one.
		if n := len(srv.Calls()) - before; n > 9 {
			t.Errorf("one read made %d calls", n)
		}
		return s
	}

	s := read()
	blue, green := s.Colour(Blue), s.Colour(Green)
	if s.Model != "ecs" || s.Live != Blue || blue.TargetGroup != "web-blue" || green.TargetGroup != "web-green" || blue.ProductionWeight != 100 || blue.TestWeight != 100 ||
		!strings.HasSuffix(blue.TaskDefinition, "task-definition/web:1") || blue.TaskSet == nil || blue.TaskSet.Running != 2 || blue.Healthy != 2 || len(blue.Containers) != 1 {
		t.Fatalf("before: %+v\nblue %+v\ngreen %+v", s, blue, green)
	}
	if s.Group == nil || s.Group.ProdListener != w.ProdRuleARN || s.Group.TestListener != w.TestRuleARN || s.Group.DeploymentConfig != "ECS BLUE_GREEN" {
		t.Errorf("group %+v", s.Group)
	}

	td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("registry.example/web:2"), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecsc.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Minute)
	s = read()
	blue, green = s.Colour(Blue), s.Colour(Green)
	if s.Live != Green || green.ProductionWeight != 100 || !strings.HasSuffix(green.TaskDefinition, "task-definition/web:2") || !strings.HasSuffix(blue.TaskDefinition, "task-definition/web:1") ||
		green.Containers[0].Image != "registry.example/web:2" || s.InFlight == nil || s.InFlight.Status != "IN_PROGRESS" || s.InFlight.Description != "lifecycle stage BAKE_TIME" {
		t.Fatalf("in the bake time: live %s, inflight %+v\nblue %+v\ngreen %+v", s.Live, s.InFlight, blue, green)
	}

	clk.Advance(20 * time.Minute)
	s = read()
	if s.Live != Green || s.InFlight != nil || s.LastSuccessful == nil || s.LastSuccessful.Status != "SUCCESSFUL" || s.Colour(Blue).TaskSet != nil {
		t.Errorf("after: live %s, inflight %+v, last %+v, blue %+v", s.Live, s.InFlight, s.LastSuccessful, s.Colour(Blue))
	}
}
