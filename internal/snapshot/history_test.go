package snapshot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

const sha1 = "0123456789abcdef0123456789abcdef01234567"

// deployImage registers a task definition with image and deploys it,
// with desc as the description; it waits until the deployment ends.
func (w *world) deployImage(t *testing.T, sw *seed.World, image, desc string) string {
	t.Helper()
	ctx := context.Background()
	td, err := w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(sw.Service), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String(sw.Container), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(sw.Port)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"" + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\"\n        LoadBalancerInfo:\n          ContainerName: " + sw.Container + "\n          ContainerPort: 8080\n"
	out, err := w.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(sw.Application), DeploymentGroupName: aws.String(sw.Group), Description: aws.String(desc),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.DeploymentId)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d, err := w.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err == nil {
			switch d.DeploymentInfo.Status {
			case cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
				return id
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("deployment %s never ended", id)
	return ""
}

type fakeImages map[string]ImageMetadata

func (f fakeImages) ImageMetadata(_ context.Context, ref string) (ImageMetadata, error) {
	if m, ok := f[ref]; ok {
		return m, nil
	}
	return ImageMetadata{}, errors.New("manifest unknown: " + ref)
}

// TestReadCodeDeploy_history: two canary deployments, one from a pipeline
// and one by hand; the history lists both newest first with who started
// them, the live colour's release names the deployment that made it and the
// image's commit, and the timeline shows the canary step and production
// moving to the new colour.
func TestReadCodeDeploy_history(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"})
	if err != nil {
		t.Fatal(err)
	}
	w.waitHealthy(t, sw.BlueTargetGroupARN)
	desc := "[ecs-bluegreen group/web pipeline 77] https://gitlab.example.com/group/web/-/pipelines/77 https://gitlab.example.com/group/web/-/jobs/901 " + sha1
	first := w.deployImage(t, sw, "registry.example.com/web@sha256:1111", desc)
	second := w.deployImage(t, sw, "registry.example.com/web@sha256:2222", "by hand <b>bold</b>")

	r := w.reader()
	r.History = 10
	in := CodeDeployService{Cluster: sw.Cluster, Service: sw.Service, Application: sw.Application, Group: sw.Group}
	before := w.calls()
	s, err := r.ReadCodeDeploy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The 8 calls of TestReadCodeDeploy, with BatchGetDeployments and
	// BatchGetDeploymentTargets for the history and the timeline.
	if n := w.calls() - before; n != 10 {
		t.Errorf("ReadCodeDeploy with history made %d calls, want 10", n)
	}
	if len(s.History) != 2 || s.History[0].ID != second || s.History[1].ID != first {
		t.Fatalf("history = %+v, want %s then %s", s.History, second, first)
	}
	h := s.History[1]
	if h.StartedBy != "pipeline 77" || h.Commit != sha1 || h.Status != "Succeeded" || !strings.HasSuffix(h.PipelineURL, "/pipelines/77") || !strings.HasSuffix(h.JobURL, "/jobs/901") {
		t.Errorf("first deployment = %+v", h)
	}
	if got := s.History[0].StartedBy; got != "console or CLI" {
		t.Errorf("a deployment without our description started by %q, want console or CLI", got)
	}
	live := s.Colour(s.Live)
	if live == nil || live.Release == nil || live.Release.DeploymentID != second {
		t.Fatalf("live colour %q release = %+v, want deployment %s", s.Live, live, second)
	}
	ReadReleases(ctx, fakeImages{"registry.example.com/web@sha256:2222": {
		Annotations: map[string]string{KeyRevision: sha1, KeySource: "https://gitlab.example.com/group/web", KeyVersion: "1.4.0"},
		Labels:      map[string]string{KeyCommitTitle: "Fix the <checkout>", KeyCreated: "2026-11-24T15:00:00Z"},
	}}, s)
	AddLinks(s, "eu-west-1")
	rel := live.Release
	want := &Release{
		Image: "registry.example.com/web@sha256:2222", Commit: sha1, Title: "Fix the <checkout>", Version: "1.4.0", Source: "https://gitlab.example.com/group/web",
		Built: time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC), DeploymentID: second, StartedBy: "console or CLI", LiveSince: rel.LiveSince,
		CommitURL:  "https://gitlab.example.com/group/web/-/commit/" + sha1,
		ConsoleURL: "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/" + second + "?region=eu-west-1",
	}
	if diff := cmp.Diff(want, rel); diff != "" {
		t.Errorf("release (-want +got):\n%s", diff)
	}
	if rel.LiveSince.IsZero() {
		t.Error("the live colour has no live-since time")
	}
	tl := s.Timeline
	if tl == nil || tl.DeploymentID != second || tl.To != s.Live || len(tl.Points) < 3 {
		t.Fatalf("timeline = %+v", tl)
	}
	if p := tl.Points[1]; p.Weight(tl.To) != 10 || !strings.Contains(p.Note, "canary") {
		t.Errorf("second point = %+v, want the 10%% canary", p)
	}
	if p := tl.Points[len(tl.Points)-1]; p.Weight(tl.To) != 100 {
		t.Errorf("last point = %+v, want all on %s", p, tl.To)
	}
	// BG_HISTORY=1: the newest only, and still the timeline.
	r.History = 1
	one, err := r.ReadCodeDeploy(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(one.History) != 1 || one.History[0].ID != second || one.Timeline == nil {
		t.Errorf("with history 1: %+v, timeline %v", one.History, one.Timeline)
	}
	other := s.Colour(s.Live.Other())
	if other.Release != nil && other.Release.Error == "" && other.Release.DeploymentID != first {
		t.Errorf("the other colour's release = %+v", other.Release)
	}
}

func TestParseDescription(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, desc string
		want       Origin
	}{
		{name: "pipeline", desc: "[ecs-bluegreen g/p pipeline 12] https://gl/g/p/-/pipelines/12 https://gl/g/p/-/jobs/3 " + sha1, want: Origin{Project: "g/p", Pipeline: "12", PipelineURL: "https://gl/g/p/-/pipelines/12", JobURL: "https://gl/g/p/-/jobs/3", Commit: sha1}},
		{name: "rollback", desc: "[ecs-bluegreen g/p pipeline 12] " + RollbackMarker + " https://gl/g/p/-/pipelines/12", want: Origin{Project: "g/p", Pipeline: "12", PipelineURL: "https://gl/g/p/-/pipelines/12", Rollback: true}},
		{name: "run", desc: "[ecs-bluegreen run abc]", want: Origin{Run: "abc"}},
		{name: "hostile", desc: "javascript:alert(1)/-/pipelines/1 <script> [ecs-bluegreen x pipeline 1]", want: Origin{}},
		{name: "empty", desc: "", want: Origin{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ParseDescription(tt.desc)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStepsOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		config string
		want   steps
	}{
		{"CodeDeployDefault.ECSCanary10Percent5Minutes", steps{pct: 10, every: 5 * time.Minute}},
		{"CodeDeployDefault.ECSLinear10PercentEvery1Minutes", steps{pct: 10, every: time.Minute, linear: true}},
		{"CodeDeployDefault.ECSAllAtOnce", steps{}},
		{"my-custom", steps{}},
	}
	for _, tt := range tests {
		if got := stepsOf(tt.config); got != tt.want {
			t.Errorf("stepsOf(%q) = %+v, want %+v", tt.config, got, tt.want)
		}
	}
}
