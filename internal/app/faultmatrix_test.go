package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
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
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
)

// The fault matrix: every command, in each way AWS can misbehave, judged by
// the state the run leaves AWS in (read from the simulator once the faults
// are off) as well as by its exit code. Faults are seeded, so a run is the
// same run every time.

// mxProfile is one way AWS misbehaves during the command.
type mxProfile struct {
	name string
	// arm turns the faults on; lose is the operation whose first answer is
	// lost after AWS did the work ("" for none).
	arm  func(f *awssim.Faults)
	lose string
}

var mxProfiles = []mxProfile{
	{name: "none", arm: func(*awssim.Faults) {}},
	{name: "throttle10_5xx5", arm: func(f *awssim.Faults) { f.SetRates(0.10, 0.05, 0) }},
	{name: "dropped5", arm: func(f *awssim.Faults) { f.SetRates(0, 0, 0.05) }},
	{name: "latency300ms", arm: func(f *awssim.Faults) { f.SetLatency(300 * time.Millisecond) }},
	{name: "throttle30", arm: func(f *awssim.Faults) { f.SetRates(0.30, 0, 0) }},
}

// loser does the work of the first call of an operation and then drops the
// connection: the change is made and the client never hears of it.
type loser struct {
	next http.Handler
	mu   sync.Mutex
	op   string // armed: the operation whose next answer is lost
}

func (l *loser) arm(op string) {
	l.mu.Lock()
	l.op = op
	l.mu.Unlock()
}

// operationOf is the AWS operation a request calls.
func operationOf(r *http.Request) string {
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	if op == "" && r.Body != nil { // the query protocol (ELBv2, STS) names it in the form
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if v, err := url.ParseQuery(string(body)); err == nil {
			op = v.Get("Action")
		}
	}
	return op
}

func (l *loser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := operationOf(r)
	l.mu.Lock()
	lose := op != "" && op == l.op
	if lose {
		l.op = ""
	}
	l.mu.Unlock()
	if lose {
		l.next.ServeHTTP(httptest.NewRecorder(), r)
		panic(http.ErrAbortHandler)
	}
	l.next.ServeHTTP(w, r)
}

// mxWorld is one simulator (and, when a scenario needs one, a registry)
// for one run of the matrix.
type mxWorld struct {
	srv    *awssim.Server
	faults *awssim.Faults
	lose   *loser
	url    string
	ecs    *ecs.Client
	elb    *elb.Client
	cd     *codedeploy.Client
	ecr    *ecr.Client
	cdw    *seed.World
	lw     *seed.TwoServices
	reg    string // registry host, or ""
	out    string
	// images pushed to the registry, by name
	images map[string]v1.Hash
	tb     testing.TB
}

func startMatrixWorld(tb testing.TB, sc mxScenario, seedNo uint64) (*mxWorld, error) {
	tb.Helper()
	w := &mxWorld{faults: awssim.NewFaults(seedNo), out: tb.TempDir(), images: map[string]v1.Hash{}, tb: tb}
	opts := []awssim.Option{awssim.WithClock(clock.NewScaled(simSpeed)), awssim.WithFaults(w.faults)}
	if sc.registry {
		rs := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		tb.Cleanup(rs.Close)
		w.reg = strings.TrimPrefix(rs.URL, "http://")
		opts = append(opts, awssim.WithRegistryHost(w.reg))
	}
	w.srv = awssim.New(opts...)
	w.lose = &loser{next: w.srv}
	hs := httptest.NewServer(w.lose)
	tb.Cleanup(hs.Close)
	w.url = hs.URL
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(hs.URL)}
	w.ecs, w.elb, w.cd, w.ecr = ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg), codedeploy.NewFromConfig(cfg), ecr.NewFromConfig(cfg)
	ctx := context.Background()
	clients := seed.Clients{ECS: w.ecs, ELB: w.elb, CodeDeploy: w.cd, ECR: w.ecr}
	var err error
	if sc.listener {
		if w.lw, err = seed.CreateTwoServices(ctx, clients, seed.TwoServicesOptions{}); err != nil {
			return nil, err
		}
		for _, tg := range []string{w.lw.BlueTargetGroupARN, w.lw.GreenTargetGroupARN} {
			if err := w.until(30*time.Second, func() error { return w.healthy(tg, 2) }); err != nil {
				return nil, err
			}
		}
		return w, nil
	}
	if w.cdw, err = seed.Create(ctx, clients, sc.opts); err != nil {
		return nil, err
	}
	return w, w.until(30*time.Second, func() error { return w.healthy(w.cdw.BlueTargetGroupARN, 2) })
}

