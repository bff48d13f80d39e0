package verify

import (
	"strings"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

var now = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

func healthy() *snapshot.Snapshot {
	return &snapshot.Snapshot{
		Live: snapshot.Green,
		Colours: []snapshot.ColourState{
			{Colour: snapshot.Blue},
			{
				Colour: snapshot.Green, ProductionWeight: 100, Healthy: 2,
				TaskSet:    &snapshot.TaskSet{Status: "PRIMARY", Desired: 2, Running: 2},
				Containers: []snapshot.Container{{Name: "web", Image: "r.example/web@sha256:abc"}},
			},
		},
	}
}

func TestCheckSnapshot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mutate   func(s *snapshot.Snapshot)
		failing  string // name of the one check expected to fail ("" = all pass)
		skipped  int
		wantText string
	}{
		{name: "all_good", mutate: func(*snapshot.Snapshot) {}},
		{
			name: "split_without_deployment", failing: "production traffic is on one colour", skipped: 3, wantText: "no deployment is in progress",
			mutate: func(s *snapshot.Snapshot) {
				s.Live = ""
				s.Colours[0].ProductionWeight, s.Colours[1].ProductionWeight = 50, 50
			},
		},
		{
			name: "split_during_young_deployment", skipped: 3,
			mutate: func(s *snapshot.Snapshot) {
				s.Live = ""
				s.Colours[0].ProductionWeight, s.Colours[1].ProductionWeight = 90, 10
				s.InFlight = &snapshot.Deployment{ID: "d-A1B2C3D4E", Created: now.Add(-10 * time.Minute)}
			},
		},
		{
			name: "stuck_deployment", failing: "production traffic is on one colour", skipped: 3, wantText: "looks stuck",
			mutate: func(s *snapshot.Snapshot) {
				s.Live = ""
				s.Colours[0].ProductionWeight, s.Colours[1].ProductionWeight = 90, 10
				s.InFlight = &snapshot.Deployment{ID: "d-A1B2C3D4E", Created: now.Add(-5 * time.Hour)}
			},
		},
		{
			name: "nothing_live", failing: "production traffic is on one colour", skipped: 3, wantText: "no colour",
			mutate: func(s *snapshot.Snapshot) { s.Live = ""; s.Colours[1].ProductionWeight = 0 },
		},
		{
			name: "missing_tasks", failing: "live colour runs its desired tasks", wantText: "1 of 2",
			mutate: func(s *snapshot.Snapshot) { s.Colours[1].TaskSet.Running, s.Colours[1].TaskSet.Pending = 1, 1 },
		},
		{
			name: "unhealthy_target", failing: "live colour has no unhealthy targets", wantText: "Target.Timeout",
			mutate: func(s *snapshot.Snapshot) {
				s.Colours[1].Unhealthy = []snapshot.Target{{ID: "10.0.0.9", Port: 8080, State: "unhealthy", Reason: "Target.Timeout"}}
			},
		},
		{
			name: "no_healthy_target", failing: "live colour has no unhealthy targets", wantText: "no healthy targets",
			mutate: func(s *snapshot.Snapshot) { s.Colours[1].Healthy = 0 },
		},
		{
			name: "tag_not_digest", failing: "live images are pinned by digest", wantText: "r.example/web:latest",
			mutate: func(s *snapshot.Snapshot) { s.Colours[1].Containers[0].Image = "r.example/web:latest" },
		},
		{
			name: "listener_tags_agree",
			mutate: func(s *snapshot.Snapshot) {
				s.Routes = &snapshot.Routes{Production: "arn:listener"}
				s.Colours[0].IsProduction, s.Colours[1].IsProduction = "false", "true"
			},
		},
		{
			name: "listener_tag_stale", failing: "IsProduction tags match the production route", wantText: "blue () is tagged IsProduction=true, want false",
			mutate: func(s *snapshot.Snapshot) {
				s.Routes = &snapshot.Routes{Production: "arn:listener"}
				s.Colours[0].IsProduction, s.Colours[1].IsProduction = "true", "true"
			},
		},
		{
			name: "listener_tag_missing", failing: "IsProduction tags match the production route", wantText: "IsProduction=missing",
			mutate: func(s *snapshot.Snapshot) {
				s.Routes = &snapshot.Routes{Production: "arn:listener"}
				s.Colours[0].IsProduction = "false"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			tt.mutate(s)
			results := CheckSnapshot(s, Expectations{MaxDeploymentAge: 2 * time.Hour, Now: now, RequireDigest: true})
			skipped := 0
			for _, r := range results {
				if r.Skipped {
					skipped++
					continue
				}
				wantPass := r.Name != tt.failing
				if r.Passed != wantPass {
					t.Errorf("%q passed=%v (%s), want %v", r.Name, r.Passed, r.Message, wantPass)
				}
				if !r.Passed && !strings.Contains(r.Message, tt.wantText) {
					t.Errorf("%q message %q does not mention %q", r.Name, r.Message, tt.wantText)
				}
			}
			if skipped != tt.skipped {
				t.Errorf("%d checks skipped, want %d", skipped, tt.skipped)
			}
		})
	}
}

