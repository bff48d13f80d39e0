package app

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// benchSpeed is how much faster than real time the benchmark's simulator
// runs: BG_BENCH_SPEED, 10 by default (a 10-minute deployment in a minute).
// The figure the issue asks for is at 1; 10 and 60 show the pacing does not
// depend on the speed.
func benchSpeed(b *testing.B) float64 {
	b.Helper()
	v := os.Getenv("BG_BENCH_SPEED")
	if v == "" {
		return 10
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s <= 0 {
		b.Fatalf("BG_BENCH_SPEED=%q: want a positive number", v)
	}
	return s
}

// benchWorld is one benchmark round's simulator, with the mapping from its
// (AWS) time to wall time, and a production URL that records when the
// tool's production smoke check first asked it.
type benchWorld struct {
	*sim
	speed      float64
	wall0      time.Time
	sim0       time.Time
	firstProd  time.Time
	mu         sync.Mutex
	prodServer *httptest.Server
}

func newBenchWorld(b *testing.B, speed float64, o seed.Options) *benchWorld {
	b.Helper()
	c := clock.NewScaled(speed)
	w := &benchWorld{speed: speed, wall0: time.Now(), sim0: c.Now()}
	w.sim = startSim(b, o, awssim.WithClock(c))
	w.prodServer = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		w.mu.Lock()
		if w.firstProd.IsZero() {
			w.firstProd = time.Now()
		}
		w.mu.Unlock()
		_, _ = rw.Write([]byte("ok\n"))
	}))
	b.Cleanup(w.prodServer.Close)
	return w
}

// wall is the wall time of an AWS (simulated) time.
func (w *benchWorld) wall(t time.Time) time.Time {
	return w.wall0.Add(time.Duration(float64(t.Sub(w.sim0)) / w.speed))
}

// deploy runs `ecs-bluegreen deploy` on a clock as fast as the simulator's
// (as the sandbox does) and returns its exit code and wall exit time.
func (w *benchWorld) deploy() (int, time.Time, string) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env := deployEnv(w.sim, "BG_PROD_URL="+w.prodServer.URL, "BG_SMOKE_SUCCESSES=1")
	code := Run(ctx, []string{"deploy"}, Env{Environ: env, Stdout: &out, Stderr: &errb, Clock: monitor.ScaledClock{Start: time.Now(), Speed: w.speed}})
	return code, time.Now(), errb.String()
}

func (w *benchWorld) deploymentID(b *testing.B) string {
	b.Helper()
	var id string
	w.waitFor(b, "the deployment id", func() bool {
		vars, err := reportDotenv(filepath.Join(w.out, "deploy.env"))
		id = vars["BG_DEPLOYMENT_ID"]
		return err == nil && id != ""
	})
	return id
}

// timeline is the deployment's schedule as AWS reported it.
type timeline struct {
	created, installed, trafficStart, moved, completed time.Time
}

func (w *benchWorld) timeline(b *testing.B, id string) timeline {
	b.Helper()
	ctx := context.Background()
	d, err := w.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		b.Fatal(err)
	}
	tl := timeline{created: aws.ToTime(d.DeploymentInfo.CreateTime), completed: aws.ToTime(d.DeploymentInfo.CompleteTime)}
	tg, err := w.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{"prod:web"}})
	if err != nil || len(tg.DeploymentTargets) == 0 {
		b.Fatalf("reading the target of %s: %v", id, err)
	}
	for _, e := range tg.DeploymentTargets[0].EcsTarget.LifecycleEvents {
		switch aws.ToString(e.LifecycleEventName) {
		case monitor.EventInstall:
			tl.installed = aws.ToTime(e.EndTime)
		case monitor.EventAllowTraffic:
			tl.trafficStart, tl.moved = aws.ToTime(e.StartTime), aws.ToTime(e.EndTime)
		}
	}
	return tl
}

// toolCalls are the tool's own calls (its user agent) from its
// CreateDeployment on.
func toolCalls(calls []awssim.Call) []awssim.Call {
	var out []awssim.Call
	watching := false
	for _, c := range calls {
		if !strings.Contains(c.UserAgent, "ecs-bluegreen/") {
			continue
		}
		if c.Operation == "CreateDeployment" {
			watching = true
		}
		if watching {
			out = append(out, c)
		}
	}
	return out
}

