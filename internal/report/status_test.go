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
	return map[string]*snapshot.Snapshot{"steady": steady, "canary": canary, "listener": listener}
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
