package awssim_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

type env struct {
	sim   *awssim.Server
	clk   *clock.Manual
	ecs   *ecs.Client
	elb   *elb.Client
	cd    *codedeploy.Client
	ecr   *ecr.Client
	world *seed.World
}

func newEnv(tb testing.TB, o seed.Options) *env {
	tb.Helper()
	clk := clock.NewManual(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC))
	sim := awssim.New(awssim.WithClock(clk))
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1}
	e := &env{sim: sim, clk: clk, ecs: ecs.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg), ecr: ecr.NewFromConfig(cfg)}
	w, err := seed.Create(context.Background(), seed.Clients{ECS: e.ecs, ELB: e.elb, CodeDeploy: e.cd, ECR: e.ecr}, o)
	if err != nil {
		tb.Fatalf("seeding: %v", err)
	}
	e.world = w
	e.clk.Advance(time.Minute) // the initial tasks start and pass health checks
	return e
}

// deploy registers a new revision with image and starts a deployment.
func (e *env) deploy(tb testing.TB, image string, hooks string) (taskDef, id string) {
	tb.Helper()
	return e.deployWith(tb, image, hooks, "")
}

// deployWith is deploy with a deployment configuration other than the
// group's (config "": the group's).
func (e *env) deployWith(tb testing.TB, image, hooks, config string) (taskDef, id string) {
	tb.Helper()
	ctx := context.Background()
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(e.world.Service), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	taskDef = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"" + taskDef + "\"\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n" + hooks
	sum := sha256.Sum256([]byte(spec))
	in := &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String(e.world.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec), Sha256: aws.String(hex.EncodeToString(sum[:]))}},
	}
	if config != "" {
		in.DeploymentConfigName = aws.String(config)
	}
	out, err := e.cd.CreateDeployment(ctx, in)
	if err != nil {
		tb.Fatalf("CreateDeployment: %v", err)
	}
	return taskDef, aws.ToString(out.DeploymentId)
}

func (e *env) status(tb testing.TB, id string) *cdtypes.DeploymentInfo {
	tb.Helper()
	out, err := e.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		tb.Fatal(err)
	}
	return out.DeploymentInfo
}

func (e *env) target(tb testing.TB, id string) *cdtypes.ECSTarget {
	tb.Helper()
	out, err := e.cd.BatchGetDeploymentTargets(context.Background(), &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{e.world.Cluster + ":" + e.world.Service}})
	if err != nil {
		tb.Fatal(err)
	}
	return out.DeploymentTargets[0].EcsTarget
}

// prodWeights reads the production listener's weights by target group ARN.
func (e *env) prodWeights(t *testing.T) map[string]int32 {
	t.Helper()
	out, err := e.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{ListenerArns: []string{e.world.ProdListenerARN}})
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]int32{}
	for _, tg := range out.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups {
		w[aws.ToString(tg.TargetGroupArn)] = aws.ToInt32(tg.Weight)
	}
	return w
}

func TestCanaryDeploymentLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", TerminationWaitMinutes: 5})
	taskDef, id := e.deploy(t, "registry.example/web@sha256:"+strings.Repeat("b", 64), "")
	if got := e.status(t, id).Status; got != cdtypes.DeploymentStatusInProgress {
		t.Fatalf("status right after create = %s", got)
	}
	target := e.target(t, id)
	if target.Status != cdtypes.TargetStatusInProgress || len(target.TaskSetsInfo) != 2 {
		t.Fatalf("target = %+v, want InProgress with both task sets", target)
	}
	green := target.TaskSetsInfo[1]
	if green.TaskSetLabel != cdtypes.TargetLabelGreen || aws.ToString(green.TargetGroup.Name) != e.world.GreenTargetGroup || green.TrafficWeight != 0 {
		t.Errorf("green task set = %+v", green)
	}

	// Tasks start after 10 s and pass 2 checks 5 s apart: Install ends, test
	// traffic moves, the canary takes 10 %.
	e.clk.Advance(30 * time.Second)
	if w := e.prodWeights(t); w[e.world.BlueTargetGroupARN] != 90 || w[e.world.GreenTargetGroupARN] != 10 {
		t.Fatalf("production weights during the canary = %v, want 90/10", w)
	}
	test, _ := e.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{ListenerArns: []string{e.world.TestListenerARN}})
	if got := test.Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups; len(got) != 2 || aws.ToString(got[1].TargetGroupArn) != e.world.GreenTargetGroupARN || aws.ToInt32(got[1].Weight) != 100 || aws.ToInt32(got[0].Weight) != 0 {
		t.Errorf("test listener forwards to %+v, want green at 100 and blue at 0", got)
	}
	events := map[string]cdtypes.LifecycleEventStatus{}
	for _, ev := range e.target(t, id).LifecycleEvents {
		events[aws.ToString(ev.LifecycleEventName)] = ev.Status
	}
	if events["AllowTestTraffic"] != cdtypes.LifecycleEventStatusSucceeded || events["AllowTraffic"] != cdtypes.LifecycleEventStatusInProgress {
		t.Errorf("lifecycle = %v", events)
	}

	// After the 5-minute interval all traffic moves; the termination wait begins.
	e.clk.Advance(5 * time.Minute)
	d, tgt := e.status(t, id), e.target(t, id)
	if d.Status != cdtypes.DeploymentStatusInProgress || tgt.Status != cdtypes.TargetStatusSucceeded {
		t.Fatalf("after the canary: deployment %s, target %s; want the termination wait (InProgress + Succeeded)", d.Status, tgt.Status)
	}
	// Finish early.
	if _, err := e.cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(300 * time.Second) // the original task set drains
	if got := e.status(t, id).Status; got != cdtypes.DeploymentStatusSucceeded {
		t.Fatalf("after finishing and draining: %s", got)
	}
	svc, _ := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	s := svc.Services[0]
	if aws.ToString(s.TaskDefinition) != taskDef || len(s.TaskSets) != 1 || aws.ToString(s.TaskSets[0].Status) != "PRIMARY" || aws.ToString(s.TaskSets[0].ExternalId) != id || len(s.Deployments) != 0 {
		t.Errorf("service after success = taskdef %s, task sets %+v", aws.ToString(s.TaskDefinition), s.TaskSets)
	}
	g, _ := e.cd.GetDeploymentGroup(context.Background(), &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String(e.world.Group)})
	if aws.ToString(g.DeploymentGroupInfo.LastSuccessfulDeployment.DeploymentId) != id {
		t.Errorf("lastSuccessfulDeployment = %+v", g.DeploymentGroupInfo.LastSuccessfulDeployment)
	}
}

func TestSecondDeploymentIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	_, first := e.deploy(t, "registry.example/web:2", "")
	ctx := context.Background()
	_, err := e.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String(e.world.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String("version: 0.0")}},
	})
	var limit *cdtypes.DeploymentLimitExceededException
	if !errors.As(err, &limit) {
		// The appspec is invalid too; the limit is checked only for valid ones, so make it valid.
		t.Logf("first error: %v", err)
	}
	td := e.world.TaskDefinitionARN
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + td + "\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	_, err = e.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String(e.world.Group),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
	})
	if !errors.As(err, &limit) || !strings.Contains(err.Error(), first) {
		t.Errorf("second CreateDeployment error = %v, want DeploymentLimitExceededException naming %s", err, first)
	}
}

func TestUnhealthyReplacementRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	taskDef, id := e.deploy(t, "registry.example/web:broken", "")
	e.sim.World().SetTaskDefinitionHealthy(taskDef, false)
	e.clk.Advance(time.Minute)
	d := e.status(t, id)
	if d.Status != cdtypes.DeploymentStatusFailed || d.ErrorInformation == nil || d.ErrorInformation.Code != cdtypes.ErrorCodeEcsUpdateError || d.RollbackInfo == nil {
		t.Fatalf("deployment = %s %+v %+v, want Failed ECS_UPDATE_ERROR with a rollback", d.Status, d.ErrorInformation, d.RollbackInfo)
	}
	rb := aws.ToString(d.RollbackInfo.RollbackDeploymentId)
	// Traffic is back on blue at once; the replacement's failed tasks left
	// their group already, so it has nothing to drain.
	e.clk.Advance(10 * time.Second)
	r := e.status(t, rb)
	if r.Status != cdtypes.DeploymentStatusSucceeded || r.Creator != cdtypes.DeploymentCreatorCodeDeployRollback || aws.ToString(r.RollbackInfo.RollbackTriggeringDeploymentId) != id {
		t.Errorf("rollback = %s by %s %+v", r.Status, r.Creator, r.RollbackInfo)
	}
	svc, _ := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if n := len(svc.Services[0].TaskSets); n != 1 || aws.ToString(svc.Services[0].TaskDefinition) != e.world.TaskDefinitionARN {
		t.Errorf("after rollback: %d task sets, task definition %s", n, aws.ToString(svc.Services[0].TaskDefinition))
	}
	// ECS stopped the failing tasks, and says why, after the task set is gone.
	stopped, err := e.ecs.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(stopped.TaskArns) == 0 {
		t.Fatalf("stopped tasks = %v, %v", stopped, err)
	}
	tasks, err := e.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: stopped.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	healthStops := 0
	for _, task := range tasks.Tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" || task.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated || task.StoppedAt == nil {
			t.Errorf("stopped task %s: %s %s %v", aws.ToString(task.TaskArn), aws.ToString(task.LastStatus), task.StopCode, task.StoppedAt)
		}
		if strings.HasPrefix(aws.ToString(task.StoppedReason), "Task failed ELB health checks in (target-group "+e.world.GreenTargetGroupARN) {
			healthStops++
			if aws.ToString(task.TaskDefinitionArn) != taskDef || aws.ToInt32(task.Containers[0].ExitCode) != 143 {
				t.Errorf("task stopped for health: %s, exit %d", aws.ToString(task.TaskDefinitionArn), aws.ToInt32(task.Containers[0].ExitCode))
			}
		}
	}
	if healthStops < 2 {
		t.Errorf("%d tasks stopped for failed health checks, want the 2 of the replacement", healthStops)
	}
}

func TestReadyWaitAndHooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{ReadyWaitMinutes: 30})
	_, id := e.deploy(t, "registry.example/web:3", "Hooks:\n  - AfterAllowTestTraffic: smoke-fn\n")
	e.clk.Advance(time.Minute)
	hooks := e.sim.World().PendingHooks(id)
	exec, ok := hooks["AfterAllowTestTraffic"]
	if !ok {
		t.Fatalf("pending hooks = %v, want AfterAllowTestTraffic", hooks)
	}
	if _, err := e.cd.PutLifecycleEventHookExecutionStatus(context.Background(), &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: aws.String(id), LifecycleEventHookExecutionId: aws.String(exec), Status: cdtypes.LifecycleEventStatusSucceeded,
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.status(t, id).Status; got != cdtypes.DeploymentStatusReady {
		t.Fatalf("status after the hook = %s, want Ready", got)
	}
	_, err := e.cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeTerminationWait})
	if err == nil {
		t.Error("TERMINATION_WAIT continue at Ready was accepted")
	}
	if _, err := e.cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait}); err != nil {
		t.Fatal(err)
	}
	// All at once, no termination wait: the original task set drains for
	// the deregistration delay (300 s), then the deployment is done.
	if got := e.status(t, id).Status; got != cdtypes.DeploymentStatusInProgress {
		t.Errorf("right after promote: %s, want InProgress while the original drains", got)
	}
	e.clk.Advance(300 * time.Second)
	if got := e.status(t, id).Status; got != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("after promote and the deregistration delay: %s", got)
	}
	var notReady *cdtypes.DeploymentAlreadyCompletedException
	_, err = e.cd.ContinueDeployment(context.Background(), &codedeploy.ContinueDeploymentInput{DeploymentId: aws.String(id), DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait})
	if !errors.As(err, &notReady) {
		t.Errorf("continue after completion: %v", err)
	}
}

