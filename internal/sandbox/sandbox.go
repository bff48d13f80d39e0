// Package sandbox runs the AWS simulator, an in-memory container registry
// and a seeded blue/green world on loopback, so the real commands, the AWS
// CLI and a local pipeline can run with no AWS account.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-containerregistry/pkg/registry"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// Options configure Start.
type Options struct {
	// AWSAddr and RegistryAddr are the loopback addresses to listen on
	// ("127.0.0.1:0" picks free ports).
	AWSAddr, RegistryAddr string
	// Speed is how much faster than real time the simulated clock runs.
	Speed float64
	// Seed creates the typical world: in cluster prod, the CodeDeploy
	// service web, the listener model's services shop-blue and shop-green,
	// and the ecs model's service orders (ECSService), each behind a load
	// balancer of its own.
	Seed bool
	// Group is how the seeded CodeDeploy deployment group deploys; the zero
	// value is DefaultGroup.
	Group GroupOptions
	Log   *slog.Logger
}

// GroupOptions are the seeded deployment group's settings a user may choose
// (`sandbox serve --ready-action ...`), with CodeDeploy's names.
type GroupOptions struct {
	// DeploymentConfig names the group's deployment configuration.
	DeploymentConfig string
	// ReadyAction is the deploymentReadyOption's actionOnTimeout:
	// STOP_DEPLOYMENT waits at Ready until ContinueDeployment (and stops
	// the deployment after ReadyWaitMinutes); CONTINUE_DEPLOYMENT moves
	// production traffic as soon as the replacement is ready, for tools
	// that never call ContinueDeployment.
	ReadyAction      string
	ReadyWaitMinutes int32
	// TerminationWaitMinutes is how long the original task set stays after
	// production traffic moved.
	TerminationWaitMinutes int32
}

// DefaultGroup is what the sandbox seeds unless told otherwise: a canary
// that waits at Ready for up to an hour until promoted (ecs-bluegreen deploy
// promotes once the test listener's smoke check passed, unless
// BG_PROMOTE=manual).
var DefaultGroup = GroupOptions{
	DeploymentConfig: "CodeDeployDefault.ECSCanary10Percent5Minutes", ReadyAction: "STOP_DEPLOYMENT",
	ReadyWaitMinutes: 60, TerminationWaitMinutes: 5,
}

// withDefaults makes the zero value DefaultGroup and fills the names o
// leaves empty; a termination wait of 0 is kept (terminate at once).
func (o GroupOptions) withDefaults() GroupOptions {
	if o == (GroupOptions{}) {
		return DefaultGroup
	}
	if o.DeploymentConfig == "" {
		o.DeploymentConfig = DefaultGroup.DeploymentConfig
	}
	if o.ReadyAction == "" {
		o.ReadyAction = DefaultGroup.ReadyAction
	}
	switch o.ReadyAction {
	case "STOP_DEPLOYMENT":
		// CodeDeploy needs a wait for STOP_DEPLOYMENT.
		if o.ReadyWaitMinutes == 0 {
			o.ReadyWaitMinutes = DefaultGroup.ReadyWaitMinutes
		}
	case "CONTINUE_DEPLOYMENT":
		o.ReadyWaitMinutes = 0
	}
	return o
}

// Describe says in one sentence what a deployment to the seeded group does.
func (o GroupOptions) Describe() string {
	o = o.withDefaults()
	ready := fmt.Sprintf("waits at Ready until continued (ContinueDeployment, `ecs-bluegreen promote`, or `aws deploy continue-deployment`) and is stopped after %d minutes without it", o.ReadyWaitMinutes)
	if o.ReadyAction == "CONTINUE_DEPLOYMENT" {
		ready = "moves production traffic as soon as the replacement is ready (no ContinueDeployment needed)"
	}
	return fmt.Sprintf("A deployment to the seeded group %s, then shifts traffic by %s and keeps the original task set %d minutes before terminating it.", ready, o.DeploymentConfig, o.TerminationWaitMinutes)
}

// predefinedConfigs are CodeDeploy's ECS deployment configurations.
var predefinedConfigs = []string{
	"CodeDeployDefault.ECSAllAtOnce", "CodeDeployDefault.ECSCanary10Percent5Minutes", "CodeDeployDefault.ECSCanary10Percent15Minutes",
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes", "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
}

