package deploy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

// flakyStop answers StopServiceDeployment with a server error fail times,
// recording each call's deadline.
type flakyStop struct {
	ecsNativeAPI
	mu   sync.Mutex
	fail int
	got  []time.Time
}

func (f *flakyStop) StopServiceDeployment(ctx context.Context, _ *ecs.StopServiceDeploymentInput, _ ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	dl, _ := ctx.Deadline()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, dl)
	if len(f.got) <= f.fail {
		return nil, &smithy.GenericAPIError{Code: "ServerException", Message: "simulated", Fault: smithy.FaultServer}
	}
	return &ecs.StopServiceDeploymentOutput{}, nil
}

// DescribeServiceDeployments answers what ECS says right after a stop.
func (f *flakyStop) DescribeServiceDeployments(_ context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{{
		ServiceDeploymentArn: aws.String(in.ServiceDeploymentArns[0]), Status: ecstypes.ServiceDeploymentStatusStopRequested,
	}}}, nil
}

// TestECSStopGetsTheJobsTime: the ecs model's stop after a timeout or an
// interrupt has until the job's end, as the codedeploy model's has, and is
// retried through server errors in that time.
func TestECSStopGetsTheJobsTime(t *testing.T) {
	t.Parallel()
	end := time.Now().Add(47 * time.Minute).Round(0)
	for _, tc := range []struct {
		name  string
		cause error
	}{{"timeout", errTimedOut}, {"interrupt", errors.New("interrupted by terminated")}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := &flakyStop{fail: 2}
			e := &ECSNative{ECS: api, Log: quiet, Clock: fastClock{start: time.Now()}, OnTimeout: TimeoutRollback, OnInterrupt: InterruptRollback, StopUntil: end}
			wctx, cancel := context.WithCancelCause(context.Background())
			cancel(tc.cause)
			err := e.interrupted(context.Background(), wctx, "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/web/x", monitor.ServiceDeployment{Status: ecstypes.ServiceDeploymentStatusInProgress})
			var te *ECSTimeoutError
			if ok := errors.As(err, &te); ok != errors.Is(tc.cause, errTimedOut) || !ok && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want the %s's own error", err, tc.name)
			}
			if err != nil && strings.Contains(err.Error(), "simulated") {
				t.Errorf("the stop gave up: %v", err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if len(api.got) != 3 {
				t.Fatalf("%d StopServiceDeployment calls, want 3 (two server errors, then the stop)", len(api.got))
			}
			for _, dl := range api.got {
				if !dl.Equal(end) {
					t.Errorf("the stop's deadline is %s, want the job's end %s", dl.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
				}
			}
		})
	}
}
