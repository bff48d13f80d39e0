package deploy

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

// Model is one deployment model (DESIGN §2): the commands that act on what
// is live, each as that model does it. internal/app chooses one per run from
// the settings, so no command tells the models apart on its own.
type Model interface {
	// Deploy renders and registers the task definition, brings the new
	// version up and moves production to it (or leaves that to a button).
	Deploy(ctx context.Context) error
	// Promote lets a waiting deployment move production traffic. to is the
	// listener model's colour (empty: the prepared or idle one).
	Promote(ctx context.Context, to snapshot.Colour) error
	// Rollback sends production back to the previous version.
	Rollback(ctx context.Context) error
	// Finish ends the wait before the old colour goes.
	Finish(ctx context.Context) error
	// Switch points production at colour to (empty: the prepared or idle one).
	Switch(ctx context.Context, to snapshot.Colour) error
	// Snapshot reads both colours: status, verify and the reports read it.
	Snapshot(ctx context.Context) (*snapshot.Snapshot, error)
	// Services are the ECS services whose task definitions are in use.
	Services() []string
}

// Variables the models leave in deploy.env for the later jobs of the
// pipeline. BG_* names are settings those jobs read; the others are for
// people and scripts (only BG_* names are checked against the settings).
const (
	EnvDeploymentID   = "BG_DEPLOYMENT_ID"
	EnvImage          = "BG_IMAGE"
	EnvTaskDefinition = "ECS_BLUEGREEN_TASK_DEFINITION"
	EnvOutcome        = "ECS_BLUEGREEN_OUTCOME"
	// EnvLiveColour is the colour serving production; EnvIdleColour the one
	// deploy brought up for the switch (which switch then targets by default).
	EnvLiveColour = "ECS_BLUEGREEN_LIVE_COLOUR"
	EnvIdleColour = "ECS_BLUEGREEN_IDLE_COLOUR"
	// EnvProdURL and EnvTestURL are BG_PROD_URL and BG_TEST_URL when set,
	// else the load balancer's address for the production and test
	// listeners. They are not BG_ settings, so a later job never
	// smoke-checks a URL nobody asked it to.
	EnvProdURL = "ECS_BLUEGREEN_PROD_URL"
	EnvTestURL = "ECS_BLUEGREEN_TEST_URL"
)