// Validate checks the options before anything starts.
func (o GroupOptions) Validate() error {
	o = o.withDefaults()
	if o.ReadyAction != "STOP_DEPLOYMENT" && o.ReadyAction != "CONTINUE_DEPLOYMENT" {
		return fmt.Errorf("the ready action %q is neither STOP_DEPLOYMENT (wait at Ready until continued) nor CONTINUE_DEPLOYMENT (move traffic at once)", o.ReadyAction)
	}
	if !slices.Contains(predefinedConfigs, o.DeploymentConfig) {
		return fmt.Errorf("the deployment configuration %q is not one of CodeDeploy's ECS configurations (%s), the ones a new sandbox has", o.DeploymentConfig, strings.Join(predefinedConfigs, ", "))
	}
	if o.ReadyWaitMinutes < 0 || o.ReadyWaitMinutes > 7200 {
		return fmt.Errorf("the ready wait %d is not between 1 and 7200 minutes", o.ReadyWaitMinutes)
	}
	if o.TerminationWaitMinutes < 0 || o.TerminationWaitMinutes > 2880 {
		return fmt.Errorf("the termination wait %d is not between 0 and 2880 minutes", o.TerminationWaitMinutes)
	}
	return nil
}

// Sandbox is a running simulator and registry.
type Sandbox struct {
	Sim          *awssim.Server
	AWSURL       string
	RegistryHost string
	// World is the CodeDeploy model's service.
	World *seed.World
	// ProdURL and TestURL reach World's listeners through the data plane.
	ProdURL, TestURL string
	// Switch is the listener model's pair of services, in World's cluster.
	Switch *seed.TwoServices
	// SwitchProdURL and SwitchTestURL reach Switch's listeners.
	SwitchProdURL, SwitchTestURL string
	// ECS is the ecs model's service, in World's cluster: ECS deploys it
	// itself (see ECSStrategy).
	ECS *seed.ECSNative
	// ECSProdURL and ECSTestURL reach ECS's listener rules.
	ECSProdURL, ECSTestURL string
	// Group is how the seeded deployment group deploys.
	Group   GroupOptions
	servers []*http.Server
}

// SwitchService is the base name of the listener model's services
// (shop-blue and shop-green), its load balancer and its ECR repository.
const SwitchService = "shop"

// ECSService is the ecs model's service, its load balancer's and target
// groups' base name and its ECR repository.
const ECSService = "orders"

// ECSStrategy says in one sentence how ECS deploys ECSService.
const ECSStrategy = "ECS deploys it LINEAR, 50% a step with 1 simulated minute between steps and a 1-minute bake time, and a PAUSE hook after test traffic moves holds it until ContinueServiceDeployment (`ecs-bluegreen deploy` continues once the test URL's smoke check passed, `promote` with BG_PROMOTE=manual) or rolls it back after 60 minutes"

// ecsNativeOptions are ECSService's: a linear deployment gated by a PAUSE
// hook after test traffic, as docs/ecs-model.md describes the gate.
func ecsNativeOptions(cluster string) seed.ECSNativeOptions {
	return seed.ECSNativeOptions{
		Options:           seed.Options{Cluster: cluster, Service: ECSService, Container: ECSService, DeregistrationDelaySeconds: 30},
		Strategy:          ecstypes.DeploymentStrategyLinear,
		Linear:            &ecstypes.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
		BakeTimeInMinutes: 1,
		Hooks: []ecstypes.DeploymentLifecycleHook{{
			TargetType: ecstypes.DeploymentLifecycleHookTargetTypePause, RoleArn: aws.String("arn:aws:iam::123456789012:role/ecsDeploymentHooks"),
			LifecycleStages:      []ecstypes.DeploymentLifecycleHookStage{ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift},
			TimeoutConfiguration: &ecstypes.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(60), Action: ecstypes.DeploymentLifecycleHookActionRollback},
		}},
	}
}

// registry credentials for the GitLab side of the sandbox.
const (
	gitlabUser     = "gitlab-ci-token"
	gitlabPassword = "sandbox-job-token"
	// sandboxAWSSecret is the secret access key the exports give the AWS
	// CLI and SDKs (the simulator accepts any).
	sandboxAWSSecret = "sandbox"
)

// Start listens and serves until Close.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if err := o.Group.Validate(); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	regLn, err := lc.Listen(ctx, "tcp", defaultAddr(o.RegistryAddr))
	if err != nil {
		return nil, fmt.Errorf("listening for the registry: %w", err)
	}
	awsLn, err := lc.Listen(ctx, "tcp", defaultAddr(o.AWSAddr))
	if err != nil {
		_ = regLn.Close()
		return nil, fmt.Errorf("listening for the AWS simulator: %w", err)
	}
	sb := &Sandbox{RegistryHost: regLn.Addr().String(), AWSURL: "http://" + awsLn.Addr().String(), Group: o.Group.withDefaults()}
	sb.Sim = awssim.New(awssim.WithClock(clock.NewScaled(o.Speed)), awssim.WithRegistryHost(sb.RegistryHost), awssim.WithLogger(o.Log),
		awssim.WithImageStore(newRegistryImages(sb.RegistryHost)))
	ecrUser, ecrPass := sb.Sim.ECRCredentials()
	reg := &basicAuth{next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), users: map[string]string{ecrUser: ecrPass, gitlabUser: gitlabPassword}}
	sb.serve(regLn, reg)
	sb.serve(awsLn, sb.Sim)
	if o.Seed {
		if err := sb.seed(ctx); err != nil {
			sb.Close()
			return nil, fmt.Errorf("seeding the sandbox: %w", err)
		}
	}
	return sb, nil
}