// until retries check until it passes or d has gone by; the last error.
func (w *mxWorld) until(d time.Duration, check func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (w *mxWorld) healthy(tg string, n int) error {
	h, err := w.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return err
	}
	k := 0
	for _, d := range h.TargetHealthDescriptions {
		if d.TargetHealth.State == "healthy" {
			k++
		}
	}
	if k != n {
		return fmt.Errorf("%d healthy targets in %s, want %d", k, tg, n)
	}
	return nil
}

// environ points a command at the world, codedeploy or listener model.
func (w *mxWorld) environ(extra ...string) []string {
	env := []string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + w.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_CLUSTER=prod", "BG_OUTPUT_DIR=" + w.out, "BG_LOG_LEVEL=info", "HOME=" + w.out,
		"BG_TASKDEF_FILE=" + filepath.Join(w.out, "none.json"), "BG_APPSPEC_FILE=" + filepath.Join(w.out, "none.yml"),
		"CI_PROJECT_PATH=group/web", "CI_PIPELINE_ID=100", "CI_PIPELINE_URL=https://gitlab.example.com/group/web/-/pipelines/100",
	}
	if w.lw != nil {
		env = append(env, "BG_BLUE_SERVICE="+w.lw.BlueService, "BG_GREEN_SERVICE="+w.lw.GreenService,
			"BG_LISTENER_ARN="+w.lw.ProdListenerARN, "BG_TEST_LISTENER_ARN="+w.lw.TestListenerARN)
	} else {
		env = append(env, "BG_SERVICE=web")
	}
	return append(env, extra...)
}

// run runs one command on a clock twenty times faster than the wall clock
// (the simulator's runs 600 times faster), so its polls keep up.
func (w *mxWorld) run(tb testing.TB, environ []string, args ...string) (int, string) {
	tb.Helper()
	code, stdout, stderr := runClocked(tb, newFastClock(20), environ, args...)
	return code, stdout + stderr
}

// ---- reading the state AWS is in ----

func (w *mxWorld) deployments() ([]cdtypes.DeploymentInfo, error) {
	ctx := context.Background()
	out, err := w.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(w.cdw.Application), DeploymentGroupName: aws.String(w.cdw.Group)})
	if err != nil || len(out.Deployments) == 0 {
		return nil, err
	}
	got, err := w.cd.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: out.Deployments})
	if err != nil {
		return nil, err
	}
	ds := got.DeploymentsInfo
	sort.Slice(ds, func(i, j int) bool { return aws.ToTime(ds[i].CreateTime).Before(aws.ToTime(ds[j].CreateTime)) })
	return ds, nil
}

// ours are the deployments whose description carries pipeline 100's marker
// (the tool's own, not the rollback deployments CodeDeploy makes).
func ours(ds []cdtypes.DeploymentInfo) []cdtypes.DeploymentInfo {
	var out []cdtypes.DeploymentInfo
	for _, d := range ds {
		if strings.Contains(aws.ToString(d.Description), "[ecs-bluegreen group/web pipeline 100]") {
			out = append(out, d)
		}
	}
	return out
}

// production is what the codedeploy service runs: the PRIMARY task set's
// task definition and image, its target group, how many task sets there are.
type production struct {
	taskDef, image, targetGroup string
	taskSets                    int
}

func (w *mxWorld) production() (production, error) {
	ctx := context.Background()
	svc, err := w.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		return production{}, err
	}
	var p production
	for _, ts := range svc.Services[0].TaskSets {
		p.taskSets++
		if aws.ToString(ts.Status) == "PRIMARY" {
			p.taskDef = aws.ToString(ts.TaskDefinition)
			if len(ts.LoadBalancers) > 0 {
				p.targetGroup = aws.ToString(ts.LoadBalancers[0].TargetGroupArn)
			}
		}
	}
	if p.taskDef == "" {
		return p, errors.New("the service has no PRIMARY task set")
	}
	p.image, err = w.imageOf(p.taskDef)
	return p, err
}