func isCodeDeployRead(c awssim.Call) bool {
	return c.Service == "codedeploy" && (c.Operation == "GetDeployment" || c.Operation == "BatchGetDeploymentTargets" || c.Operation == "ListDeploymentTargets")
}

// phaseTable prints the tool's calls per service and per phase, as rates per
// second of AWS time, and returns the CodeDeploy reads and all calls per
// second over the tool's own span (CreateDeployment to its last call).
func phaseTable(b *testing.B, tl timeline, calls []awssim.Call) (cdPerS, allPerS float64) {
	b.Helper()
	end := calls[len(calls)-1].Time
	phases := []struct {
		name     string
		from, to time.Time
	}{
		{"replacement starts (create to Install end)", tl.created, tl.installed},
		{"test traffic and hooks", tl.installed, tl.trafficStart},
		{"canary bake (AllowTraffic)", tl.trafficStart, tl.moved},
		{"termination wait", tl.moved, tl.completed},
		{"final state to exit", tl.completed, end},
	}
	services := []string{"codedeploy", "ecs", "elasticloadbalancing"}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-44s %8s %12s %8s %8s %8s\n", "phase", "AWS s", "CD reads/s", "ECS/s", "ELB/s", "other/s")
	for _, p := range phases {
		n := map[string]int{}
		for _, c := range calls {
			inside := !c.Time.Before(p.from) && (c.Time.Before(p.to) || p.to.Equal(end) && !c.Time.After(end))
			if !inside {
				continue
			}
			switch {
			case isCodeDeployRead(c):
				n["codedeploy"]++
			case c.Service == "codedeploy":
				n["other"]++
			case c.Service == "ecs" || c.Service == "elasticloadbalancing":
				n[c.Service]++
			default:
				n["other"]++
			}
		}
		secs := p.to.Sub(p.from).Seconds()
		rate := func(k string) string {
			if secs < 1 { // a rate over a moment says nothing: the count
				return fmt.Sprintf("%d calls", n[k])
			}
			return fmt.Sprintf("%.3f", float64(n[k])/secs)
		}
		fmt.Fprintf(&sb, "%-44s %8.1f %12s %8s %8s %8s\n", p.name, secs, rate(services[0]), rate(services[1]), rate(services[2]), rate("other"))
	}
	cd := 0
	for _, c := range calls {
		if isCodeDeployRead(c) {
			cd++
		}
	}
	span := end.Sub(calls[0].Time).Seconds()
	fmt.Fprintf(&sb, "over the tool's span (%.1f AWS s): %d CodeDeploy reads (%.3f/s), %d AWS calls (%.3f/s)", span, cd, float64(cd)/span, len(calls), float64(len(calls))/span)
	// Printed, not logged: the testing package cuts a benchmark's long log.
	fmt.Println(sb.String())
	return float64(cd) / span, float64(len(calls)) / span
}

