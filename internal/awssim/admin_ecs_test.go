package awssim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

func TestECSAdmin_servicesAndClusters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, w := context.Background(), e.world
	net := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}}
	created, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(w.Cluster), ServiceName: aws.String("worker"), TaskDefinition: aws.String(w.TaskDefinitionARN), DesiredCount: aws.Int32(1),
		LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: net, PropagateTags: ecstypes.PropagateTagsService, EnableECSManagedTags: true,
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			MaximumPercent: aws.Int32(150), MinimumHealthyPercent: aws.Int32(50),
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			Alarms:                   &ecstypes.DeploymentAlarms{AlarmNames: []string{"worker-errors"}, Enable: true},
		},
		Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("web")}, {Key: aws.String("tier"), Value: aws.String("2")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, s ecstypes.Service, maxPercent int32) {
		t.Helper()
		dc := s.DeploymentConfiguration
		if s.PropagateTags != ecstypes.PropagateTagsService || !s.EnableECSManagedTags ||
			dc == nil || aws.ToInt32(dc.MaximumPercent) != maxPercent || aws.ToInt32(dc.MinimumHealthyPercent) != 50 ||
			dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Rollback || dc.Alarms == nil || len(dc.Alarms.AlarmNames) != 1 {
			t.Errorf("%s did not keep the members CreateService took: %+v %+v", what, s, dc)
		}
	}
	check("CreateService", *created.Service, 150)
	// UpdateService changes one member of deploymentConfiguration, keeps the rest.
	upd, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(w.Cluster), Service: aws.String("worker"), DeploymentConfiguration: &ecstypes.DeploymentConfiguration{MaximumPercent: aws.Int32(200)}})
	if err != nil {
		t.Fatal(err)
	}
	check("UpdateService", *upd.Service, 200)
	desc, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.Cluster), Services: []string{"worker"}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
	if err != nil || len(desc.Services) != 1 || len(desc.Services[0].Tags) != 2 {
		t.Fatalf("DescribeServices = %+v, %v", desc, err)
	}
	check("DescribeServices", desc.Services[0], 200)
	// A refused UpdateService keeps nothing of what it carried.
	_, err = e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(w.Cluster), Service: aws.String(w.Service), TaskDefinition: aws.String(w.TaskDefinitionARN), PropagateTags: ecstypes.PropagateTagsService})
	wantCode(t, "a task definition on a CODE_DEPLOY service", err, "InvalidParameterException")
	if web, _ := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.Cluster), Services: []string{w.Service}}); web.Services[0].PropagateTags != ecstypes.PropagateTagsNone {
		t.Errorf("a refused UpdateService changed propagateTags to %q", web.Services[0].PropagateTags)
	}
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(w.Cluster), ServiceName: aws.String("bad"), TaskDefinition: aws.String(w.TaskDefinitionARN), PropagateTags: "EVERYWHERE"})
	wantCode(t, "propagateTags EVERYWHERE", err, "InvalidParameterException")

	if _, err := e.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: created.Service.ServiceArn, TagKeys: []string{"tier"}}); err != nil {
		t.Fatal(err)
	}
	tags, _ := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: created.Service.ServiceArn})
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Errorf("tags after UntagResource = %+v", tags.Tags)
	}
	_, err = e.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:service/prod/ghost"), TagKeys: []string{"a"}})
	wantCode(t, "untagging a missing service", err, "ResourceNotFoundException")

	// ListServices pages by maxResults.
	page, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(w.Cluster), MaxResults: aws.Int32(1)})
	if err != nil || len(page.ServiceArns) != 1 || page.NextToken == nil {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	rest, err := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(w.Cluster), NextToken: page.NextToken})
	if err != nil || len(rest.ServiceArns) != 1 || rest.NextToken != nil {
		t.Errorf("second page = %+v, %v; want web and worker over two pages", rest, err)
	}
	clusters, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil || len(clusters.ClusterArns) != 1 {
		t.Errorf("ListClusters = %+v, %v", clusters, err)
	}

	_, err = e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(w.Cluster), Service: aws.String("worker")})
	wantCode(t, "deleting a service scaled above 0", err, "InvalidParameterException")
	del, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(w.Cluster), Service: aws.String("worker"), Force: aws.Bool(true)})
	if err != nil || aws.ToString(del.Service.Status) != "DRAINING" {
		t.Fatalf("DeleteService force = %+v, %v; want DRAINING", del, err)
	}
	_, err = e.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(w.Cluster)})
	wantCode(t, "deleting a cluster with services", err, "ClusterContainsServicesException")
	e.clk.Advance(time.Minute)
	desc, _ = e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.Cluster), Services: []string{"worker"}})
	if len(desc.Services) != 1 || aws.ToString(desc.Services[0].Status) != "INACTIVE" || desc.Services[0].RunningCount != 0 {
		t.Errorf("a drained service = %+v, want INACTIVE with no tasks", desc.Services)
	}
	all, _ := e.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(w.Cluster)})
	if len(all.ServiceArns) != 1 {
		t.Errorf("ListServices lists the INACTIVE service: %v", all.ServiceArns)
	}
	_, err = e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(w.Cluster), Service: aws.String("worker"), DesiredCount: aws.Int32(1)})
	wantCode(t, "updating an INACTIVE service", err, "ServiceNotActiveException")
}