func (w *mxWorld) imageOf(taskDef string) (string, error) {
	td, err := w.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDef)})
	if err != nil {
		return "", err
	}
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image), nil
}

// weights are a listener's forward weights by target group ARN.
func (w *mxWorld) weights(listener string) (map[string]int32, error) {
	out, err := w.elb.DescribeListeners(context.Background(), &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil {
		return nil, err
	}
	m := map[string]int32{}
	for _, a := range out.Listeners[0].DefaultActions {
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			for _, tg := range a.ForwardConfig.TargetGroups {
				m[aws.ToString(tg.TargetGroupArn)] += aws.ToInt32(tg.Weight)
			}
		} else if a.TargetGroupArn != nil {
			m[aws.ToString(a.TargetGroupArn)] = 1
		}
	}
	total := int32(0)
	for _, v := range m {
		total += v
	}
	for k, v := range m {
		m[k] = v * 100 / max(total, 1)
	}
	return m, nil
}

func (w *mxWorld) activeRevisions() ([]string, error) {
	out, err := w.ecs.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		return nil, err
	}
	return out.TaskDefinitionArns, nil
}

// servesProduction: the codedeploy service runs image and its production
// listener sends all traffic to the PRIMARY task set's target group.
func (w *mxWorld) servesProduction(image string) error {
	p, err := w.production()
	if err != nil {
		return err
	}
	if p.image != image {
		return fmt.Errorf("production runs %s (%s), want %s", p.image, p.taskDef, image)
	}
	wt, err := w.weights(w.cdw.ProdListenerARN)
	if err != nil {
		return err
	}
	if wt[p.targetGroup] != 100 {
		return fmt.Errorf("production listener weights %v, want 100%% on the PRIMARY task set's %s", wt, p.targetGroup)
	}
	return nil
}

// ---- the scenarios ----

// mxRun is what a judge sees: the world after the command, the calls the
// command made, and what AWS held before it.
type mxRun struct {
	w         *mxWorld
	calls     []awssim.Call
	before    []cdtypes.DeploymentInfo
	revisions []string
	prepared  string // the deployment prepare started, if any
}

type mxScenario struct {
	name     string
	listener bool
	registry bool
	opts     seed.Options
	// prepare brings AWS, fault-free, to where the command starts and
	// returns the command's own settings.
	prepare func(w *mxWorld) (env []string, prepared string, err error)
	cmd     string
	env     []string
	want    int
	// judge says what is wrong with the state AWS was left in ("" for
	// nothing); it is retried while AWS finishes what was started.
	judge func(r *mxRun) error
}

const (
	mxImage   = "registry.example/web@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	mxLImage  = "registry.example/web@sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	seedImage = "public.ecr.aws/nginx/nginx:latest"
)

// deployedOnce: exactly one deployment of this pipeline, Succeeded, and
// production runs image.
func deployedOnce(image string) func(r *mxRun) error {
	return func(r *mxRun) error {
		ds, err := r.w.deployments()
		if err != nil {
			return err
		}
		mine := ours(ds[len(r.before):])
		if len(mine) != 1 {
			return fmt.Errorf("%d deployments of this pipeline were created, want 1", len(mine))
		}
		if mine[0].Status != cdtypes.DeploymentStatusSucceeded {
			return fmt.Errorf("deployment %s is %s, want Succeeded", aws.ToString(mine[0].DeploymentId), mine[0].Status)
		}
		if err := atMostOneRevision(r); err != nil {
			return err
		}
		return r.w.servesProduction(image)
	}
}

// atMostOneRevision: a deploy registers one task definition revision at
// most, however its answer was lost.
func atMostOneRevision(r *mxRun) error {
	revs, err := r.w.activeRevisions()
	if err != nil {
		return err
	}
	if n := len(revs) - len(r.revisions); n > 1 {
		return fmt.Errorf("%d task definition revisions registered, want at most 1: %v", n, revs)
	}
	return nil
}