// BenchmarkReaction runs `ecs-bluegreen deploy` and the AWS CLI waiter
// (`aws deploy wait deployment-successful`, pip CLI v1) side by side on the
// same canary 10%/5 minutes deployment with a 5-minute termination wait (the
// issue's case), and a second deployment that is stopped, by nobody's
// schedule, at a random moment of its canary bake. It reports the tool's
// CodeDeploy reads and AWS calls per second over its own span (per service
// and per phase in the log), its reaction to the final state, when its
// production smoke check started after production traffic moved, and how
// soon it saw the stop. Run (BG_BENCH_SPEED: 10 by default; 1 is the real
// time figure and takes 11 minutes a round):
//
//	BG_BENCH_SPEED=10 go test -run '^$' -bench Reaction -benchtime=1x -timeout 60m ./internal/app
func BenchmarkReaction(b *testing.B) {
	awsCLI := testutil.RequirePeer(b, "aws")
	speed := benchSpeed(b)
	opts := seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 5}
	var ours, cli, cdRates, allRates, smoke, stops []float64
	for b.Loop() {
		w := newBenchWorld(b, speed, opts)
		var wg sync.WaitGroup
		var oursExit, cliExit time.Time
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, at, stderr := w.deploy()
			if code != ExitOK {
				b.Errorf("deploy exit %d\n%s", code, stderr)
			}
			oursExit = at
		}()
		id := w.deploymentID(b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(awsCLI, "--endpoint-url", w.url, "deploy", "wait", "deployment-successful", "--deployment-id", id)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=cli", "AWS_SECRET_ACCESS_KEY=b", "AWS_DEFAULT_REGION=eu-west-1", "AWS_CONFIG_FILE=/dev/null")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Errorf("aws deploy wait: %v\n%s", err, out)
			}
			cliExit = time.Now()
		}()
		wg.Wait()
		tl := w.timeline(b, id)
		final := w.wall(tl.completed)
		ours = append(ours, oursExit.Sub(final).Seconds())
		cli = append(cli, cliExit.Sub(final).Seconds())
		w.mu.Lock()
		smoke = append(smoke, w.firstProd.Sub(w.wall(tl.moved)).Seconds())
		w.mu.Unlock()
		cd, all := phaseTable(b, tl, toolCalls(w.srv.Calls()))
		var cliCalls []awssim.Call
		for _, c := range w.srv.Calls() {
			if c.AccessKeyID == "cli" {
				cliCalls = append(cliCalls, c)
			}
		}
		if n := len(cliCalls); n > 1 {
			// Over the waiter's span from the tool's CreateDeployment, as the tool's.
			span := cliCalls[n-1].Time.Sub(tl.created).Seconds()
			fmt.Printf("the CLI waiter: %d CodeDeploy reads over %.1f AWS s (%.3f/s), every 15 s of wall time (%.0f AWS s at %gx)\n", n, span, float64(n)/span, 15*speed, speed)
		}
		cdRates, allRates = append(cdRates, cd), append(allRates, all)
		stops = append(stops, stopLag(b, speed, opts))
	}
	b.ReportMetric(median(ours)*1000, "ours-reaction-ms")
	b.ReportMetric(median(cli)*1000, "cli-reaction-ms")
	b.ReportMetric(median(cdRates), "ours-codedeploy-reads/s")
	b.ReportMetric(median(allRates), "ours-aws-calls/s")
	b.ReportMetric(median(smoke)*1000, "prod-smoke-after-move-ms")
	// The same two in AWS (simulated) seconds, comparable across speeds.
	b.ReportMetric(median(ours)*speed, "ours-reaction-aws-s")
	b.ReportMetric(median(smoke)*speed, "prod-smoke-after-move-aws-s")
	b.ReportMetric(median(stops), "stop-seen-after-s")
	fmt.Printf("speed %gx; reaction (wall s) ours %v, CLI waiter %v (the waiter polls every 15 s of wall time: its lag is uniform over 0-15 s, mean 7.5 s, whatever one draw shows); production smoke check after the move (wall s) %v; a stop nobody scheduled seen after (AWS s) %v\n",
		speed, rounded(ours), rounded(cli), rounded(smoke), rounded(stops))
}

// stopLag runs one more deployment and stops it (with rollback) at a random
// moment of its canary bake, from another client; it returns how long, in
// AWS seconds, until the tool's next CodeDeploy read, the one that shows the
// deployment Stopped.
func stopLag(b *testing.B, speed float64, opts seed.Options) float64 {
	b.Helper()
	w := newBenchWorld(b, speed, opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.deploy() // exits 1: stopped and rolled back
	}()
	id := w.deploymentID(b)
	ctx := context.Background()
	w.waitFor(b, "production traffic to start moving", func() bool {
		tg, err := w.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{"prod:web"}})
		if err != nil || len(tg.DeploymentTargets) == 0 {
			return false
		}
		for _, e := range tg.DeploymentTargets[0].EcsTarget.LifecycleEvents {
			if aws.ToString(e.LifecycleEventName) == monitor.EventAllowTraffic && e.Status == cdtypes.LifecycleEventStatusInProgress {
				return true
			}
		}
		return false
	})
	// Anywhere in the first 4 minutes of the bake, in AWS time.
	time.Sleep(time.Duration(rand.Float64() * float64(4*time.Minute) / speed)) //nolint:gosec // a benchmark's draw, not a secret
	if _, err := w.cd.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)}); err != nil {
		b.Fatal(err)
	}
	<-done
	var stopped time.Time
	for _, c := range w.srv.Calls() {
		if c.Operation == "StopDeployment" {
			stopped = c.Time
		}
		if !stopped.IsZero() && c.Time.After(stopped) && strings.Contains(c.UserAgent, "ecs-bluegreen/") && c.Operation == "GetDeployment" {
			return c.Time.Sub(stopped).Seconds()
		}
	}
	b.Fatal("the tool never read the deployment after the stop")
	return 0
}

func rounded(xs []float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