// The AWS clients the models use, as the parts they call.
type (
	// ECSAPI is the ECS client.
	ECSAPI interface {
		listenerECS
		DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
		RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
		taskReader
		ecsNativeAPI
	}
	// ELBAPI is the Elastic Load Balancing v2 client.
	ELBAPI interface {
		listenerELB
		routeAPI
		DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
		DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, optFns ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
		targetGroupAttributesAPI
	}
	// CodeDeployAPI is the CodeDeploy client.
	CodeDeployAPI interface {
		codeDeployAPI
		ListDeploymentTargets(ctx context.Context, in *codedeploy.ListDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
		BatchGetDeploymentTargets(ctx context.Context, in *codedeploy.BatchGetDeploymentTargetsInput, optFns ...func(*codedeploy.Options)) (*codedeploy.BatchGetDeploymentTargetsOutput, error)
	}
	// AlarmAPI is the CloudWatch client.
	AlarmAPI = alarmReader
)

// Clients are the run's AWS clients.
type Clients struct {
	ECS        ECSAPI
	ELB        ELBAPI
	CodeDeploy CodeDeployAPI
	CloudWatch AlarmAPI
	Region     string
}

// Settings are the families a model reads; a family the command does not
// read is nil (status and verify read no Watch or Deployment).
type Settings struct {
	Target     *config.Target
	CodeDeploy *config.CodeDeploy
	Deployment *config.Deployment
	Watch      *config.Watch
	Checks     *config.Checks
	Switch     *config.Switch
	// Image is BG_IMAGE as given, and its digest when it is pinned by one.
	Image, ImageDigest string
	// History is how many of the last deployments a snapshot reads
	// (BG_HISTORY; 0 for commands that report no history).
	History int
}

// CI is what the models need of the job that runs them.
type CI struct {
	InCI                           bool
	JobURL, PipelineURL, CommitSHA string
	// Origin marks this run's deployments (deploy.Origin, else BG_RUN_ID);
	// empty when nothing says, and then a retried job cannot tell its own
	// deployment from another's.
	Origin string
	// Redeploy is set when this deploy is rollback's redeploy of the
	// previous image: it goes into the deployment's description.
	Redeploy string
	// JobTimeout is CI_JOB_TIMEOUT; Inputs name the component inputs behind
	// the timing settings (for Deadline's messages).
	JobTimeout string
	// JobEnd is when the job's time runs out (CI_JOB_TIMEOUT less a margin),
	// zero when unknown: a stop after an interrupt keeps trying until then.
	JobEnd time.Time
	// TaskDefinition is the task definition this pipeline's deploy left in
	// deploy.env (EnvTaskDefinition): a rollback goes back only from it.
	TaskDefinition string
	Inputs         Inputs
	// Err is why the job's CI_* context could not be read: deploy refuses
	// to start with it, rollback then cannot recognise its own work.
	Err error
}

// Reports writes what a command leaves behind (internal/report does it).
type Reports interface {
	// Dotenv merges vars into deploy.env.
	Dotenv(vars map[string]string) error
	// Artifact writes one file into the output folder.
	Artifact(name string, data []byte) error
	// Status adds the registry tags to s, writes the status reports and
	// the live colour, and prints the status on stdout.
	Status(ctx context.Context, s *snapshot.Snapshot) error
}

// Tags moves the registries' live and previous tags (internal/image does it).
type Tags interface {
	// Released reports whether an image reference is in one of the
	// repositories release copies to.
	Released(image string) bool
	// MoveLive points the live tag at digest, and previous at what was
	// live, in every configured registry.
	MoveLive(ctx context.Context, digest string) error
	// Previous is the image the previous tag names, pinned by digest.
	Previous(ctx context.Context) (string, error)
	// MoveColours points the blue and green tags at the image each colour
	// of s runs; a failure is logged, not returned (traffic already moved).
	MoveColours(ctx context.Context, s *snapshot.Snapshot)
}

// Deps is everything a model is built from.
type Deps struct {
	Clients  Clients
	Settings Settings
	CI       CI
	Log      *slog.Logger
	Clock    monitor.Clock
	// Progress prints one line of deployment progress.
	Progress func(at time.Time, line string)
	// Section opens a collapsible section of the job log.
	Section func(name, header string, collapsed bool) (end func())
	// Render runs the render pipeline with live as the service to fall
	// back on and compare with.
	Render  func(ctx context.Context, live render.Live) (*render.Rendered, error)
	Reports Reports
	// Tags is nil when the command reads no registry settings.
	Tags Tags
	// Redeploy runs deploy again with another image: rollback's way back
	// when no deployment is in progress.
	Redeploy func(ctx context.Context, image string) error
	// Interrupted tells a signal apart from a failure: when ctx was
	// cancelled by one, the error carries it (exit 130/143).
	Interrupted func(ctx context.Context, err error) error
}

func (d *Deps) interrupted(ctx context.Context, err error) error {
	if d.Interrupted == nil {
		return err
	}
	return d.Interrupted(ctx, err)
}

// moveLiveTags points the registries' live tag at the deployed image and the
// previous tag at what was live before. An image given by tag is left
// alone: only a digest says what actually runs.
func (d *Deps) moveLiveTags(ctx context.Context) error {
	if d.Tags == nil {
		return nil
	}
	if d.Settings.ImageDigest == "" {
		d.Log.Info("the image is not pinned by digest: registry tags are left as they are", "image", d.Settings.Image)
		return nil
	}
	return d.Tags.MoveLive(ctx, d.Settings.ImageDigest)
}

func (d *Deps) progress(line string) {
	if d.Progress != nil {
		d.Progress(d.clock().Now(), line)
	}
}

func (d *Deps) clock() monitor.Clock {
	if d.Clock == nil {
		return monitor.RealClock{}
	}
	return d.Clock
}

func (d *Deps) section(name, header string, collapsed bool) func() {
	if d.Section == nil {
		return func() {}
	}
	return d.Section(name, header, collapsed)
}

// deadline is how long to watch (Deadline), from BG_TIMEOUT and the job's
// CI_JOB_TIMEOUT.
func (d *Deps) deadline(w *config.Watch, est *Estimate) (time.Duration, error) {
	return Deadline(w.Timeout, d.CI.JobTimeout, est, d.CI.Inputs, d.Log)
}

// UsageError is a command that does not apply as asked: exit 2, nothing
// changed.
type UsageError struct{ Msg, Hint string }

func (e *UsageError) Error() string { return e.Msg }

// ExitCode is 2.
func (e *UsageError) ExitCode() int { return 2 }

// ErrorHint says what to do instead.
func (e *UsageError) ErrorHint() string { return e.Hint }

// WaitTimeoutError is a wait that ran out of time before anything reached
// production: exit 3.
type WaitTimeoutError struct{ Msg string }

func (e *WaitTimeoutError) Error() string { return e.Msg }

// ExitCode is 3.
func (e *WaitTimeoutError) ExitCode() int { return 3 }

// registerRendered registers the rendered task definition (or reuses an
// identical latest revision), names it in the AppSpec, and keeps both files
// as artifacts, exactly as registered and sent, so a failed deployment can be
// read against what it was given. It returns the AppSpec's content.
func (d *Deps) registerRendered(ctx context.Context, r *render.Rendered) (render.Registered, []byte, error) {
	reg, err := render.Register(ctx, d.Clients.ECS, r.TaskDef)
	if err != nil {
		return reg, nil, err
	}
	if reg.Reused {
		d.Log.Info("task definition unchanged: reusing the latest revision", "task_definition", reg.ARN)
	} else {
		d.Log.Info("registered task definition", "task_definition", reg.ARN)
	}
	if err := r.AppSpec.Set(reg.ARN, "", 0); err != nil {
		return reg, nil, err
	}
	spec, err := r.AppSpec.YAML()
	if err != nil {
		return reg, nil, err
	}
	return reg, spec, WriteRendered(d.Reports.Artifact, r.TaskDef, spec)
}

// containersOf is what a snapshot shows of a task definition: its
// containers' names and images, in order.
func containersOf(td *render.TaskDef) []snapshot.Container {
	var out []snapshot.Container
	for _, c := range td.Containers() {
		out = append(out, snapshot.Container{Name: c[0], Image: c[1]})
	}
	return out
}

// WriteRendered writes taskdef.json and appspec.yml through write.
func WriteRendered(write func(name string, data []byte) error, td *render.TaskDef, appSpec []byte) error {
	data, err := td.JSON()
	if err != nil {
		return err
	}
	if err := write("taskdef.json", data); err != nil {
		return err
	}
	return write("appspec.yml", appSpec)
}

// SmokeFor is the smoke check of URL u with the checks' settings; nil when
// u is not set.
func SmokeFor(c *config.Checks, u config.URL) *verify.Smoke {
	if c == nil || u.IsZero() {
		return nil
	}
	return &verify.Smoke{
		URL: u.URL, Pass: c.SmokeStatus.Contains, PassText: c.SmokeStatus.String(), Body: c.SmokeBody.Regexp,
		Host: c.SmokeHost, Successes: c.SmokeSuccesses, MaxFailures: c.SmokeFailures,
		Interval: c.SmokeInterval, Timeout: c.SmokeTimeout,
	}
}
