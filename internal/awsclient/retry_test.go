package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	response := func(status int, err error) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}
	}
	for _, tt := range []struct {
		name string
		err  error
		want failure
	}{
		{"throttling_exception", &smithy.GenericAPIError{Code: "ThrottlingException"}, throttled},
		{"throttling_query", response(400, &smithy.GenericAPIError{Code: "Throttling"}), throttled},
		{"too_many_requests", response(429, errors.New("slow down")), throttled},
		{"quota_is_not_throttling", &smithy.GenericAPIError{Code: "LimitExceededException"}, permanent},
		{"unavailable", response(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), rejected},
		{"internal_error", response(500, &smithy.GenericAPIError{Code: "InternalFailure"}), ambiguous},
		{"bad_gateway", response(502, errors.New("bad gateway")), ambiguous},
		{"dial_refused", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, notSent},
		{"dns", &smithyhttp.RequestSendError{Err: &net.DNSError{Err: "no such host", Name: "ecs.example"}}, notSent},
		{"dropped", &smithyhttp.RequestSendError{Err: io.EOF}, ambiguous},
		{"reset", &smithyhttp.RequestSendError{Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}, ambiguous},
		{"validation", response(400, &smithy.GenericAPIError{Code: "InvalidParameterException"}), permanent},
		{"canceled", context.Canceled, permanent},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), permanent},
	} {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("%s: classify(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// simClients are the clients against a simulator whose faults the test sets,
// with backoff shortened so retries take milliseconds.
func simClients(t *testing.T, env map[string]string) (*Clients, *awssim.Server, *awssim.Faults) {
	t.Helper()
	faults := awssim.NewFaults(11)
	srv := awssim.New(awssim.WithFaults(faults))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	m := map[string]string{"AWS_ENDPOINT_URL": hs.URL, "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"}
	for k, v := range env {
		m[k] = v
	}
	c, err := Load(context.Background(), Options{Getenv: envOf(m), Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	c.retry.baseDelay, c.retry.maxDelay = time.Millisecond, 5*time.Millisecond
	// The world is made by a client of the test's own, so that these clients
	// have changed nothing yet.
	own := ecs.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: c.Config.Credentials, BaseEndpoint: aws.String(hs.URL)})
	if _, err := own.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	return c, srv, faults
}

func register(ctx context.Context, c *Clients) error {
	_, err := c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("nginx"), Memory: aws.Int32(128)}},
	})
	return err
}

func describe(ctx context.Context, c *Clients) error {
	_, err := c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	return err
}

