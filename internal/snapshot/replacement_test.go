package snapshot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestReadReplacement: one read of a deployment's replacement task set is
// one DescribeServices and one DescribeTargetHealth, with every target.
func TestReadReplacement(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	sw, err := seed.Create(ctx, w.c, seed.Options{ReadyWaitMinutes: 1440})
	if err != nil {
		t.Fatal(err)
	}
	w.waitHealthy(t, sw.BlueTargetGroupARN)
	before := w.calls()
	r, err := ReadReplacement(ctx, w.ecs, w.elb, sw.Cluster, sw.Service, "d-NOTSTARTD")
	if err != nil || r.TaskSet != "" || len(r.Targets) != 0 || w.calls()-before != 1 {
		t.Errorf("ReadReplacement before the deployment = %+v, %v, %d calls; want nothing in one call", r, err, w.calls()-before)
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + sw.TaskDefinitionARN +
		"\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	out, err := w.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(sw.Application), DeploymentGroupName: aws.String(sw.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.DeploymentId)
	deadline := time.Now().Add(20 * time.Second)
	for {
		before = w.calls()
		r, err = ReadReplacement(ctx, w.ecs, w.elb, sw.Cluster, sw.Service, id)
		if err != nil {
			t.Fatal(err)
		}
		if n := w.calls() - before; r.TargetGroupARN != "" && n != 2 {
			t.Fatalf("one read of the replacement made %d calls, want 2", n)
		}
		healthy := 0
		for _, tg := range r.Targets {
			if tg.State == "healthy" && tg.ID != "" && tg.Port == 8080 {
				healthy++
			}
		}
		if r.Running == 2 && healthy == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replacement never ran healthy: %+v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(r.TaskSet, "ecs-svc/") || r.Desired != 2 || r.TargetGroupARN != sw.GreenTargetGroupARN {
		t.Errorf("replacement = %+v, want the task set in %s", r, sw.GreenTargetGroupARN)
	}

	// The deployment and its ECS target, as the watcher reads them: the
	// target is listed once, then read by the id it keeps.
	info, err := ReadDeployment(ctx, w.cd, id)
	if err != nil || aws.ToString(info.DeploymentId) != id || info.Status == "" {
		t.Errorf("ReadDeployment = %+v, %v", info, err)
	}
	var targetID string
	before = w.calls()
	target, err := ReadDeploymentTarget(ctx, w.cd, id, &targetID)
	if err != nil || target == nil || targetID == "" || len(target.TaskSetsInfo) != 2 || w.calls()-before != 2 {
		t.Errorf("ReadDeploymentTarget = %+v, %v (target id %q, %d calls)", target, err, targetID, w.calls()-before)
	}
	before = w.calls()
	if _, err := ReadDeploymentTarget(ctx, w.cd, id, &targetID); err != nil || w.calls()-before != 1 {
		t.Errorf("ReadDeploymentTarget with the id known: %v in %d calls, want 1", err, w.calls()-before)
	}
	if _, err := ReadDeployment(ctx, w.cd, "d-NOTTHERE"); err == nil {
		t.Error("ReadDeployment of a missing deployment succeeded")
	}
}

// TestReadRollout reads an ECS-controlled service's rolling deployments.
func TestReadRollout(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	two, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before := w.calls()
	r, err := ReadRollout(ctx, w.ecs, two.Cluster, two.BlueService)
	if err != nil || r.Primary == nil || r.Deployments != 1 || aws.ToString(r.Primary.TaskDefinition) != two.TaskDefinitionARN || w.calls()-before != 1 {
		t.Errorf("ReadRollout = %+v, %v in %d calls", r, err, w.calls()-before)
	}
	if _, err := ReadRollout(ctx, w.ecs, two.Cluster, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("ReadRollout of a missing service = %v, want an error naming it", err)
	}
}

// TestReaderDescribesATaskDefinitionOnce: a second observation by the same
// Reader reads everything that can change again, but not the task
// definitions it has described (a revision never changes).
func TestReaderDescribesATaskDefinitionOnce(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	ctx := context.Background()
	two, err := seed.CreateTwoServices(ctx, w.c, seed.TwoServicesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := w.reader()
	count := func() (all, taskDefs int) {
		t.Helper()
		before := len(w.srv.Calls())
		s, err := r.ReadListener(ctx, two.Cluster, two.BlueService, two.GreenService, two.ProdListenerARN, two.TestListenerARN)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Colour(Blue).Containers) != 1 || len(s.Colour(Green).Containers) != 1 {
			t.Errorf("containers blue %v green %v, want one each", s.Colour(Blue).Containers, s.Colour(Green).Containers)
		}
		for _, c := range w.srv.Calls()[before:] {
			if c.Operation == "DescribeTaskDefinition" {
				taskDefs++
			}
		}
		return len(w.srv.Calls()) - before, taskDefs
	}
	first, firstTD := count()
	second, secondTD := count()
	if firstTD != 1 || secondTD != 0 || second != first-1 {
		t.Errorf("first read %d calls (%d DescribeTaskDefinition), second %d (%d): want the second to skip the task definition", first, firstTD, second, secondTD)
	}
	// A revision the run registered is known without describing it.
	r = w.reader()
	r.Registered(two.TaskDefinitionARN, []Container{{Name: "web", Image: "registry.example/web:registered"}})
	s, err := r.ReadListener(ctx, two.Cluster, two.BlueService, two.GreenService, two.ProdListenerARN, two.TestListenerARN)
	if err != nil {
		t.Fatal(err)
	}
	if img := s.Colour(Blue).Containers[0].Image; img != "registry.example/web:registered" {
		t.Errorf("blue runs %q, want the registered revision's containers", img)
	}
}