func TestStopWithRollback(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{ReadyWaitMinutes: 30})
	_, id := e.deploy(t, "registry.example/web:4", "")
	e.clk.Advance(time.Minute)
	stop, err := e.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id), AutoRollbackEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	// CodeDeploy answers Pending and is done a moment later.
	if stop.Status != cdtypes.StopStatusPending || e.status(t, id).Status != cdtypes.DeploymentStatusReady {
		t.Errorf("StopDeployment = %s, deployment %s; want Pending, still Ready", stop.Status, e.status(t, id).Status)
	}
	e.clk.Advance(2 * time.Second)
	d := e.status(t, id)
	if d.Status != cdtypes.DeploymentStatusStopped || d.ErrorInformation.Code != cdtypes.ErrorCodeManualStop || d.RollbackInfo == nil {
		t.Errorf("stopped deployment = %s %+v %+v", d.Status, d.ErrorInformation, d.RollbackInfo)
	}
	var done *cdtypes.DeploymentAlreadyCompletedException
	if _, err := e.cd.StopDeployment(context.Background(), &codedeploy.StopDeploymentInput{DeploymentId: aws.String(id)}); !errors.As(err, &done) {
		t.Errorf("second stop: %v", err)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	var noDeployment *cdtypes.DeploymentDoesNotExistException
	if _, err := e.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String("d-AAAAAAAAA")}); !errors.As(err, &noDeployment) {
		t.Errorf("GetDeployment(unknown) = %v", err)
	}
	var noGroup *cdtypes.DeploymentGroupDoesNotExistException
	if _, err := e.cd.GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{ApplicationName: aws.String(e.world.Application), DeploymentGroupName: aws.String("nope")}); !errors.As(err, &noGroup) {
		t.Errorf("GetDeploymentGroup(unknown) = %v", err)
	}
	var noCluster *ecstypes.ClusterNotFoundException
	if _, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}}); !errors.As(err, &noCluster) {
		t.Errorf("DescribeServices(unknown cluster) = %v", err)
	}
	missing, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"nope"}})
	if err != nil || len(missing.Failures) != 1 || aws.ToString(missing.Failures[0].Reason) != "MISSING" {
		t.Errorf("DescribeServices(unknown service) = %+v, %v", missing, err)
	}
	var noListener *elbtypes.ListenerNotFoundException
	if _, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{"arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2"}}); !errors.As(err, &noListener) {
		t.Errorf("DescribeListeners(unknown) = %v", err)
	}
	var cdUpdate *ecstypes.InvalidParameterException
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(e.world.TaskDefinitionARN)}); !errors.As(err, &cdUpdate) {
		t.Errorf("UpdateService(task definition) on CODE_DEPLOY = %v", err)
	}
	var badWeight *elbtypes.TargetGroupNotFoundException
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(e.world.ProdListenerARN), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/nope/1")}}})
	if !errors.As(err, &badWeight) {
		t.Errorf("ModifyListener(unknown target group) = %v", err)
	}
}

func TestServiceDeploymentsOfAnECSControlledService(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: aws.String(e.world.TaskDefinitionARN), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	td2, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("api"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("api:2")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: td2.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
	list, err := e.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")})
	if err != nil || len(list.ServiceDeployments) != 2 || list.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusInProgress || list.ServiceDeployments[1].Status != ecstypes.ServiceDeploymentStatusSuccessful {
		t.Fatalf("ListServiceDeployments = %+v, %v", list, err)
	}
	arn := list.ServiceDeployments[0].ServiceDeploymentArn
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: arn, StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	desc, err := e.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(arn), "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/api/nope"}})
	if err != nil || len(desc.ServiceDeployments) != 1 || len(desc.Failures) != 1 || desc.ServiceDeployments[0].Rollback == nil {
		t.Fatalf("DescribeServiceDeployments = %+v, %v", desc, err)
	}
	// The rollback takes back the completed deployment, whose task still
	// runs; the service has no load balancer, so the replaced deployment's
	// task stops at once.
	e.clk.Advance(time.Minute)
	desc, err = e.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(arn)}})
	if err != nil || desc.ServiceDeployments[0].Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful {
		t.Fatalf("DescribeServiceDeployments a minute after the rollback = %+v, %v", desc, err)
	}
	var conflict *ecstypes.ConflictException
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: arn}); !errors.As(err, &conflict) {
		t.Errorf("stopping a finished service deployment = %v, want ConflictException", err)
	}
	var notFound *ecstypes.ServiceDeploymentNotFoundException
	if _, err := e.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:service-deployment/x/y/z")}); !errors.As(err, &notFound) {
		t.Errorf("stopping an unknown service deployment = %v", err)
	}
}
