package awssim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	faults := awssim.NewFaults(7)
	sim := awssim.New(awssim.WithFaults(faults))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
	ecsc, elbc, ctx := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg), context.Background()
	apiCode := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}

	faults.FailNext("ecs", "DescribeClusters", awssim.FaultThrottle, 1)
	_, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if apiCode(err) != "ThrottlingException" {
		t.Errorf("injected ECS throttle = %v", err)
	}
	faults.FailNext("elasticloadbalancing", "DescribeLoadBalancers", awssim.FaultThrottle, 1)
	_, err = elbc.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if apiCode(err) != "Throttling" {
		t.Errorf("injected ELBv2 throttle = %v, want the query code Throttling", err)
	}
	faults.FailNext("ecs", "DescribeClusters", awssim.FaultServerError, 1)
	_, err = ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
		t.Errorf("injected server error = %v", err)
	}
	faults.FailNext("ecs", "DescribeClusters", awssim.FaultDrop, 1)
	if _, err = ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err == nil || apiCode(err) != "" {
		t.Errorf("dropped connection = %v, want a transport error", err)
	}
	// The next call is clean again, and the SDK's retries get through a fault.
	retrying := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.RetryMaxAttempts = 3 })
	faults.FailNext("ecs", "DescribeClusters", awssim.FaultServerError, 2)
	if _, err := retrying.DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Errorf("three attempts through two injected errors: %v", err)
	}
	faults.SetLatency(50 * time.Millisecond)
	start := time.Now()
	_, _ = ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	if time.Since(start) < 50*time.Millisecond {
		t.Error("injected latency did not delay the call")
	}
	faults.SetLatency(0)
	// Every call is logged with its time and outcome.
	var throttled, failed int
	for _, c := range sim.Calls() {
		switch c.ErrorCode {
		case "ThrottlingException", "Throttling":
			throttled++
		case "ServiceUnavailable":
			failed++
		case "dropped":
			failed++
			if c.Status != 0 {
				t.Errorf("dropped call %+v logged with a status", c)
			}
		}
		if c.Time.IsZero() {
			t.Errorf("call %+v has no time", c)
		}
	}
	if throttled != 2 || failed != 4 {
		t.Errorf("call log shows %d throttled and %d failed calls, want 2 and 4", throttled, failed)
	}
	// Rates are reproducible from the seed.
	faults.SetRates(0.5, 0, 0, "ecs")
	var codes []string
	for range 20 {
		_, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
		codes = append(codes, apiCode(err))
	}
	n := 0
	for _, c := range codes {
		if c == "ThrottlingException" {
			n++
		}
	}
	if n == 0 || n == 20 {
		t.Errorf("a 50%% throttle rate throttled %d of 20 calls", n)
	}
}

func TestStopWithoutRollbackLeavesTheReplacement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{ReadyWaitMinutes: 30})
	_, id := e.deploy(t, "registry.example/web:noroll", "")
	e.clk.Advance(time.Minute)
	if _, err := e.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(2 * time.Second) // Stopped follows the Pending answer
	d := e.status(t, id)
	if d.Status != cdtypes.DeploymentStatusStopped || d.RollbackInfo != nil {
		t.Errorf("stop without rollback = %s %+v", d.Status, d.RollbackInfo)
	}
	svc, _ := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if n := len(svc.Services[0].TaskSets); n != 2 {
		t.Errorf("without rollback the components stay as they are: %d task sets, want 2", n)
	}
}