func TestECSAdmin_runTaskAndStopTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, w := context.Background(), e.world
	net := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-a"}}}
	_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(w.Cluster), TaskDefinition: aws.String(w.TaskDefinitionARN)})
	wantCode(t, "an awsvpc task without a network configuration", err, "InvalidParameterException")
	run, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(w.Cluster), TaskDefinition: aws.String(w.TaskDefinitionARN), Count: aws.Int32(2),
		LaunchType: ecstypes.LaunchTypeFargate, NetworkConfiguration: net, StartedBy: aws.String("migrate-42"),
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{Name: aws.String("web"), Command: []string{"migrate"}}}},
	})
	if err != nil || len(run.Tasks) != 2 || aws.ToString(run.Tasks[0].LastStatus) != "PENDING" || aws.ToString(run.Tasks[0].Group) != "family:"+w.Service {
		t.Fatalf("RunTask = %+v, %v", run, err)
	}
	migrate, other := aws.ToString(run.Tasks[0].TaskArn), aws.ToString(run.Tasks[1].TaskArn)
	list, _ := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(w.Cluster), StartedBy: aws.String("migrate-42")})
	if len(list.TaskArns) != 2 {
		t.Errorf("ListTasks startedBy = %v, want both one-off tasks", list.TaskArns)
	}
	e.clk.Advance(15 * time.Second)
	stop, err := e.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(w.Cluster), Task: aws.String(other), Reason: aws.String("not needed")})
	if err != nil || aws.ToString(stop.Task.DesiredStatus) != "STOPPED" || stop.Task.StopCode != ecstypes.TaskStopCodeUserInitiated || aws.ToString(stop.Task.StoppedReason) != "not needed" {
		t.Errorf("StopTask = %+v, %v", stop.Task, err)
	}
	e.clk.Advance(time.Minute) // the migration's container exits 0 after 30 s of running
	d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(w.Cluster), Tasks: []string{migrate, other}})
	if err != nil || len(d.Tasks) != 2 {
		t.Fatalf("DescribeTasks = %+v, %v", d, err)
	}
	byARN := map[string]ecstypes.Task{}
	for _, tk := range d.Tasks {
		byARN[aws.ToString(tk.TaskArn)] = tk
	}
	if m := byARN[migrate]; aws.ToString(m.LastStatus) != "STOPPED" || m.StopCode != ecstypes.TaskStopCodeEssentialContainerExited || aws.ToInt32(m.Containers[0].ExitCode) != 0 || m.StartedAt == nil {
		t.Errorf("the migration task = %+v, want STOPPED, EssentialContainerExited, exit 0", m)
	}
	if o := byARN[other]; aws.ToInt32(o.Containers[0].ExitCode) != 143 {
		t.Errorf("the stopped task exited %v, want 143 (SIGTERM)", o.Containers[0].ExitCode)
	}
	stopped, _ := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(w.Cluster), DesiredStatus: ecstypes.DesiredStatusStopped, StartedBy: aws.String("migrate-42")})
	if len(stopped.TaskArns) != 2 {
		t.Errorf("ListTasks STOPPED = %v", stopped.TaskArns)
	}
	// A service's task stopped by a user is replaced by the service.
	svcTasks, _ := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(w.Cluster), ServiceName: aws.String(w.Service)})
	st, err := e.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(w.Cluster), Task: aws.String(svcTasks.TaskArns[0])})
	if err != nil || st.Task.StopCode != ecstypes.TaskStopCodeUserInitiated {
		t.Errorf("StopTask of a service task = %+v, %v", st, err)
	}
	again, _ := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(w.Cluster), ServiceName: aws.String(w.Service)})
	if len(again.TaskArns) != len(svcTasks.TaskArns) || again.TaskArns[0] == svcTasks.TaskArns[0] && len(again.TaskArns) == 1 {
		t.Errorf("the service did not replace the stopped task: before %v, after %v", svcTasks.TaskArns, again.TaskArns)
	}
	_, err = e.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(w.Cluster), Task: aws.String("0123")})
	wantCode(t, "stopping an unknown task", err, "InvalidParameterException")
}