// seed creates both models' services, binds their listeners on the data
// plane and waits until every colour that serves a listener has healthy
// targets, so what Start returns answers at once (a switch refuses a colour
// with none).
func (sb *Sandbox) seed(ctx context.Context) error {
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	clients := seed.Clients{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), CodeDeploy: codedeploy.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg)}
	g := sb.Group
	w, err := seed.Create(ctx, clients, seed.Options{
		DeploymentConfig: g.DeploymentConfig, TerminationWaitMinutes: g.TerminationWaitMinutes,
		// seed waits at Ready (STOP_DEPLOYMENT) when the wait is above 0.
		ReadyWaitMinutes: g.ReadyWaitMinutes,
		// Replaced tasks drain for 30 s instead of ELBv2's 300 s, as ECS
		// services commonly set it: the demo spends its time on deployments.
		DeregistrationDelaySeconds: 30,
	})
	if err != nil {
		return err
	}
	sb.World = w
	sw, err := seed.CreateTwoServices(ctx, clients, seed.TwoServicesOptions{Options: seed.Options{Cluster: w.Cluster, Service: SwitchService, Container: SwitchService, DeregistrationDelaySeconds: 30}})
	if err != nil {
		return fmt.Errorf("the listener model: %w", err)
	}
	sb.Switch = sw
	if _, err := clients.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(SwitchService)}); err != nil {
		return fmt.Errorf("creating the ECR repository %s: %w", SwitchService, err)
	}
	en, err := seed.CreateECSNative(ctx, clients, ecsNativeOptions(w.Cluster))
	if err != nil {
		return fmt.Errorf("the ecs model: %w", err)
	}
	sb.ECS = en
	dp := sb.Sim.DataPlane()
	for _, l := range []struct {
		arn string
		url *string
	}{
		{w.ProdListenerARN, &sb.ProdURL},
		{w.TestListenerARN, &sb.TestURL},
		{sw.ProdListenerARN, &sb.SwitchProdURL},
		{sw.TestListenerARN, &sb.SwitchTestURL},
		{en.ProdListenerARN, &sb.ECSProdURL},
		{en.TestListenerARN, &sb.ECSTestURL},
	} {
		addr, err := dp.Bind(ctx, l.arn, "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("binding the sandbox listeners: %w", err)
		}
		*l.url = "http://" + addr + "/"
	}
	return waitHealthy(ctx, clients.ELB, w.BlueTargetGroupARN, sw.BlueTargetGroupARN, sw.GreenTargetGroupARN, en.BlueTargetGroupARN)
}

// waitHealthy waits until each target group has targets and all of them are
// healthy; tasks start and pass their health checks in simulated time, a
// fraction of a second at the sandbox's speeds.
func waitHealthy(ctx context.Context, api *elb.Client, targetGroups ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, tg := range targetGroups {
		for {
			out, err := api.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
			if err == nil && allHealthy(out.TargetHealthDescriptions) {
				break
			}
			select {
			case <-ctx.Done():
				if err == nil {
					err = ctx.Err()
				}
				return fmt.Errorf("waiting for healthy targets in %s: %w", tg, err)
			case <-tick.C:
			}
		}
	}
	return nil
}

func allHealthy(ds []elbtypes.TargetHealthDescription) bool {
	for _, d := range ds {
		if d.TargetHealth == nil || d.TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
			return false
		}
	}
	return len(ds) > 0
}

func defaultAddr(a string) string {
	if a == "" {
		return "127.0.0.1:0"
	}
	return a
}

func (sb *Sandbox) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	sb.servers = append(sb.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
}

// Close stops the servers.
func (sb *Sandbox) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range sb.servers {
		_ = s.Shutdown(ctx)
	}
	sb.Sim.DataPlane().Close()
}

