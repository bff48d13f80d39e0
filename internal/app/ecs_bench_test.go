package app

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
)

// ecsBenchOptions is BenchmarkReaction's case for the ecs model: a canary
// of 10 % for 5 minutes, then a 5-minute bake time.
var ecsBenchOptions = seed.ECSNativeOptions{
	Strategy: ecstypes.DeploymentStrategyCanary, BakeTimeInMinutes: 5,
	Canary: &ecstypes.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(5)},
}

type ecsBenchWorld struct {
	*ecsSim
	speed float64
	wall0 time.Time
	sim0  time.Time
}

func newECSBenchWorld(b *testing.B, speed float64) *ecsBenchWorld {
	b.Helper()
	c := clock.NewScaled(speed)
	w := &ecsBenchWorld{speed: speed, wall0: time.Now(), sim0: c.Now()}
	w.ecsSim = startECSSim(b, ecsBenchOptions, awssim.WithClock(c))
	return w
}

func (w *ecsBenchWorld) wall(t time.Time) time.Time {
	return w.wall0.Add(time.Duration(float64(t.Sub(w.sim0)) / w.speed))
}

func (w *ecsBenchWorld) deploy() (int, time.Time, string) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	code := Run(ctx, []string{"deploy"}, Env{Environ: w.environ(ecsImage("2"), "BG_LOG_LEVEL=warn"), Stdout: &out, Stderr: &errb, Clock: monitor.ScaledClock{Start: time.Now(), Speed: w.speed}})
	return code, time.Now(), errb.String()
}

func (w *ecsBenchWorld) arn(b *testing.B) string {
	b.Helper()
	var arn string
	waitUntil(b, "the service deployment", func() bool {
		vars, err := reportDotenv(filepath.Join(w.out, "deploy.env"))
		arn = vars[envDeploymentID]
		return err == nil && arn != ""
	})
	return arn
}

func (w *ecsBenchWorld) describe(b *testing.B, arn string) ecstypes.ServiceDeployment {
	b.Helper()
	out, err := w.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		b.Fatalf("DescribeServiceDeployments: %v", err)
	}
	return out.ServiceDeployments[0]
}

// BenchmarkECSReaction is BenchmarkReaction for the ecs model, on the same
// shape of deployment (canary 10 %/5 minutes, then 5 minutes of bake time):
// the tool's service deployment reads and AWS calls per second over its
// span (UpdateService to its last call), its reaction to the final state,
// and how soon it sees a stop nobody scheduled (StopServiceDeployment at a
// random moment of the canary bake). Run:
//
//	BG_BENCH_SPEED=10 go test -run '^$' -bench ECSReaction -benchtime=1x ./internal/app
func BenchmarkECSReaction(b *testing.B) {
	speed := benchSpeed(b)
	var reaction, reads, calls, stops []float64
	for b.Loop() {
		w := newECSBenchWorld(b, speed)
		code, exit, stderr := w.deploy()
		if code != ExitOK {
			b.Fatalf("deploy exit %d\n%s", code, stderr)
		}
		arn := w.arn(b)
		d := w.describe(b, arn)
		reaction = append(reaction, exit.Sub(w.wall(aws.ToTime(d.FinishedAt))).Seconds())
		var tool []awssim.Call
		started := false
		for _, c := range w.srv.Calls() {
			if !strings.Contains(c.UserAgent, "ecs-bluegreen/") {
				continue
			}
			started = started || c.Operation == "UpdateService"
			if started {
				tool = append(tool, c)
			}
		}
		n := 0
		for _, c := range tool {
			if c.Operation == "DescribeServiceDeployments" {
				n++
			}
		}
		span := tool[len(tool)-1].Time.Sub(tool[0].Time).Seconds()
		reads, calls = append(reads, float64(n)/span), append(calls, float64(len(tool))/span)
		fmt.Printf("ecs model, speed %gx: %d DescribeServiceDeployments and %d AWS calls over %.0f AWS s (%.3f/s, %.3f/s); final state to exit %.3f s wall\n",
			speed, n, len(tool), span, float64(n)/span, float64(len(tool))/span, reaction[len(reaction)-1])
		stops = append(stops, ecsStopLag(b, speed))
	}
	b.ReportMetric(median(reaction)*1000, "ours-reaction-ms")
	b.ReportMetric(median(reaction)*speed, "ours-reaction-aws-s")
	b.ReportMetric(median(reads), "ours-service-deployment-reads/s")
	b.ReportMetric(median(calls), "ours-aws-calls/s")
	b.ReportMetric(median(stops), "stop-seen-after-s")
}

// ecsStopLag runs one more deployment and stops it with rollback at a
// random moment of its canary bake, from another client; it returns how
// long, in AWS seconds, until the tool's next read of the deployment.
func ecsStopLag(b *testing.B, speed float64) float64 {
	b.Helper()
	w := newECSBenchWorld(b, speed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.deploy() // exits 1: rolled back
	}()
	arn := w.arn(b)
	waitUntil(b, "the canary", func() bool {
		d := w.describe(b, arn)
		return d.LifecycleStage == ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift && d.TargetServiceRevision != nil && aws.ToFloat64(d.TargetServiceRevision.RequestedProductionTrafficWeight) > 0
	})
	time.Sleep(time.Duration(rand.Float64() * float64(4*time.Minute) / speed)) //nolint:gosec // a benchmark's draw, not a secret
	if _, err := w.ecs.StopServiceDeployment(context.Background(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
		b.Fatal(err)
	}
	<-done
	var stopped time.Time
	for _, c := range w.srv.Calls() {
		if c.Operation == "StopServiceDeployment" {
			stopped = c.Time
		}
		if !stopped.IsZero() && c.Time.After(stopped) && strings.Contains(c.UserAgent, "ecs-bluegreen/") && c.Operation == "DescribeServiceDeployments" {
			return c.Time.Sub(stopped).Seconds()
		}
	}
	b.Fatal("the tool never read the deployment after the stop")
	return 0
}
