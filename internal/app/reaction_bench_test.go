package app

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// BenchmarkReaction measures, side by side on the same deployment, how long
// after a deployment reaches its final state `ecs-bluegreen deploy` and
// `aws deploy wait deployment-successful` exit, and how many CodeDeploy reads
// per second the tool made while watching (DESIGN §8: median under 1 s, at
// most about one read a second). Run:
//
//	go test -run '^$' -bench Reaction -benchtime=5x ./internal/app
func BenchmarkReaction(b *testing.B) {
	awsCLI := testutil.RequirePeer(b, "aws")
	var ours, cli, reads []float64
	for b.Loop() {
		// At 10x the 5-minute canary takes 30 s and the termination wait 6 s:
		// long enough for both watchers' polling to show.
		s := startSim(b, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 1}, awssim.WithClock(clock.NewScaled(10)))
		env := deployEnv(s)
		var wg sync.WaitGroup
		var oursExit, cliExit, final time.Time
		wg.Add(1)
		go func() {
			defer wg.Done()
			runIn(b, env, "deploy")
			oursExit = time.Now()
		}()
		// The deployment id appears in deploy.env once deploy created it.
		var id string
		s.waitFor(b, "the deployment id", func() bool {
			vars, err := reportDotenv(filepath.Join(s.out, "deploy.env"))
			id = vars["BG_DEPLOYMENT_ID"]
			return err == nil && id != ""
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(awsCLI, "--endpoint-url", s.url, "deploy", "wait", "deployment-successful", "--deployment-id", id)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=a", "AWS_SECRET_ACCESS_KEY=b", "AWS_DEFAULT_REGION=eu-west-1", "AWS_CONFIG_FILE=/dev/null")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Errorf("aws deploy wait: %v\n%s", err, out)
			}
			cliExit = time.Now()
		}()
		// Find the moment the deployment became final, to 20 ms.
		for final.IsZero() {
			d, err := s.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
			if err == nil && d.DeploymentInfo.Status == cdtypes.DeploymentStatusSucceeded {
				final = time.Now()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		wg.Wait()
		ours = append(ours, oursExit.Sub(final).Seconds())
		cli = append(cli, cliExit.Sub(final).Seconds())
		// The reads of the watch: from the deployment's creation to the exit.
		n, watching := 0, false
		var from time.Time
		for _, c := range s.srv.Calls() {
			if !strings.Contains(c.UserAgent, "ecs-bluegreen/") || c.Service != "codedeploy" {
				continue
			}
			if c.Operation == "CreateDeployment" {
				watching, from = true, c.Time
				continue
			}
			if watching && (c.Operation == "GetDeployment" || c.Operation == "BatchGetDeploymentTargets" || c.Operation == "ListDeploymentTargets") {
				n++
			}
		}
		// Call times are simulated; convert the span back to wall time.
		span := s.srv.Calls()[len(s.srv.Calls())-1].Time.Sub(from).Seconds() / 10
		reads = append(reads, float64(n)/span)
	}
	b.ReportMetric(median(ours)*1000, "ours-reaction-ms")
	b.ReportMetric(median(cli)*1000, "cli-reaction-ms")
	b.ReportMetric(median(reads), "ours-codedeploy-reads/s")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
