package config

import (
	"regexp"
	"strings"
	"time"
)

// AWS says how to reach AWS: region and, for GitLab OIDC, the role and token.
// Endpoints (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) and static
// credentials are read by the SDK itself.
type AWS struct {
	Region        string `env:"AWS_REGION" desc:"AWS region of the cluster, such as eu-west-1."`
	DefaultRegion string `env:"AWS_DEFAULT_REGION" desc:"Region used when AWS_REGION is unset."`
	RoleARN       ARN    `env:"BG_AWS_ROLE_ARN" desc:"IAM role to assume with the GitLab ID token (OIDC web identity). Needs BG_ID_TOKEN."`
	IDToken       Secret `env:"BG_ID_TOKEN" secret:"true" desc:"GitLab ID token (from id_tokens) exchanged for the role's credentials; ignored when BG_AWS_ROLE_ARN is unset."`
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// Validate checks the region and that the OIDC settings come as a pair.
func (a *AWS) Validate() []Problem {
	var ps []Problem
	switch {
	case a.Region == "" && a.DefaultRegion == "":
		ps = append(ps, Problem{Var: "AWS_REGION", Message: "is required (or AWS_DEFAULT_REGION): the region of the cluster, such as eu-west-1"})
	case a.Region != "" && !regionPattern.MatchString(a.Region):
		ps = append(ps, Problem{Var: "AWS_REGION", Message: "is not a region name such as eu-west-1", Value: a.Region})
	case a.Region == "" && !regionPattern.MatchString(a.DefaultRegion):
		ps = append(ps, Problem{Var: "AWS_DEFAULT_REGION", Message: "is not a region name such as eu-west-1", Value: a.DefaultRegion})
	}
	if !a.RoleARN.IsZero() && (a.RoleARN.Service != "iam" || !hasPrefix(a.RoleARN.Resource, "role/")) {
		ps = append(ps, Problem{Var: "BG_AWS_ROLE_ARN", Message: "must be an IAM role ARN: arn:aws:iam::<account>:role/<name>", Value: a.RoleARN.String()})
	}
	if !a.RoleARN.IsZero() && a.IDToken == "" {
		ps = append(ps, Problem{Var: "BG_ID_TOKEN", Message: "is required when BG_AWS_ROLE_ARN is set: add id_tokens to the job and pass the token in BG_ID_TOKEN"})
	}
	// A token without a role is ignored: the component always asks GitLab
	// for one (id_tokens), also for teams whose runners carry credentials.
	return ps
}

// EffectiveRegion is AWS_REGION, else AWS_DEFAULT_REGION.
func (a *AWS) EffectiveRegion() string {
	if a.Region != "" {
		return a.Region
	}
	return a.DefaultRegion
}

// Target names the ECS service (or the blue and green services) to deploy.
type Target struct {
	Cluster         string `env:"BG_CLUSTER" desc:"ECS cluster name or ARN."`
	Service         string `env:"BG_SERVICE" desc:"ECS service name (codedeploy model)."`
	Mode            Mode   `env:"BG_MODE,default=auto" desc:"Deployment model: auto (detect from the service), codedeploy, listener or ecs."`
	BlueService     string `env:"BG_BLUE_SERVICE" desc:"Listener model: the blue colour's ECS service."`
	GreenService    string `env:"BG_GREEN_SERVICE" desc:"Listener model: the green colour's ECS service."`
	ListenerARN     ARN    `env:"BG_LISTENER_ARN" desc:"Listener model: production listener (or listener rule) ARN."`
	TestListenerARN ARN    `env:"BG_TEST_LISTENER_ARN" desc:"Listener model: test listener (or rule) ARN that serves the idle colour."`
}

// Validate checks that the target names one service, or both colours.
func (t *Target) Validate() []Problem {
	var ps []Problem
	if t.Cluster == "" {
		ps = append(ps, Problem{Var: "BG_CLUSTER", Message: "is required: the ECS cluster name"})
	}
	colours := t.BlueService != "" || t.GreenService != ""
	listener := t.Mode == ModeListener || colours
	if listener {
		if t.BlueService == "" {
			ps = append(ps, Problem{Var: "BG_BLUE_SERVICE", Message: "is required for the listener model (with BG_GREEN_SERVICE)"})
		}
		if t.GreenService == "" {
			ps = append(ps, Problem{Var: "BG_GREEN_SERVICE", Message: "is required for the listener model (with BG_BLUE_SERVICE)"})
		}
		if t.BlueService != "" && t.BlueService == t.GreenService {
			ps = append(ps, Problem{Var: "BG_GREEN_SERVICE", Message: "must differ from BG_BLUE_SERVICE", Value: t.GreenService})
		}
		if t.ListenerARN.IsZero() {
			ps = append(ps, Problem{Var: "BG_LISTENER_ARN", Message: "is required for the listener model: the production listener or rule ARN"})
		}
		if t.Mode == ModeCodeDeploy || t.Mode == ModeECS {
			ps = append(ps, Problem{Var: "BG_MODE", Message: "is " + string(t.Mode) + " but BG_BLUE_SERVICE/BG_GREEN_SERVICE select the listener model: unset one or the other"})
		}
	} else if t.Service == "" {
		ps = append(ps, Problem{Var: "BG_SERVICE", Message: "is required: the ECS service to deploy (or BG_BLUE_SERVICE and BG_GREEN_SERVICE for the listener model)"})
	}
	ps = append(ps, checkECSName("BG_CLUSTER", t.Cluster, "cluster")...)
	ps = append(ps, checkECSName("BG_SERVICE", t.Service, "service")...)
	ps = append(ps, checkECSName("BG_BLUE_SERVICE", t.BlueService, "service")...)
	ps = append(ps, checkECSName("BG_GREEN_SERVICE", t.GreenService, "service")...)
	if !t.ListenerARN.IsZero() && t.ListenerARN == t.TestListenerARN {
		// deploy points the test route at the idle colour: on the production
		// route that would send production to a version not yet checked.
		ps = append(ps, Problem{Var: "BG_TEST_LISTENER_ARN", Message: "must differ from BG_LISTENER_ARN: the test route serves the idle colour", Value: t.TestListenerARN.String()})
	}
	for _, l := range []struct {
		name string
		arn  ARN
	}{{"BG_LISTENER_ARN", t.ListenerARN}, {"BG_TEST_LISTENER_ARN", t.TestListenerARN}} {
		if !l.arn.IsZero() && (l.arn.Service != "elasticloadbalancing" || !hasPrefix(l.arn.Resource, "listener/") && !hasPrefix(l.arn.Resource, "listener-rule/")) {
			ps = append(ps, Problem{Var: l.name, Message: "must be an ELBv2 listener or listener rule ARN", Value: l.arn.String()})
		}
	}
	return ps
}

// Switch steers the listener model's switch of production traffic.
type Switch struct {
	Switch   SwitchPolicy  `env:"BG_SWITCH,default=manual" desc:"Listener model: after deploy has brought up the idle colour and its smoke check passed, manual leaves production where it is for the switch button; auto switches at once."`
	To       Colour        `env:"BG_SWITCH_TO" desc:"Colour the switch sends production traffic to: blue or green (the idle one when unset)."`
	Steps    Steps         `env:"BG_SWITCH_STEPS,default=100" desc:"Production traffic percentages for the new colour, rising and ending at 100, such as 10,50,100; a health and alarm check comes before each step."`
	Interval time.Duration `env:"BG_SWITCH_INTERVAL,default=1m" desc:"Pause between weighted steps, during which the new colour's health and the alarms are watched."`
	Alarms   []string      `env:"BG_ALARMS" desc:"CloudWatch alarms, comma-separated, that must be OK before each switch step and during the pause (the listener model has no deployment group to hold them)."`
}

// Validate checks the interval and the alarm names.
func (s *Switch) Validate() []Problem {
	var ps []Problem
	if s.Interval < 0 {
		ps = append(ps, Problem{Var: "BG_SWITCH_INTERVAL", Message: "must not be negative", Value: s.Interval.String()})
	}
	for _, a := range s.Alarms {
		ps = append(ps, checkFreeName("BG_ALARMS", strings.TrimSpace(a), "CloudWatch alarm", 255)...)
	}
	return ps
}

// CodeDeploy names the CodeDeploy application and deployment group; when left
// out they are found from the service.
type CodeDeploy struct {
	Application      string `env:"BG_CODEDEPLOY_APPLICATION" desc:"CodeDeploy application (found from the service when unset)."`
	DeploymentGroup  string `env:"BG_CODEDEPLOY_DEPLOYMENT_GROUP" desc:"CodeDeploy deployment group (found from the service when unset)."`
	DeploymentConfig string `env:"BG_DEPLOYMENT_CONFIG" desc:"Deployment configuration for this deployment, such as CodeDeployDefault.ECSCanary10Percent5Minutes (the group's when unset)."`
}

// Validate checks the names and that a deployment group is not named
// without its application.
func (c *CodeDeploy) Validate() []Problem {
	var ps []Problem
	if c.DeploymentGroup != "" && c.Application == "" {
		ps = append(ps, Problem{Var: "BG_CODEDEPLOY_APPLICATION", Message: "is required when BG_CODEDEPLOY_DEPLOYMENT_GROUP is set"})
	}
	ps = append(ps, checkFreeName("BG_CODEDEPLOY_APPLICATION", c.Application, "CodeDeploy application", 100)...)
	ps = append(ps, checkFreeName("BG_CODEDEPLOY_DEPLOYMENT_GROUP", c.DeploymentGroup, "CodeDeploy deployment group", 100)...)
	ps = append(ps, checkFreeName("BG_DEPLOYMENT_CONFIG", c.DeploymentConfig, "CodeDeploy deployment configuration", 100)...)
	return ps
}

// Render locates the task definition and appspec files.
type Render struct {
	TaskdefFile   string `env:"BG_TASKDEF_FILE,default=taskdef.json" desc:"Task definition file (RegisterTaskDefinition input or describe-task-definition output), at most 1 MiB; the live one when the file is absent."`
	AppspecFile   string `env:"BG_APPSPEC_FILE,default=appspec.yml" desc:"AppSpec file (one YAML or JSON document), at most 1 MiB; generated from the service when absent."`
	ContainerName string `env:"BG_CONTAINER_NAME" desc:"Container that receives the new image and the load balancer traffic (the only container when unset)."`
	ContainerPort Port   `env:"BG_CONTAINER_PORT" desc:"Container port the load balancer sends traffic to (from the service when unset)."`
	// Placeholders are CodePipeline-style image names written as <NAME>.
	Placeholders []string `env:"BG_IMAGE_PLACEHOLDERS,default=IMAGE1_NAME" desc:"Image placeholders (written <NAME> in taskdef.json) that receive the image, comma-separated."`
	Substitute   bool     `env:"BG_TASKDEF_SUBSTITUTE" desc:"Replace ${VAR} in taskdef.json string values with environment variables; an unset variable is an error."`
}

// Validate checks the container name against ECS's character set.
func (r *Render) Validate() []Problem {
	var ps []Problem
	if r.ContainerName != "" && !ecsName.MatchString(r.ContainerName) {
		ps = append(ps, Problem{Var: "BG_CONTAINER_NAME", Message: "is not a valid ECS container name: up to 255 letters, numbers, underscores and hyphens", Value: r.ContainerName})
	}
	return ps
}

// Checks are the URLs smoke-tested during and after a deployment, and what
// counts as a pass.
type Checks struct {
	TestURL        URL           `env:"BG_TEST_URL" desc:"URL served by the test listener: checked before production traffic moves."`
	ProdURL        URL           `env:"BG_PROD_URL" desc:"Production URL: checked after production traffic has moved, and by verify."`
	SmokeStatus    StatusSet     `env:"BG_SMOKE_STATUS,default=200" desc:"HTTP statuses that pass: codes and classes, comma-separated, such as 200,204 or 2xx."`
	SmokeBody      Regexp        `env:"BG_SMOKE_BODY" control:"allow" desc:"Regular expression (RE2) the response body must match."`
	SmokeHost      string        `env:"BG_SMOKE_HOST" desc:"Host header to send, for listeners that route by host name."`
	SmokeSuccesses int           `env:"BG_SMOKE_SUCCESSES,default=3" desc:"Consecutive passing requests needed."`
	SmokeFailures  int           `env:"BG_SMOKE_MAX_FAILURES,default=5" desc:"Consecutive failing requests after which the check fails without waiting for its timeout."`
	SmokeInterval  time.Duration `env:"BG_SMOKE_INTERVAL,default=2s" desc:"Pause between requests."`
	SmokeTimeout   time.Duration `env:"BG_SMOKE_TIMEOUT,default=2m" desc:"How long a smoke check may take in all."`
	StuckAfter     time.Duration `env:"BG_STUCK_AFTER,default=2h" desc:"verify: how long a deployment may hold production traffic split before it counts as stuck."`
	RequireDigest  bool          `env:"BG_REQUIRE_DIGEST" desc:"verify: fail when production runs an image given by tag rather than by digest (a warning otherwise)."`
}

// Validate checks the counts and durations are positive.
func (c *Checks) Validate() []Problem {
	var ps []Problem
	if c.SmokeSuccesses < 1 {
		ps = append(ps, Problem{Var: "BG_SMOKE_SUCCESSES", Message: "must be at least 1"})
	}
	if c.SmokeFailures < 1 {
		ps = append(ps, Problem{Var: "BG_SMOKE_MAX_FAILURES", Message: "must be at least 1"})
	}
	if c.SmokeInterval <= 0 {
		ps = append(ps, Problem{Var: "BG_SMOKE_INTERVAL", Message: "must be positive"})
	}
	if c.SmokeTimeout <= 0 {
		ps = append(ps, Problem{Var: "BG_SMOKE_TIMEOUT", Message: "must be positive"})
	}
	if c.StuckAfter <= 0 {
		ps = append(ps, Problem{Var: "BG_STUCK_AFTER", Message: "must be positive"})
	}
	if strings.ContainsAny(c.SmokeHost, " /@") {
		ps = append(ps, Problem{Var: "BG_SMOKE_HOST", Message: "must be a host name, optionally with :port (a Host header)", Value: c.SmokeHost})
	} else {
		ps = append(ps, checkHostPort("BG_SMOKE_HOST", c.SmokeHost)...)
	}
	return ps
}

// Watch bounds how long a command waits for AWS.
type Watch struct {
	Timeout   time.Duration `env:"BG_TIMEOUT" desc:"How long to watch a deployment (Go duration, such as 45m). Default: the job timeout (CI_JOB_TIMEOUT) less 5 minutes, else 1h."`
	OnTimeout TimeoutAction `env:"BG_ON_TIMEOUT,default=leave" desc:"What to do with a deployment still running at the timeout: leave, rollback or stop."`
}

// Validate checks the timeout is positive.
func (w *Watch) Validate() []Problem {
	if w.Timeout < 0 {
		return []Problem{{Var: "BG_TIMEOUT", Message: "must not be negative", Value: w.Timeout.String()}}
	}
	return nil
}

// Deployment steers a deployment once started.
type Deployment struct {
	DeploymentID  string          `env:"BG_DEPLOYMENT_ID" desc:"CodeDeploy deployment to act on (in the ecs model, the ECS service deployment ARN deploy started). Deploy writes it to deploy.env, so later jobs of the pipeline find it; when unset, the group's deployment in progress."`
	Promote       PromotePolicy   `env:"BG_PROMOTE,default=auto" desc:"At Ready (deploymentReadyOption STOP_DEPLOYMENT): auto promotes once the test smoke check passed; manual ends the job there for the promote button."`
	WaitFor       WaitFor         `env:"BG_WAIT_FOR,default=complete" desc:"When deploy may end: complete (the original task set is gone) or traffic (production traffic moved; the termination wait is left to finish or verify)."`
	OnBusy        BusyPolicy      `env:"BG_ON_BUSY,default=wait" desc:"When another pipeline's deployment holds the group: wait for it, or fail naming it."`
	OnInterrupt   InterruptPolicy `env:"BG_ON_INTERRUPT,default=rollback" desc:"When the job is cancelled or interrupted mid-deployment: rollback (stop with rollback) or leave it running."`
	RunID         string          `env:"BG_RUN_ID" desc:"Outside GitLab: what identifies this run (the same on a retry), so a retried deploy or rollback recognises its own deployment. In GitLab, the project and pipeline."`
	AllowOutdated bool            `env:"BG_ALLOW_OUTDATED" desc:"Deploy even when production runs (or the group is deploying) a release from a newer pipeline of the project; by default such an outdated deploy is refused, as GitLab's prevent outdated deployment jobs does. Rollback goes back without it."`
}

var (
	deploymentIDPattern = regexp.MustCompile(`^d-[A-Z0-9]{9}$`)
	// serviceDeploymentARNPattern is what the ecs model's deploy writes to
	// deploy.env: an ECS service deployment ARN.
	serviceDeploymentARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:service-deployment/[^/\s]+/[^/\s]+/[A-Za-z0-9_-]+$`)
)

// IsCodeDeployID tells whether id has the form of a CodeDeploy deployment id
// (not an ECS service deployment ARN).
func IsCodeDeployID(id string) bool { return deploymentIDPattern.MatchString(id) }

// Validate checks the deployment id's form.
func (d *Deployment) Validate() []Problem {
	if d.DeploymentID != "" && !deploymentIDPattern.MatchString(d.DeploymentID) && !serviceDeploymentARNPattern.MatchString(d.DeploymentID) {
		return []Problem{{Var: "BG_DEPLOYMENT_ID", Message: "is neither a CodeDeploy deployment id such as d-A1B2C3D4E nor an ECS service deployment ARN", Value: d.DeploymentID}}
	}
	return nil
}

// Output is where reports and dotenv files are written.
type Output struct {
	Dir string `env:"BG_OUTPUT_DIR,default=.ecs-bluegreen" desc:"Folder for deploy.env, status.json/md/html and junit.xml; it must be a folder that can be written (or created), which is checked before anything changes."`
}

// Validate checks that the folder can be written, or created, now: a
// report that cannot be written after the deployment started would leave
// it unwatched.
func (o *Output) Validate() []Problem {
	if msg := writableDir(o.Dir); msg != "" {
		return []Problem{{Var: "BG_OUTPUT_DIR", Message: msg, Value: o.Dir}}
	}
	return nil
}

// Log controls the tool's own log.
type Log struct {
	Level  LogLevel  `env:"BG_LOG_LEVEL,default=info" desc:"Log level: debug, info, warn or error."`
	Format LogFormat `env:"BG_LOG_FORMAT,default=text" desc:"Log format: text or json."`
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// Sandbox configures `ecs-bluegreen sandbox`.
type Sandbox struct {
	AWSAddr      string  `env:"BG_SANDBOX_ADDR,default=127.0.0.1:4566" desc:"Address the simulated AWS listens on (host:port; port 0 picks a free one)."`
	RegistryAddr string  `env:"BG_SANDBOX_REGISTRY_ADDR,default=127.0.0.1:5000" desc:"Address the sandbox's container registry listens on."`
	Speed        float64 `env:"BG_SANDBOX_SPEED,default=60" desc:"How much faster than real time simulated time runs (60: a 5-minute canary takes 5 seconds)."`
}

// Validate checks the speed.
func (s *Sandbox) Validate() []Problem {
	if s.Speed <= 0 || s.Speed > 100000 {
		return []Problem{{Var: "BG_SANDBOX_SPEED", Message: "must be above 0 and at most 100000"}}
	}
	return nil
}

// Cleanup configures `ecs-bluegreen cleanup`.
type Cleanup struct {
	Keep           int  `env:"BG_KEEP,default=10" desc:"How many of the newest task definition revisions cleanup keeps (revisions any colour or deployment uses are always kept)."`
	DeleteInactive bool `env:"BG_DELETE_INACTIVE" desc:"Also delete deregistered (INACTIVE) revisions not in use."`
	DryRun         bool `env:"BG_DRY_RUN" desc:"Print what cleanup would do, and change nothing."`
}

// Validate checks BG_KEEP.
func (c *Cleanup) Validate() []Problem {
	if c.Keep < 1 {
		return []Problem{{Var: "BG_KEEP", Message: "must be at least 1: the newest revision is the one a rollback or a rerun needs"}}
	}
	return nil
}