// endedAs: the deployment prepare started ended with status, no deployment
// of this pipeline was created, and production runs image.
func endedAs(status cdtypes.DeploymentStatus, image string) func(r *mxRun) error {
	return func(r *mxRun) error {
		ds, err := r.w.deployments()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if aws.ToString(d.DeploymentId) == r.prepared && d.Status != status {
				return fmt.Errorf("deployment %s is %s, want %s", r.prepared, d.Status, status)
			}
		}
		if mine := ours(ds[len(r.before):]); len(mine) != 0 {
			return fmt.Errorf("the command created %d deployments, want none", len(mine))
		}
		return r.w.servesProduction(image)
	}
}

// failedBack: this pipeline's one deployment was stopped or failed, and
// production is back on image.
func failedBack(image string) func(r *mxRun) error {
	return func(r *mxRun) error {
		ds, err := r.w.deployments()
		if err != nil {
			return err
		}
		mine := ours(ds[len(r.before):])
		if len(mine) != 1 {
			return fmt.Errorf("%d deployments of this pipeline were created, want 1", len(mine))
		}
		if st := mine[0].Status; st != cdtypes.DeploymentStatusStopped && st != cdtypes.DeploymentStatusFailed {
			return fmt.Errorf("deployment %s is %s, want Stopped or Failed", aws.ToString(mine[0].DeploymentId), st)
		}
		return r.w.servesProduction(image)
	}
}

// changedNothing: the command made no call that changes AWS, and
// production still runs the seeded image.
func changedNothing(r *mxRun) error {
	if m := mutating(r.calls); len(m) > 0 {
		return fmt.Errorf("calls that change AWS: %v", m)
	}
	return r.w.servesProduction(seedImage)
}

// startTo starts a deployment of a new revision directly (no tool) and
// waits until it reaches the state ready says.
func (w *mxWorld) startTo(image, what string, ready func(id string) error) (string, error) {
	ctx := context.Background()
	td, err := w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(image), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		return "", err
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	out, err := w.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(w.cdw.Application), DeploymentGroupName: aws.String(w.cdw.Group),
		Revision:    &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
		Description: aws.String("started by hand"),
	})
	if err != nil {
		return "", err
	}
	id := aws.ToString(out.DeploymentId)
	if err := w.until(60*time.Second, func() error { return ready(id) }); err != nil {
		return "", fmt.Errorf("waiting for %s: %w", what, err)
	}
	return id, nil
}

func (w *mxWorld) status(id string, want cdtypes.DeploymentStatus) error {
	d, err := w.cd.GetDeployment(context.Background(), &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return err
	}
	if d.DeploymentInfo.Status != want {
		return fmt.Errorf("deployment %s is %s", id, d.DeploymentInfo.Status)
	}
	return nil
}

func (w *mxWorld) atReady(image string) ([]string, string, error) {
	id, err := w.startTo(image, "Ready", func(id string) error { return w.status(id, cdtypes.DeploymentStatusReady) })
	return nil, id, err
}

// trafficMoved starts a deployment and waits until production traffic has
// moved and the original task set waits for its termination.
func (w *mxWorld) trafficMoved(image string) ([]string, string, error) {
	id, err := w.startTo(image, "the termination wait", func(id string) error {
		if err := w.status(id, cdtypes.DeploymentStatusInProgress); err != nil {
			return err
		}
		p, err := w.production()
		if err != nil {
			return err
		}
		wt, err := w.weights(w.cdw.ProdListenerARN)
		if err != nil {
			return err
		}
		if p.image != image || wt[p.targetGroup] != 100 || p.taskSets != 2 {
			return fmt.Errorf("production on %s with weights %v, %d task sets", p.image, wt, p.taskSets)
		}
		return nil
	})
	return nil, id, err
}

// twoReleases deploys two images by two pipelines (90 and 91) through the
// registry, so its live and previous tags name them.
func (w *mxWorld) twoReleases() ([]string, string, error) {
	for i, n := range []string{"a", "b"} {
		d, err := w.push("group/web", n)
		if err != nil {
			return nil, "", err
		}
		w.images[n] = d
		env := w.environ(append(w.registryEnv(), "BG_IMAGE="+w.reg+"/group/web@"+d.String(), fmt.Sprintf("CI_PIPELINE_ID=%d", 90+i))...)
		if code, log := w.run(w.tb, env, "deploy"); code != ExitOK {
			return nil, "", fmt.Errorf("deploying %s: exit %d\n%s", n, code, log)
		}
	}
	return w.registryEnv(), "", nil
}