func TestECSAdmin_taskSetsOfAnExternalService(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, w := context.Background(), e.world
	c, s := aws.String(w.Cluster), aws.String("ext")
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: c, ServiceName: s, DesiredCount: aws.Int32(4),
		DeploymentController: &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeExternal},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := e.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: c, Service: aws.String(w.Service), TaskDefinition: aws.String(w.TaskDefinitionARN)})
	wantCode(t, "a task set on a CODE_DEPLOY service", err, "InvalidParameterException")
	lb := []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(w.GreenTargetGroupARN), ContainerName: aws.String("web"), ContainerPort: aws.Int32(8080)}}
	blue, err := e.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{Cluster: c, Service: s, TaskDefinition: aws.String(w.TaskDefinitionARN), ExternalId: aws.String("blue"), LoadBalancers: lb})
	if err != nil || aws.ToString(blue.TaskSet.Status) != "ACTIVE" || blue.TaskSet.ComputedDesiredCount != 4 || aws.ToString(blue.TaskSet.ExternalId) != "blue" {
		t.Fatalf("CreateTaskSet = %+v, %v", blue, err)
	}
	green, err := e.ecs.CreateTaskSet(ctx, &ecs.CreateTaskSetInput{
		Cluster: c, Service: s, TaskDefinition: aws.String(w.TaskDefinitionARN), ExternalId: aws.String("green"),
		Scale: &ecstypes.Scale{Value: 50, Unit: ecstypes.ScaleUnitPercent},
	})
	if err != nil || green.TaskSet.ComputedDesiredCount != 2 {
		t.Fatalf("CreateTaskSet at 50%% = %+v, %v", green, err)
	}
	prim, err := e.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: c, Service: s, PrimaryTaskSet: blue.TaskSet.TaskSetArn})
	if err != nil || aws.ToString(prim.TaskSet.Status) != "PRIMARY" {
		t.Fatalf("UpdateServicePrimaryTaskSet = %+v, %v", prim, err)
	}
	e.clk.Advance(time.Minute)
	sets, err := e.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: c, Service: s, TaskSets: []string{aws.ToString(blue.TaskSet.Id), aws.ToString(green.TaskSet.TaskSetArn), "ecs-svc/0000"}})
	if err != nil || len(sets.TaskSets) != 2 || len(sets.Failures) != 1 || aws.ToString(sets.Failures[0].Reason) != "MISSING" ||
		sets.TaskSets[0].RunningCount != 4 || sets.TaskSets[0].StabilityStatus != ecstypes.StabilityStatusSteadyState {
		t.Errorf("DescribeTaskSets = %+v, %v", sets, err)
	}
	svc, _ := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: c, Services: []string{"ext"}})
	if aws.ToString(svc.Services[0].TaskDefinition) != w.TaskDefinitionARN || len(svc.Services[0].TaskSets) != 2 || svc.Services[0].RunningCount != 6 {
		t.Errorf("the service = %+v, want the primary's task definition and both task sets", svc.Services[0])
	}
	// Move production to green: scale it, make it primary, delete blue.
	if _, err := e.ecs.UpdateTaskSet(ctx, &ecs.UpdateTaskSetInput{Cluster: c, Service: s, TaskSet: green.TaskSet.Id, Scale: &ecstypes.Scale{Value: 100, Unit: ecstypes.ScaleUnitPercent}}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: c, Service: s, TaskSet: blue.TaskSet.Id})
	wantCode(t, "deleting the primary task set", err, "InvalidParameterException")
	if _, err := e.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{Cluster: c, Service: s, PrimaryTaskSet: green.TaskSet.Id}); err != nil {
		t.Fatal(err)
	}
	gone, err := e.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: c, Service: s, TaskSet: blue.TaskSet.Id, Force: aws.Bool(true)})
	if err != nil || aws.ToString(gone.TaskSet.Status) != "DRAINING" {
		t.Errorf("DeleteTaskSet = %+v, %v", gone, err)
	}
	_, err = e.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: c, Service: s, TaskSet: blue.TaskSet.Id})
	wantCode(t, "deleting a deleted task set", err, "TaskSetNotFoundException")
	sets, _ = e.ecs.DescribeTaskSets(ctx, &ecs.DescribeTaskSetsInput{Cluster: c, Service: s})
	if len(sets.TaskSets) != 1 || aws.ToString(sets.TaskSets[0].Status) != "PRIMARY" || aws.ToString(sets.TaskSets[0].ExternalId) != "green" {
		t.Errorf("task sets after the move = %+v", sets.TaskSets)
	}
}