// Exports are the shell lines that point ecs-bluegreen, the AWS CLI and a
// local pipeline at the sandbox. The BG_ ones name the CodeDeploy model's
// service, so that `ecs-bluegreen status` in a shell that evaluated them reads
// it; the listener model's names come as SANDBOX_SWITCH_* (BG_BLUE_SERVICE in
// that shell would select the listener model for every command), to be passed
// as BG_BLUE_SERVICE, BG_GREEN_SERVICE, BG_LISTENER_ARN, BG_TEST_LISTENER_ARN,
// BG_PROD_URL and BG_TEST_URL, or as the switch component's inputs (see
// SwitchSettings); the ecs model's as SANDBOX_ECS_* (see ECSSettings).
// BG_TEST_URL comes last: scripts wait for it.
func (sb *Sandbox) Exports() []string {
	lines := []string{
		"export AWS_ENDPOINT_URL=" + sb.AWSURL,
		// The SDK's web identity provider ignores the global variable (aws-facts §1.6).
		"export AWS_ENDPOINT_URL_STS=" + sb.AWSURL,
		"export AWS_REGION=eu-west-1",
		"export AWS_DEFAULT_REGION=eu-west-1",
		"export AWS_ACCESS_KEY_ID=sandbox",
		"export AWS_SECRET_ACCESS_KEY=" + sandboxAWSSecret,
		"export CI_REGISTRY=" + sb.RegistryHost,
		"export CI_REGISTRY_IMAGE=" + sb.RegistryHost + "/sandbox/web",
		"export CI_REGISTRY_USER=" + gitlabUser,
		"export CI_REGISTRY_PASSWORD=" + gitlabPassword,
	}
	if w := sb.World; w != nil {
		lines = append(lines,
			"export BG_CLUSTER="+w.Cluster,
			"export BG_SERVICE="+w.Service,
			"export BG_ECR_REPOSITORY="+w.Repository,
		)
	}
	if sw := sb.Switch; sw != nil {
		for _, kv := range sb.SwitchSettings() {
			k, v, _ := strings.Cut(kv, "=")
			if k != "BG_CLUSTER" {
				lines = append(lines, "export SANDBOX_SWITCH_"+strings.TrimPrefix(k, "BG_")+"="+v)
			}
		}
	}
	for _, kv := range sb.ECSSettings() {
		k, v, _ := strings.Cut(kv, "=")
		if k != "BG_CLUSTER" {
			lines = append(lines, "export SANDBOX_ECS_"+strings.TrimPrefix(k, "BG_")+"="+v)
		}
	}
	if w := sb.World; w != nil {
		lines = append(lines,
			"export BG_PROD_URL="+sb.ProdURL,
			"export BG_TEST_URL="+sb.TestURL,
		)
	}
	return lines
}

// SwitchSettings are the settings that point ecs-bluegreen at the listener
// model's services (NAME=value), or nil when the sandbox has none.
func (sb *Sandbox) SwitchSettings() []string {
	sw := sb.Switch
	if sw == nil {
		return nil
	}
	return []string{
		"BG_CLUSTER=" + sw.Cluster,
		"BG_BLUE_SERVICE=" + sw.BlueService,
		"BG_GREEN_SERVICE=" + sw.GreenService,
		"BG_LISTENER_ARN=" + sw.ProdListenerARN,
		"BG_TEST_LISTENER_ARN=" + sw.TestListenerARN,
		"BG_ECR_REPOSITORY=" + SwitchService,
		"BG_PROD_URL=" + sb.SwitchProdURL,
		"BG_TEST_URL=" + sb.SwitchTestURL,
	}
}

// ECSSettings are the settings that point ecs-bluegreen at the ecs model's
// service (NAME=value), or nil when the sandbox has none. BG_MODE is left
// out: the service's deployment controller and strategy select the model.
func (sb *Sandbox) ECSSettings() []string {
	en := sb.ECS
	if en == nil {
		return nil
	}
	return []string{
		"BG_CLUSTER=" + en.Cluster,
		"BG_SERVICE=" + en.Service,
		"BG_ECR_REPOSITORY=" + en.Repository,
		"BG_PROD_URL=" + sb.ECSProdURL,
		"BG_TEST_URL=" + sb.ECSTestURL,
	}
}

// basicAuth guards the registry like GitLab's and ECR's: every request needs
// one of the known user/password pairs.
type basicAuth struct {
	next  http.Handler
	users map[string]string
}

func (b *basicAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || b.users[user] == "" || b.users[user] != pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="ecs-bluegreen sandbox"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	b.next.ServeHTTP(w, r)
}

// String describes the sandbox in one line.
func (sb *Sandbox) String() string {
	return strings.Join([]string{"AWS " + sb.AWSURL, "registry " + sb.RegistryHost}, ", ")
}

// IsPublicCredential tells whether a value is one of the credentials the
// sandbox prints for shells to evaluate (its registry password, its AWS
// keys). They are published, not secrets: a shell that evaluated the
// exports carries them in CI_REGISTRY_PASSWORD and AWS_SECRET_ACCESS_KEY,
// and masking them would turn the next `sandbox serve`'s export lines into
// `[MASKED]`, which then fails every push with 401.
func IsPublicCredential(v string) bool {
	return v == gitlabPassword || v == sandboxAWSSecret
}

// ControlPrefix is the path of the simulator's control endpoint on AWSURL
// (GET <AWSURL>/_awssim/calls: the call log).
const ControlPrefix = awssim.ControlPrefix