// push puts a random image into the registry's repo and returns its digest.
func (w *mxWorld) push(repo, tag string) (v1.Hash, error) {
	img, err := random.Image(512, 1)
	if err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(w.reg + "/" + repo + ":" + tag)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

func (w *mxWorld) registryEnv() []string {
	return []string{"CI_REGISTRY=" + w.reg, "CI_REGISTRY_IMAGE=" + w.reg + "/group/web", "CI_REGISTRY_USER=gitlab-ci-token", "CI_REGISTRY_PASSWORD=job-token"}
}

// tagged: every repo has every tag on digest.
func (w *mxWorld) tagged(digest v1.Hash, repos []string, tags ...string) error {
	for _, repo := range repos {
		for _, tag := range tags {
			ref, err := name.NewTag(w.reg + "/" + repo + ":" + tag)
			if err != nil {
				return err
			}
			d, err := remote.Head(ref)
			if err != nil {
				return fmt.Errorf("%s: %w", ref, err)
			}
			if d.Digest != digest {
				return fmt.Errorf("%s is %s, want %s", ref, d.Digest, digest)
			}
		}
	}
	return nil
}

// listenerState: the listener model's production listener sends all
// traffic to prod's target group, the test listener to test's, and the
// green service runs greenImage.
func (w *mxWorld) listenerState(prod, test, greenImage string) error {
	tgs := map[string]string{"blue": w.lw.BlueTargetGroupARN, "green": w.lw.GreenTargetGroupARN}
	for listener, colour := range map[string]string{w.lw.ProdListenerARN: prod, w.lw.TestListenerARN: test} {
		wt, err := w.weights(listener)
		if err != nil {
			return err
		}
		if wt[tgs[colour]] != 100 {
			return fmt.Errorf("listener %s weights %v, want 100%% on %s", listener, wt, colour)
		}
	}
	svc, err := w.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{w.lw.GreenService}})
	if err != nil {
		return err
	}
	img, err := w.imageOf(aws.ToString(svc.Services[0].TaskDefinition))
	if err != nil {
		return err
	}
	if img != greenImage {
		return fmt.Errorf("green runs %s, want %s", img, greenImage)
	}
	return nil
}

