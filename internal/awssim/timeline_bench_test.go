package awssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// BenchmarkTimelineUnderPollers prints, in simulated seconds, how long
// Install and the canary (AllowTraffic) took and when the deployment ended,
// for the same CodeDeployDefault.ECSCanary10Percent5Minutes deployment
// watched not at all, every 15 s and every 100 ms. The figures must not
// depend on the watcher. Run:
//
//	go test -run '^$' -bench TimelineUnderPollers -benchtime=1x ./internal/awssim
func BenchmarkTimelineUnderPollers(b *testing.B) {
	for _, c := range []struct {
		name string
		poll time.Duration
	}{{name: "unwatched"}, {name: "poll_15s", poll: 15 * time.Second}, {name: "poll_100ms", poll: 100 * time.Millisecond}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				e := newEnv(b, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 1})
				_, id := e.deploy(b, "registry.example/web:bench", "")
				const span = 15 * time.Minute
				for elapsed := time.Duration(0); elapsed < span; {
					step := c.poll
					if step == 0 {
						step = span
					}
					e.clk.Advance(step)
					elapsed += step
					if c.poll > 0 {
						e.status(b, id)
						e.target(b, id)
					}
				}
				d := e.status(b, id)
				base := aws.ToTime(d.CreateTime)
				for _, ev := range e.target(b, id).LifecycleEvents {
					if ev.StartTime == nil || ev.EndTime == nil {
						continue
					}
					took := ev.EndTime.Sub(*ev.StartTime).Seconds()
					switch aws.ToString(ev.LifecycleEventName) {
					case "Install":
						b.ReportMetric(took, "install-s")
					case "AllowTraffic":
						b.ReportMetric(took, "canary-s")
					}
				}
				ended := -1.0 // still running at the end of the span
				if d.CompleteTime != nil {
					ended = d.CompleteTime.Sub(base).Seconds()
				}
				b.ReportMetric(ended, "complete-s")
			}
		})
	}
}