// TestCheckPinned_severity: an image given by tag is a warning unless
// digests are required.
func TestCheckPinned_severity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		image              string
		require            bool
		wantFail, wantWarn bool
	}{
		{name: "digest", image: "r.example/web@sha256:" + strings.Repeat("a", 64)},
		{name: "tag_warns", image: "r.example/web:latest", wantWarn: true},
		{name: "tag_fails_when_required", image: "r.example/web:latest", require: true, wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			s.Colours[1].Containers[0].Image = tt.image
			for _, r := range CheckSnapshot(s, Expectations{MaxDeploymentAge: 2 * time.Hour, Now: now, RequireDigest: tt.require}) {
				if r.Name != "live images are pinned by digest" {
					continue
				}
				if r.Failed() != tt.wantFail || r.Warned() != tt.wantWarn {
					t.Errorf("failed=%v warned=%v (%s), want %v %v", r.Failed(), r.Warned(), r.Message, tt.wantFail, tt.wantWarn)
				}
			}
		})
	}
}

func TestCheckLiveTag(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("d", 64)
	tests := []struct {
		name               string
		registry           []snapshot.RegistryTag
		live               bool
		wantPass, wantSkip bool
		wantText           string
	}{
		{name: "no_registry", live: true, wantSkip: true, wantText: "no registry configured"},
		{name: "matches", live: true, registry: []snapshot.RegistryTag{{Repository: "r/web", Tag: "live", Digest: digest}, {Repository: "r/web", Tag: "previous"}}, wantPass: true},
		{name: "stale", live: true, registry: []snapshot.RegistryTag{{Repository: "r/web", Tag: "live", Digest: "sha256:" + strings.Repeat("e", 64)}}, wantText: "but production runs " + digest},
		{name: "unreadable", live: true, registry: []snapshot.RegistryTag{{Repository: "r/web", Tag: "live", Error: "denied"}}, wantText: "cannot be read (denied)"},
		{name: "never_moved", live: true, registry: []snapshot.RegistryTag{{Repository: "r/web", Tag: "live"}}, wantSkip: true, wantText: "no live tag in r/web"},
		{name: "split_traffic", registry: []snapshot.RegistryTag{{Repository: "r/web", Tag: "live", Digest: digest}}, wantSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			s.Colours[1].Containers[0].Image = "r/web@" + digest
			s.Registry = tt.registry
			if !tt.live {
				s.Live = ""
			}
			r := CheckLiveTag(s, "live")
			if r.Passed != tt.wantPass || r.Skipped != tt.wantSkip || !strings.Contains(r.Message, tt.wantText) {
				t.Errorf("CheckLiveTag = %+v", r)
			}
		})
	}
}