func mxScenarios() []mxScenario {
	failing := "http://127.0.0.1:1/health" // nothing listens: every probe fails
	return []mxScenario{
		{name: "deploy_all_at_once", cmd: "deploy", env: []string{"BG_IMAGE=" + mxImage}, want: ExitOK, judge: deployedOnce(mxImage)},
		{
			name: "deploy_canary", opts: seed.Options{DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes"},
			cmd: "deploy", env: []string{"BG_IMAGE=" + mxImage}, want: ExitOK, judge: deployedOnce(mxImage),
		},
		{
			name: "deploy_failing_test_check", opts: seed.Options{ReadyWaitMinutes: 1440},
			cmd: "deploy", env: []string{"BG_IMAGE=" + mxImage, "BG_TEST_URL=" + failing, "BG_SMOKE_INTERVAL=10ms", "BG_SMOKE_MAX_FAILURES=2"},
			want: ExitFailed, judge: failedBack(seedImage),
		},
		{
			name: "deploy_timeout", opts: seed.Options{TerminationWaitMinutes: 1440},
			cmd: "deploy", env: []string{"BG_IMAGE=" + mxImage, "BG_TIMEOUT=20s", "BG_ON_TIMEOUT=rollback"},
			want: ExitTimeout, judge: failedBack(seedImage),
		},
		{
			name: "deploy_bad_input", cmd: "deploy", want: ExitUsage,
			env:   []string{"BG_IMAGE=" + mxImage, "BG_CONTAINER_NAME=nope"},
			judge: func(r *mxRun) error { return errors.Join(changedNothing(r), atMostOneRevision(r)) },
		},
		{
			// Pipeline 101 deployed first; pipeline 100's deploy comes after
			// it and is refused before it changes anything.
			name: "deploy_outdated", cmd: "deploy", env: []string{"BG_IMAGE=" + mxImage}, want: ExitUsage,
			prepare: func(w *mxWorld) ([]string, string, error) {
				if code, log := w.run(w.tb, w.environ("BG_IMAGE="+mxLImage, "CI_PIPELINE_ID=101"), "deploy"); code != ExitOK {
					return nil, "", fmt.Errorf("pipeline 101's deploy: exit %d\n%s", code, log)
				}
				return nil, "", nil
			},
			judge: func(r *mxRun) error {
				if m := mutating(r.calls); len(m) > 0 {
					return fmt.Errorf("calls that change AWS: %v", m)
				}
				return r.w.servesProduction(mxLImage)
			},
		},
		{
			name: "promote", opts: seed.Options{ReadyWaitMinutes: 1440},
			prepare: func(w *mxWorld) ([]string, string, error) { return w.atReady(mxImage) },
			cmd:     "promote", want: ExitOK, judge: endedAs(cdtypes.DeploymentStatusSucceeded, mxImage),
		},
		{
			name: "rollback_in_flight", opts: seed.Options{ReadyWaitMinutes: 1440},
			prepare: func(w *mxWorld) ([]string, string, error) { return w.atReady(mxImage) },
			cmd:     "rollback", want: ExitOK, judge: endedAs(cdtypes.DeploymentStatusStopped, seedImage),
		},
		{
			name: "rollback_after_finish", registry: true,
			prepare: func(w *mxWorld) ([]string, string, error) { return w.twoReleases() },
			cmd:     "rollback", want: ExitOK,
			judge: func(r *mxRun) error {
				ds, err := r.w.deployments()
				if err != nil {
					return err
				}
				mine := ours(ds[len(r.before):])
				if len(mine) != 1 || mine[0].Status != cdtypes.DeploymentStatusSucceeded || !strings.Contains(aws.ToString(mine[0].Description), deploy.RedeployMarker) {
					return fmt.Errorf("deployments of the rollback: %s, want one redeployment Succeeded", describeAll(mine))
				}
				return r.w.servesProduction(r.w.reg + "/group/web@" + r.w.images["a"].String())
			},
		},
		{
			// The rollback job of the same pipeline, run again after it
			// succeeded, changes nothing (the second press must not undo the
			// first).
			name: "rollback_retried", registry: true,
			prepare: func(w *mxWorld) ([]string, string, error) {
				env, _, err := w.twoReleases()
				if err != nil {
					return nil, "", err
				}
				if code, log := w.run(w.tb, w.environ(env...), "rollback"); code != ExitOK {
					return nil, "", fmt.Errorf("the first rollback: exit %d\n%s", code, log)
				}
				return env, "", nil
			},
			cmd: "rollback", want: ExitOK,
			judge: func(r *mxRun) error {
				ds, err := r.w.deployments()
				if err != nil {
					return err
				}
				if mine := ours(ds[len(r.before):]); len(mine) != 0 {
					return fmt.Errorf("the retried rollback created %s, want nothing", describeAll(mine))
				}
				return r.w.servesProduction(r.w.reg + "/group/web@" + r.w.images["a"].String())
			},
		},
		{
			name: "finish_after_it_ended", opts: seed.Options{TerminationWaitMinutes: 1},
			prepare: func(w *mxWorld) ([]string, string, error) {
				id, err := w.startTo(mxImage, "the end of the deployment", func(id string) error { return w.status(id, cdtypes.DeploymentStatusSucceeded) })
				return []string{"BG_DEPLOYMENT_ID=" + id}, id, err
			},
			cmd: "finish", want: ExitOK,
			judge: func(r *mxRun) error {
				if m := mutating(r.calls); len(m) > 0 {
					return fmt.Errorf("calls that change AWS: %v", m)
				}
				return endedAs(cdtypes.DeploymentStatusSucceeded, mxImage)(r)
			},
		},
		{
			name: "finish", opts: seed.Options{TerminationWaitMinutes: 1440},
			prepare: func(w *mxWorld) ([]string, string, error) { return w.trafficMoved(mxImage) },
			cmd:     "finish", want: ExitOK,
			judge: func(r *mxRun) error {
				if err := endedAs(cdtypes.DeploymentStatusSucceeded, mxImage)(r); err != nil {
					return err
				}
				p, err := r.w.production()
				if err != nil {
					return err
				}
				if p.taskSets != 1 {
					return fmt.Errorf("%d task sets left, want the original gone", p.taskSets)
				}
				return nil
			},
		},
		{name: "status", cmd: "status", want: ExitOK, judge: changedNothing},
		{name: "verify", cmd: "verify", want: ExitOK, judge: changedNothing},
		{
			name: "verify_finding", cmd: "verify", want: ExitVerify, judge: changedNothing,
			// The production URL answers 503: a real finding.
			env: []string{"BG_PROD_URL=" + failing},
		},
		{
			name: "cleanup", cmd: "cleanup", want: ExitOK,
			prepare: func(w *mxWorld) ([]string, string, error) {
				for i := range 14 {
					if _, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
						Family: aws.String("web"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(fmt.Sprintf("web:%d", i))}},
					}); err != nil {
						return nil, "", err
					}
				}
				return []string{"BG_DELETE_INACTIVE=true"}, "", nil
			},
			judge: func(r *mxRun) error {
				revs, err := r.w.activeRevisions()
				if err != nil {
					return err
				}
				if len(revs) != 11 || !slices.ContainsFunc(revs, func(s string) bool { return strings.HasSuffix(s, "/web:1") }) {
					return fmt.Errorf("active revisions %v, want web:1 (in use) and the newest 10", revs)
				}
				return r.w.servesProduction(seedImage)
			},
		},
		{
			name: "release", registry: true, cmd: "release", want: ExitOK,
			prepare: func(w *mxWorld) ([]string, string, error) {
				d, err := w.push("group/web", "main")
				if err != nil {
					return nil, "", err
				}
				w.images["main"] = d
				return append(w.registryEnv(), "BG_IMAGE="+w.reg+"/group/web:main", "CI_COMMIT_SHA=0123456789abcdef", "BG_ECR_REPOSITORY=shop", "BG_ECR_CREATE=true"), "", nil
			},
			judge: func(r *mxRun) error {
				return r.w.tagged(r.w.images["main"], []string{"group/web", "shop"}, "0123456789abcdef", "candidate")
			},
		},
		{
			name: "listener_deploy", listener: true, cmd: "deploy", env: []string{"BG_IMAGE=" + mxLImage}, want: ExitOK,
			judge: func(r *mxRun) error { return r.w.listenerState("blue", "green", mxLImage) },
		},
		{
			name: "listener_switch", listener: true, cmd: "switch", want: ExitOK,
			prepare: func(w *mxWorld) ([]string, string, error) {
				if code, log := w.run(w.tb, w.environ("BG_IMAGE="+mxLImage), "deploy"); code != ExitOK {
					return nil, "", fmt.Errorf("deploying the idle colour: exit %d\n%s", code, log)
				}
				return []string{"BG_SWITCH_STEPS=50,100", "BG_SWITCH_INTERVAL=2s"}, "", nil
			},
			judge: func(r *mxRun) error { return r.w.listenerState("green", "blue", mxLImage) },
		},
	}
}