// TestRetriesByOperationClass runs calls through the simulator's fault
// injection: reads outlast far more failures than the SDK's attempts; a
// call that is not idempotent is retried only when AWS surely did not run it.
func TestRetriesByOperationClass(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name         string
		op           string
		kind         awssim.FaultKind
		n            int
		call         func(context.Context, *Clients) error
		wantAttempts int
		wantErr      func(error) bool
	}{
		{name: "read_throttled_12_times", op: "DescribeClusters", kind: awssim.FaultThrottle, n: 12, call: describe, wantAttempts: 13},
		{name: "read_unavailable_9_times", op: "DescribeClusters", kind: awssim.FaultServerError, n: 9, call: describe, wantAttempts: 10},
		{name: "read_dropped_8_times", op: "DescribeClusters", kind: awssim.FaultDrop, n: 8, call: describe, wantAttempts: 9},
		{name: "register_throttled_7_times", op: "RegisterTaskDefinition", kind: awssim.FaultThrottle, n: 7, call: register, wantAttempts: 8},
		{name: "register_unavailable_6_times", op: "RegisterTaskDefinition", kind: awssim.FaultServerError, n: 6, call: register, wantAttempts: 7},
		{
			name: "register_dropped_is_not_retried", op: "RegisterTaskDefinition", kind: awssim.FaultDrop, n: 1, call: register, wantAttempts: 1,
			wantErr: func(err error) bool {
				var ou *OutcomeUnknownError
				return errors.As(err, &ou) && strings.Contains(err.Error(), "may or may not have made the change")
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, faults := simClients(t, nil)
			faults.FailNext("ecs", tt.op, tt.kind, tt.n)
			before := attempts(c, "ECS."+tt.op)
			err := tt.call(context.Background(), c)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("call failed: %v", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("error = %v", err)
			}
			if got := attempts(c, "ECS."+tt.op) - before; got != tt.wantAttempts {
				t.Errorf("attempts = %d, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func attempts(c *Clients, op string) int {
	for _, s := range c.Calls.Snapshot() {
		if s.Operation == op {
			return s.Attempts
		}
	}
	return 0
}

// TestUnreachableSaysNothingChanged: a read that AWS throttles until the
// call's time runs out fails saying so, that nothing changed, and as the
// context's deadline (so a watch that timed out still counts as a timeout).
func TestUnreachableSaysNothingChanged(t *testing.T) {
	t.Parallel()
	c, _, faults := simClients(t, nil)
	faults.SetOperationRates("ecs", "DescribeClusters", awssim.Rates{Throttle: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := describe(ctx, c)
	var ue *UnavailableError
	if !errors.As(err, &ue) || !ue.NothingChanged || ue.Attempts < 5 {
		t.Fatalf("error = %v, want an UnavailableError after many attempts that says nothing changed", err)
	}
	for _, want := range []string{"AWS could not be reached for ECS.DescribeClusters", "throttled", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ThrottlingException" {
		t.Errorf("the last AWS error is not reachable through errors.As: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "no time left") {
		t.Errorf("error %v neither is the deadline nor says the time ran out", err)
	}
	// Once something changed, the error no longer says nothing did.
	if err := register(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := describe(ctx2, c); err == nil || strings.Contains(err.Error(), "nothing was changed") || !c.Changed() {
		t.Errorf("after a change: %v (changed %v)", err, c.Changed())
	}
}

// TestReadsUnderThirtyPercentThrottling: at 30% throttling on every call, no
// read fails; the figures are logged.
func TestReadsUnderThirtyPercentThrottling(t *testing.T) {
	t.Parallel()
	c, srv, faults := simClients(t, nil)
	faults.SetRates(0.30, 0, 0)
	const runs = 300
	failed := 0
	for range runs {
		if err := describe(context.Background(), c); err != nil {
			failed++
			t.Errorf("read failed: %v", err)
		}
	}
	throttled := 0
	for _, call := range srv.Calls() {
		if call.ErrorCode == "ThrottlingException" {
			throttled++
		}
	}
	t.Logf("%d reads at 30%% throttling: %d failed, %d attempts throttled, %d attempts in all", runs, failed, throttled, attempts(c, "ECS.DescribeClusters"))
	if throttled < runs/10 {
		t.Errorf("only %d attempts were throttled: the test proves nothing", throttled)
	}
}

// TestMaxAttemptsStillCaps: AWS_MAX_ATTEMPTS, when set, is the user's cap.
func TestMaxAttemptsStillCaps(t *testing.T) {
	t.Parallel()
	c, _, faults := simClients(t, map[string]string{"AWS_MAX_ATTEMPTS": "2"})
	faults.FailNext("ecs", "DescribeClusters", awssim.FaultThrottle, 5)
	if err := describe(context.Background(), c); err == nil {
		t.Fatal("the call succeeded past AWS_MAX_ATTEMPTS=2")
	}
	if got := attempts(c, "ECS.DescribeClusters"); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}

// TestCallCutByItsDeadlineIsNotUnavailable: a call whose context ends while
// AWS is still answering is a timeout of the caller, not an unreachable AWS.
func TestCallCutByItsDeadlineIsNotUnavailable(t *testing.T) {
	t.Parallel()
	c, _, faults := simClients(t, nil)
	faults.SetOperationRates("ecs", "DescribeClusters", awssim.Rates{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := describe(ctx, c)
	var ue *UnavailableError
	if err == nil || errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the context's deadline", err)
	}
}

// TestOperationTableNamesRealOperations: every operation the retry table
// classifies is a method of its SDK client, so a typo cannot leave a call
// to the not-idempotent default.
func TestOperationTableNamesRealOperations(t *testing.T) {
	t.Parallel()
	clients := map[string]reflect.Type{
		"ECS": reflect.TypeOf(&ecs.Client{}), "CodeDeploy": reflect.TypeOf(&codedeploy.Client{}), "Elastic Load Balancing v2": reflect.TypeOf(&elb.Client{}),
		"ECR": reflect.TypeOf(&ecr.Client{}), "CloudWatch": reflect.TypeOf(&cloudwatch.Client{}), "STS": reflect.TypeOf(&sts.Client{}),
	}
	for op := range operations {
		i := strings.LastIndex(op, ".")
		typ, ok := clients[op[:i]]
		if !ok {
			t.Errorf("%s: unknown service %q", op, op[:i])
			continue
		}
		if _, ok := typ.MethodByName(op[i+1:]); !ok {
			t.Errorf("%s: %s has no operation %s", op, op[:i], op[i+1:])
		}
	}
}
