package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func sampleSnapshots() map[string]*snapshot.Snapshot {
	taken := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	base := func() *snapshot.Snapshot {
		return &snapshot.Snapshot{
			Taken: taken, Model: "codedeploy", Cluster: "prod", Service: "web",
			Group: &snapshot.Group{Application: "AppECS-prod-web", Name: "DgpECS-prod-web", DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", ProdListener: "arn:l/prod", TestListener: "arn:l/test"},
			Colours: []snapshot.ColourState{
				{
					Colour: snapshot.Blue, TargetGroup: "web-blue", ProductionWeight: 100,
					TaskSet:        &snapshot.TaskSet{ID: "ecs-svc/1", Status: "PRIMARY", Desired: 2, Running: 2},
					TaskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:41",
					Containers:     []snapshot.Container{{Name: "web", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aaaa"}},
					Healthy:        2,
				},
				{Colour: snapshot.Green, TargetGroup: "web-green", TestWeight: 100},
			},
			LastSuccessful: &snapshot.Deployment{ID: "d-OLDOLDOLD", Status: "Succeeded", Ended: taken.Add(-24 * time.Hour)},
		}
	}
	steady := base()
	canary := base()
	canary.Live = ""
	canary.Colours[0].ProductionWeight, canary.Colours[1].ProductionWeight = 90, 10
	canary.Colours[1].TaskSet = &snapshot.TaskSet{ID: "ecs-svc/2", Status: "ACTIVE", Desired: 2, Running: 1, Pending: 1}
	canary.Colours[1].TaskDefinition = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42"
	canary.Colours[1].Containers = []snapshot.Container{{Name: "web", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bbbb"}}
	canary.Colours[1].Healthy = 1
	canary.Colours[1].Unhealthy = []snapshot.Target{{ID: "10.0.1.7", Port: 8080, State: "unhealthy", Reason: "Target.ResponseCodeMismatch"}}
	canary.InFlight = &snapshot.Deployment{ID: "d-NEWNEWNEW", Status: "InProgress", Description: "[ecs-bluegreen group/web pipeline 1234]"}
	steady.Live = snapshot.Blue
	steady.Registry = []snapshot.RegistryTag{
		{Repository: "registry.gitlab.com/group/web", Tag: "live", Digest: "sha256:aaaa"},
		{Repository: "registry.gitlab.com/group/web", Tag: "previous"},
		{Repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web", Tag: "live", Error: "UNAUTHORIZED"},
	}
	// The listener model: two services, routes instead of a deployment group.
	listener := base()
	listener.Model, listener.Service, listener.Group, listener.LastSuccessful = "listener", "shop-blue/shop-green", nil, nil
	listener.Routes = &snapshot.Routes{Production: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/2", Test: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/3"}
	listener.Live = snapshot.Green
	listener.Colours[0] = snapshot.ColourState{
		Colour: snapshot.Blue, Service: "shop-blue", TargetGroup: "shop-blue", TestWeight: 100, IsProduction: "false", Healthy: 2,
		TaskSet:        &snapshot.TaskSet{ID: "ecs-svc/8", Status: "PRIMARY", Desired: 2, Running: 2, Stability: "COMPLETED"},
		TaskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:6",
		Containers:     []snapshot.Container{{Name: "shop", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:bbbb"}},
	}
	listener.Colours[1] = snapshot.ColourState{
		Colour: snapshot.Green, Service: "shop-green", TargetGroup: "shop-green", ProductionWeight: 100, IsProduction: "true", Healthy: 2,
		TaskSet:        &snapshot.TaskSet{ID: "ecs-svc/9", Status: "PRIMARY", Desired: 2, Running: 2, Stability: "COMPLETED"},
		TaskDefinition: "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:7",
		Containers:     []snapshot.Container{{Name: "shop", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop@sha256:cccc"}},
	}
	return map[string]*snapshot.Snapshot{"steady": steady, "canary": canary, "listener": listener, "history": historySample(base())}
}

func TestStatusReports(t *testing.T) {
	t.Parallel()
	for name, s := range sampleSnapshots() {
		golden(t, "status-"+name+".md", []byte(StatusMarkdown(s)))
		b, err := StatusJSON(s)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "status-"+name+".json", b)
	}
}

func TestStatusHTML(t *testing.T) {
	t.Parallel()
	for name, s := range sampleSnapshots() {
		b, err := StatusHTML(s)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "status-"+name+".html", b)
	}
}

// historySample is a service whose green colour went live in the last
// deployment, with a history that has each kind of starter and a failure,
// and text from outside (titles, descriptions, tags) that tries to inject
// markup.
func historySample(s *snapshot.Snapshot) *snapshot.Snapshot {
	taken := s.Taken
	const sha1, sha2 = "0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98"
	s.Service = "web<script>alert('svc')</script>"
	s.Live = snapshot.Green
	s.Colours[0].ProductionWeight, s.Colours[0].TestWeight = 0, 0
	s.Colours[1].ProductionWeight, s.Colours[1].TestWeight = 100, 100
	s.Colours[0].Release = &snapshot.Release{
		Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:aaaa", Commit: sha1, Title: "Add the cart", Version: "1.3.0",
		Source: "https://gitlab.example.com/group/web", CommitURL: "https://gitlab.example.com/group/web/-/commit/" + sha1,
		DeploymentID: "d-OLDOLDOLD", StartedBy: "pipeline 1200", PipelineURL: "https://gitlab.example.com/group/web/-/pipelines/1200",
		ConsoleURL: "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-OLDOLDOLD?region=eu-west-1",
		LiveSince:  taken.Add(-26 * time.Hour),
	}
	s.Colours[1].TaskSet = &snapshot.TaskSet{ID: "ecs-svc/2", Status: "PRIMARY", Desired: 2, Running: 2, DeploymentID: "d-NEWNEWNEW"}
	s.Colours[1].TaskDefinition = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42"
	s.Colours[1].Containers = []snapshot.Container{{Name: "web", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bbbb"}}
	s.Colours[1].Healthy = 2
	s.Colours[1].Release = &snapshot.Release{
		Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:bbbb", Commit: sha2, Title: "Fix <b>checkout</b> | [x](javascript:alert(1))", Version: "1.4.0",
		Source: "https://gitlab.example.com/group/web", CommitURL: "https://gitlab.example.com/group/web/-/commit/" + sha2,
		DeploymentID: "d-NEWNEWNEW", StartedBy: "pipeline 1234", PipelineURL: "https://gitlab.example.com/group/web/-/pipelines/1234",
		JobURL:     "https://gitlab.example.com/group/web/-/jobs/98765",
		ConsoleURL: "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-NEWNEWNEW?region=eu-west-1",
		LiveSince:  taken.Add(-50 * time.Minute),
	}
	s.LastSuccessful = &snapshot.Deployment{ID: "d-NEWNEWNEW", Status: "Succeeded", Ended: taken.Add(-45 * time.Minute)}
	s.History = []snapshot.HistoryEntry{
		{
			ID: "d-NEWNEWNEW", Status: "Succeeded", Created: taken.Add(-time.Hour), Ended: taken.Add(-45 * time.Minute), Creator: "user",
			StartedBy: "pipeline 1234", Pipeline: "1234", PipelineURL: "https://gitlab.example.com/group/web/-/pipelines/1234", Commit: sha2,
			ConsoleURL: "https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-NEWNEWNEW?region=eu-west-1",
		},
		{
			ID: "d-FAILFAIL1", Status: "Failed", Created: taken.Add(-3 * time.Hour), Ended: taken.Add(-3*time.Hour + 7*time.Minute), Creator: "user",
			StartedBy: "console or CLI", ErrorCode: "HOOK_EXECUTION_FAILURE", ErrorMessage: "hook <img src=x onerror=alert(2)> failed",
			Description: "<img src=x onerror=alert(3)>",
		},
		{
			ID: "d-ROLLBACK1", Status: "Succeeded", Created: taken.Add(-5 * time.Hour), Ended: taken.Add(-5*time.Hour + 90*time.Second), Creator: "codeDeployRollback",
			StartedBy: "automatic rollback of d-OLDER0001",
		},
		{
			ID: "d-OLDOLDOLD", Status: "Succeeded", Created: taken.Add(-27 * time.Hour), Ended: taken.Add(-26 * time.Hour), Creator: "user",
			StartedBy: "rollback job, pipeline 1200", Pipeline: "1200", PipelineURL: "https://gitlab.example.com/group/web/-/pipelines/1200", Commit: sha1,
		},
	}
	s.StatusPage = "https://gitlab.example.com/group/web/-/jobs/98766/artifacts/file/.ecs-bluegreen/ecs-deploy/status.html"
	created := taken.Add(-time.Hour)
	s.Timeline = &snapshot.Timeline{
		DeploymentID: "d-NEWNEWNEW", Config: "CodeDeployDefault.ECSCanary10Percent5Minutes", From: snapshot.Blue, To: snapshot.Green,
		Points: []snapshot.TrafficPoint{
			{At: created, Blue: 100, Note: "deployment created: production on blue"},
			{At: created.Add(4 * time.Minute), Blue: 90, Green: 10, Note: "canary: 10% on green"},
			{At: created.Add(9 * time.Minute), Green: 100, Note: "all production traffic on green"},
			{At: created.Add(15 * time.Minute), Green: 100, Note: "succeeded: production on green"},
		},
	}
	s.Registry = []snapshot.RegistryTag{
		{Repository: "registry.gitlab.com/group/web", Tag: "live", Digest: "sha256:bbbb"},
		{Repository: "registry.gitlab.com/group/web", Tag: "blue", Digest: "sha256:aaaa"},
		{Repository: "registry.gitlab.com/group/web", Tag: "green", Digest: "sha256:bbbb"},
		{Repository: "registry.gitlab.com/group/web", Tag: "<i>x</i>", Error: "tag <b>invalid</b>"},
	}
	return s
}

func TestAnnotations(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"history", "steady"} {
		b, err := Annotations(sampleSnapshots()[name])
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "annotations-"+name+".json", b)
	}
}