func TestECRImages_inMemory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx, repo := context.Background(), aws.String(e.world.Repository)
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` +
		"aa" + `","size":100},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:bb","size":1000}]}`
	put, err := e.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(manifest), ImageTag: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	digest := aws.ToString(put.Image.ImageId.ImageDigest)
	_, err = e.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(manifest), ImageTag: aws.String("v1")})
	wantCode(t, "the same image and tag again", err, "ImageAlreadyExistsException")
	_, err = e.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(manifest), ImageTag: aws.String("v2"), ImageDigest: aws.String("sha256:00")})
	wantCode(t, "a digest that does not match", err, "ImageDigestDoesNotMatchException")
	if _, err := e.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageManifest: aws.String(manifest), ImageTag: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	list, err := e.ecr.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: repo})
	if err != nil || len(list.ImageIds) != 2 {
		t.Errorf("ListImages = %+v, %v; want the digest under two tags", list, err)
	}
	desc, err := e.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo})
	if err != nil || len(desc.ImageDetails) != 1 || len(desc.ImageDetails[0].ImageTags) != 2 || aws.ToInt64(desc.ImageDetails[0].ImageSizeInBytes) != 1100 ||
		desc.ImageDetails[0].ImagePushedAt == nil || aws.ToString(desc.ImageDetails[0].ArtifactMediaType) != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("DescribeImages = %+v, %v", desc, err)
	}
	_, err = e.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}}})
	wantCode(t, "DescribeImages of a missing tag", err, "ImageNotFoundException")
	got, err := e.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("live")}, {ImageTag: aws.String("nope")}, {ImageDigest: aws.String(digest), ImageTag: aws.String("nope")}}})
	if err != nil || len(got.Images) != 1 || aws.ToString(got.Images[0].ImageManifest) != manifest || aws.ToString(got.Images[0].ImageId.ImageDigest) != digest ||
		len(got.Failures) != 2 || got.Failures[0].FailureCode != ecrtypes.ImageFailureCodeImageNotFound || got.Failures[1].FailureCode != ecrtypes.ImageFailureCodeImageTagDoesNotMatchDigest {
		t.Errorf("BatchGetImage = %+v, %v", got, err)
	}
	_, err = e.ecr.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("ghost")})
	wantCode(t, "a missing repository", err, "RepositoryNotFoundException")
}

// TestCallLogOnTheControlEndpoint: a test can count one client's calls.
func TestCallLogOnTheControlEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	if _, err := e.ecs.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	base := aws.ToString(e.ecs.Options().BaseEndpoint)
	read := func(query string) (calls []map[string]any, counts map[string]int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_awssim/calls"+query, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Calls  []map[string]any `json:"calls"`
			Counts map[string]int   `json:"counts"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v.Calls, v.Counts
	}
	calls, counts := read("?accessKeyId=AKID&operation=ListClusters")
	if len(calls) != 1 || counts["ecs:ListClusters"] != 1 || calls[0]["accessKeyId"] != "AKID" || calls[0]["userAgent"] == "" {
		t.Errorf("the call log = %v %v; want the one ListClusters with its caller", calls, counts)
	}
	if calls, _ := read("?accessKeyId=someone-else"); len(calls) != 0 {
		t.Errorf("another key's calls = %v, want none", calls)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/_awssim/calls", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if calls, _ := read(""); len(calls) != 0 {
		t.Errorf("after DELETE the log has %d calls", len(calls))
	}
}