func describeAll(ds []cdtypes.DeploymentInfo) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s %s %q", aws.ToString(d.DeploymentId), d.Status, aws.ToString(d.Description)))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// mxResult is one run of the matrix.
type mxResult struct {
	row, wrong string
	took       time.Duration
}

// runMatrixRow runs one scenario under one profile on a world of its own
// and says what was wrong ("" for nothing). It returns the mutating
// operations the command made, for the lost-answer rows.
func runMatrixRow(t *testing.T, sc mxScenario, p mxProfile, seedNo uint64) (wrongs string, ops []string, changes int) {
	t.Helper()
	w, err := startMatrixWorld(t, sc, seedNo)
	if err != nil {
		return "starting the world: " + err.Error(), nil, 0
	}
	r := &mxRun{w: w}
	env := append([]string{}, sc.env...)
	if sc.prepare != nil {
		extra, prepared, err := sc.prepare(w)
		if err != nil {
			return "prepare: " + err.Error(), nil, 0
		}
		env, r.prepared = append(env, extra...), prepared
	}
	if w.cdw != nil {
		if r.before, err = w.deployments(); err != nil {
			return "reading deployments: " + err.Error(), nil, 0
		}
		if r.revisions, err = w.activeRevisions(); err != nil {
			return "reading revisions: " + err.Error(), nil, 0
		}
	}
	start := len(w.srv.Calls())
	p.arm(w.faults)
	w.lose.arm(p.lose)
	code, out := w.run(t, w.environ(env...), sc.cmd)
	w.faults.Reset()
	w.lose.arm("")
	r.calls = w.srv.Calls()[start:]
	var wrong []string
	if code != sc.want {
		wrong = append(wrong, fmt.Sprintf("exit %d, want %d", code, sc.want))
	}
	if p.lose != "" && !slices.ContainsFunc(r.calls, func(c awssim.Call) bool { return c.Operation == p.lose }) {
		wrong = append(wrong, "the command never called "+p.lose+": the row proves nothing")
	}
	if err := w.until(20*time.Second, func() error { return sc.judge(r) }); err != nil {
		wrong = append(wrong, "AWS state: "+err.Error())
	}
	for _, m := range mutating(r.calls) {
		_, op, _ := strings.Cut(m, ":")
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	changes = len(mutating(r.calls))
	if len(wrong) > 0 {
		return strings.Join(wrong, "; ") + "\n" + tail(out, 40), ops, changes
	}
	return "", ops, changes
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestFaultMatrix runs every command under every fault profile, and under
// a lost answer to each call that changes AWS the command makes (found
// from its fault-free run), each on a simulator of its own. A run is right
// when its exit code is the scenario's and AWS is in the state the
// scenario says. Runs go several at a time: most of their time is spent
// waiting on the simulator's clock and the injected latency.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the fault matrix runs every command many times")
	}
	began := time.Now()
	sem := make(chan struct{}, 6)
	var (
		mu      sync.Mutex
		results []mxResult
		wg      sync.WaitGroup
		// badInputChanges counts the calls that change AWS made by runs
		// refused as bad input (exit 2): DESIGN says none.
		badInputChanges int
	)
	record := func(row, wrong string, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		results = append(results, mxResult{row: row, wrong: wrong, took: took})
	}
	var runRow func(sc mxScenario, p mxProfile, seedNo uint64)
	runRow = func(sc mxScenario, p mxProfile, seedNo uint64) {
		defer wg.Done()
		sem <- struct{}{}
		t0 := time.Now()
		wrong, ops, changes := runMatrixRow(t, sc, p, seedNo)
		<-sem
		if sc.want == ExitUsage {
			mu.Lock()
			badInputChanges += changes
			mu.Unlock()
		}
		record(sc.name+"/"+p.name, wrong, time.Since(t0))
		if p.name != "none" {
			return
		}
		for _, op := range ops {
			wg.Add(1)
			go runRow(sc, mxProfile{name: "lost_" + op, arm: func(*awssim.Faults) {}, lose: op}, seedNo)
		}
	}
	only := os.Getenv("BG_FAULT_MATRIX_ONLY") // a scenario name, to run one row set
	for i, sc := range mxScenarios() {
		if only != "" && sc.name != only {
			continue
		}
		for j, p := range mxProfiles {
			wg.Add(1)
			go runRow(sc, p, uint64(100*i+j+1)) //nolint:gosec // small indices
		}
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].row < results[j].row })
	wrong := 0
	for _, r := range results {
		if r.wrong != "" {
			wrong++
			t.Errorf("%s (%s): %s", r.row, r.took.Round(time.Millisecond), r.wrong)
		}
	}
	summary := fmt.Sprintf("fault matrix: %d runs, %d wrong outcomes, %d mutating calls after bad input, in %s", len(results), wrong, badInputChanges, time.Since(began).Round(time.Second))
	t.Log(summary)
	if os.Getenv("BG_FAULT_MATRIX_VERBOSE") != "" {
		for _, r := range results {
			t.Logf("  %-50s %6s %v", r.row, r.took.Round(100*time.Millisecond), r.wrong == "")
		}
	}
}
