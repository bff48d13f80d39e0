package awssim_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// BenchmarkConcurrentDeploymentPolling runs 200 canary deployments at once
// (simulated time 120x, so each takes about three seconds) while 200 watchers poll GetDeployment and
// BatchGetDeploymentTargets as the tool does, and reports the latency of the
// polls and any failed call. Run: go test -run '^$' -bench Concurrent ./internal/awssim
func BenchmarkConcurrentDeploymentPolling(b *testing.B) {
	const n = 200
	for b.Loop() {
		sim := awssim.New(awssim.WithClock(clock.NewScaled(120)))
		srv := httptest.NewServer(sim)
		transport := &http.Transport{MaxIdleConnsPerHost: n}
		cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1, HTTPClient: &http.Client{Transport: transport}}
		cd, ecsc, elbc := codedeploy.NewFromConfig(cfg), ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
		ctx := context.Background()
		ids := make([]string, n)
		targets := make([]string, n)
		for i := range n {
			w, err := seed.Create(ctx, seed.Clients{ECS: ecsc, ELB: elbc, CodeDeploy: cd}, seed.Options{Service: fmt.Sprintf("svc%03d", i), DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", DesiredCount: 1})
			if err != nil {
				b.Fatal(err)
			}
			spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + w.TaskDefinitionARN + "\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
			out, err := cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
				ApplicationName: aws.String(w.Application), DeploymentGroupName: aws.String(w.Group),
				Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
			})
			if err != nil {
				b.Fatal(err)
			}
			ids[i], targets[i] = aws.ToString(out.DeploymentId), w.Cluster+":"+w.Service
		}
		start := time.Now()
		var mu sync.Mutex
		var latencies []time.Duration
		failed := 0
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					t0 := time.Now()
					d, err := cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(ids[i])})
					_, err2 := cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(ids[i]), TargetIds: []string{targets[i]}})
					mu.Lock()
					latencies = append(latencies, time.Since(t0))
					if err != nil || err2 != nil {
						failed++
					}
					mu.Unlock()
					if err == nil && d.DeploymentInfo.Status == cdtypes.DeploymentStatusSucceeded {
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		srv.Close()
		sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
		b.ReportMetric(float64(len(latencies)), "polls")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(elapsed.Seconds(), "wall-s")
		if failed > 0 {
			b.Errorf("%d polls failed", failed)
		}
	}
}
