package awssim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

func get(t *testing.T, url string) (int, awssim.TaskAnswer) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a awssim.TaskAnswer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

func TestDataPlaneFollowsWeights(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"})
	dp := e.sim.DataPlane()
	t.Cleanup(dp.Close)
	addr, err := dp.Bind(context.Background(), e.world.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testAddr, err := dp.Bind(context.Background(), e.world.TestListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if code, a := get(t, "http://"+addr+"/health"); code != 200 || a.TaskDefinition != e.world.TaskDefinitionARN || a.TargetGroup != e.world.BlueTargetGroup {
		t.Fatalf("before the deployment: %d %+v", code, a)
	}
	newTD, _ := e.deploy(t, "registry.example/web@sha256:cafe", "")
	e.clk.Advance(30 * time.Second) // canary: 90/10
	green := 0
	for range 100 {
		code, a := get(t, "http://"+addr+"/")
		if code != 200 {
			t.Fatalf("production request failed during the canary: %d %+v", code, a)
		}
		if a.TaskDefinition == newTD {
			green++
		}
	}
	if green != 10 {
		t.Errorf("%d of 100 production requests reached the new task definition, want 10", green)
	}
	if code, a := get(t, "http://"+testAddr+"/"); code != 200 || a.TaskDefinition != newTD || len(a.Images) != 1 || a.Images[0] != "registry.example/web@sha256:cafe" {
		t.Errorf("test listener answer = %d %+v, want the new task definition and image", code, a)
	}
	// A release whose pages fail while its health check passes: only the
	// health check path answers 200.
	e.sim.World().SetTaskDefinitionAnswer(newTD, http.StatusInternalServerError)
	if code, _ := get(t, "http://"+testAddr+"/"); code != http.StatusInternalServerError {
		t.Errorf("a broken page answered %d, want 500", code)
	}
	if code, _ := get(t, "http://"+testAddr+"/health"); code != http.StatusOK {
		t.Errorf("its health check answered %d, want 200", code)
	}
	e.sim.World().SetTaskDefinitionAnswer(newTD, 0)
	// A broken application answers 503 behind the test listener.
	e.sim.World().SetTaskDefinitionHealthy(newTD, false)
	if code, _ := get(t, "http://"+testAddr+"/"); code != http.StatusServiceUnavailable {
		t.Errorf("unhealthy tasks answered %d, want 503", code)
	}
}

// DESIGN §8: zero failed requests on the production listener while traffic
// moves under a steady load, through a whole canary deployment.
func TestNoFailedRequestsWhileTrafficMoves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 1})
	dp := e.sim.DataPlane()
	t.Cleanup(dp.Close)
	addr, err := dp.Bind(context.Background(), e.world.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, id := e.deploy(t, "registry.example/web:9", "")
	requests, failures := 0, 0
	for e.status(t, id).Status != cdtypes.DeploymentStatusSucceeded {
		for range 20 {
			code, _ := get(t, "http://"+addr+"/")
			requests++
			if code != 200 {
				failures++
			}
		}
		e.clk.Advance(10 * time.Second)
		if requests > 20000 {
			t.Fatal("the deployment never finished")
		}
	}
	if failures != 0 {
		t.Errorf("%d of %d production requests failed while traffic moved", failures, requests)
	}
	d, _ := e.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	t.Logf("%d requests over a %s deployment, none failed", requests, aws.ToTime(d.DeploymentInfo.CompleteTime).Sub(aws.ToTime(d.DeploymentInfo.CreateTime)))
}
