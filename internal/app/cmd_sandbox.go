package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// switchCommandPrefix points one command at the sandbox's listener model.
const switchCommandPrefix = "BG_BLUE_SERVICE=$SANDBOX_SWITCH_BLUE_SERVICE BG_GREEN_SERVICE=$SANDBOX_SWITCH_GREEN_SERVICE BG_LISTENER_ARN=$SANDBOX_SWITCH_LISTENER_ARN BG_TEST_LISTENER_ARN=$SANDBOX_SWITCH_TEST_LISTENER_ARN"

// ecsCommandPrefix points one command at the sandbox's ecs model.
const ecsCommandPrefix = "BG_SERVICE=$SANDBOX_ECS_SERVICE BG_ECR_REPOSITORY=$SANDBOX_ECS_ECR_REPOSITORY BG_PROD_URL=$SANDBOX_ECS_PROD_URL BG_TEST_URL=$SANDBOX_ECS_TEST_URL"

// runSandbox runs the demo against the embedded simulator, or with `serve`
// keeps the simulated AWS and registry up until interrupted.
func runSandbox(ctx context.Context, inv *invocation) error {
	cfg := inv.settings.Sandbox
	serve := len(inv.args) > 0 && inv.args[0] == "serve"
	scenarios := demoScenarios
	var group sandbox.GroupOptions
	if serve {
		g, err := serveFlags(inv.args[1:])
		if err != nil {
			return err
		}
		group = g
	}
	if len(inv.args) > 0 && !serve {
		scenarios = nil
		for _, a := range inv.args {
			if !slices.Contains(demoScenarios, a) {
				return &usageError{msg: fmt.Sprintf("unknown sandbox argument %q", a), hint: "run `ecs-bluegreen sandbox` for the whole demo, name scenarios (" + strings.Join(demoScenarios, ", ") + "), or `ecs-bluegreen sandbox serve`"}
			}
		}
		for _, sc := range demoScenarios { // in the demo's order, whatever the order given
			if slices.Contains(inv.args, sc) {
				scenarios = append(scenarios, sc)
			}
		}
	}
	addr, regAddr := cfg.AWSAddr, cfg.RegistryAddr
	if !serve {
		// The demo needs no fixed ports: it points its own commands at them.
		addr, regAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{AWSAddr: addr, RegistryAddr: regAddr, Speed: cfg.Speed, Seed: true, Group: group, Log: inv.log})
	if err != nil {
		return err
	}
	defer sb.Close()
	if serve {
		fmt.Fprintf(inv.env.Stdout, "# ecs-bluegreen sandbox: %s; simulated time runs %gx real time.\n# Paste these lines into a shell (or eval them), then run ecs-bluegreen or the AWS CLI.\n", sb, cfg.Speed)
		fmt.Fprintf(inv.env.Stdout, "# The BG_ lines drive the CodeDeploy service %s (application %s, deployment group %s). The SANDBOX_SWITCH_ lines name the listener model (%s, %s) for switch and its component:\n#   %s ecs-bluegreen status\n",
			sb.World.Service, sb.World.Application, sb.World.Group, sb.Switch.BlueService, sb.Switch.GreenService, switchCommandPrefix)
		fmt.Fprintf(inv.env.Stdout, "# The SANDBOX_ECS_ lines name the ecs model's service %s (ECS's own blue/green, no CodeDeploy): %s.\n#   %s ecs-bluegreen status\n", sb.ECS.Service, sandbox.ECSStrategy, ecsCommandPrefix)
		fmt.Fprintf(inv.env.Stdout, "# %s\n", sb.Group.Describe())
		if sb.Group.ReadyAction == "STOP_DEPLOYMENT" {
			fmt.Fprintf(inv.env.Stdout, "# A tool that never calls ContinueDeployment (aws ecs deploy, ecspresso) needs: ecs-bluegreen sandbox serve --ready-action CONTINUE_DEPLOYMENT\n")
		}
		fmt.Fprintf(inv.env.Stdout, "# Every AWS call, with the caller's access key and user agent: curl %s%scalls\n", sb.AWSURL, sandbox.ControlPrefix)
		for _, line := range sb.Exports() {
			fmt.Fprintln(inv.env.Stdout, line)
		}
		if f, ok := inv.env.Stdout.(interface{ Flush() error }); ok {
			_ = f.Flush()
		}
		<-ctx.Done()
		fmt.Fprintln(inv.env.Stderr, "sandbox stopped")
		return nil
	}
	return demo(ctx, inv, sb, cfg.Speed, scenarios)
}

// Demo scenarios, in the order `ecs-bluegreen sandbox` runs them; naming
// some (`ecs-bluegreen sandbox canary switch`) runs only those.
var demoScenarios = []string{"first", "canary", "bad-release", "switch", "ecs", "ecs-bad-release", "verify"}

// demoStep is one command of the demo and the exit code a user should see.
type demoStep struct {
	title, cmd string
	args       []string
	env        func() []string
	want       int
	before     func() error
	keepImage  bool // the command prints the pinned reference the next step uses
}

// demo runs the real commands against the sandbox, as a pipeline would, and
// fails if any of them does not end as a user should expect, or if a single
// request to a production listener failed meanwhile.
func demo(ctx context.Context, inv *invocation, sb *sandbox.Sandbox, speed float64, scenarios []string) error {
	start := time.Now()
	out := filepath.Join(orString(inv.getenv("BG_OUTPUT_DIR"), ".ecs-bluegreen"), "sandbox")
	app, err := os.MkdirTemp("", "ecs-bluegreen-sandbox-app-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(app)
	base := []string{
		"BG_OUTPUT_DIR=" + out, "CI_PROJECT_PATH=sandbox/web", "BG_SMOKE_INTERVAL=200ms", "BG_LOG_LEVEL=info",
		"BG_BUILD_CONTEXT=" + app, "BG_SOURCE_DATE_EPOCH=1764000000",
	}
	for _, line := range sb.Exports() {
		base = append(base, strings.TrimPrefix(line, "export "))
	}
	// The listener model's settings replace the CodeDeploy service's (the
	// last value of a variable wins).
	switchEnv := append([]string{"BG_SERVICE=", "BG_SWITCH_STEPS=10,50,100", "BG_SWITCH_INTERVAL=2s", "CI_REGISTRY_IMAGE=" + sb.RegistryHost + "/sandbox/shop"}, sb.SwitchSettings()...)
	// The ecs model's service: the service's controller and strategy select
	// the model (BG_MODE stays auto).
	ecsEnv := append([]string{"CI_REGISTRY_IMAGE=" + sb.RegistryHost + "/sandbox/" + sb.ECS.Service}, sb.ECSSettings()...)
	sections := gitlab.Sections{W: inv.env.Stdout, InCI: inv.getenv("GITLAB_CI") == "true"}
	// The commands run on a clock as fast as the simulator's, so the watcher's
	// schedule (in AWS's time) and its waits agree at any BG_SANDBOX_SPEED;
	// the simulator started a moment earlier, which the watcher learns from
	// the times in its answers.
	var clk monitor.Clock = monitor.ScaledClock{Start: time.Now(), Speed: speed}
	if inv.env.Clock != nil {
		clk = inv.env.Clock
	}
	ecsClient := ecs.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""), BaseEndpoint: aws.String(sb.AWSURL)})
	// image carries what build and release print: the pinned reference.
	var image string
	writeApp := func(name, version string) func() error {
		return func() error {
			if err := os.WriteFile(filepath.Join(app, "Dockerfile"), []byte("FROM scratch\nCOPY index.html /srv/index.html\nLABEL app="+name+"\nCMD [\"/srv\"]\n"), 0o600); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(app, "index.html"), []byte("<h1>"+name+" "+version+"</h1>\n"), 0o600)
		}
	}
	buildAndRelease := func(name, version, commit string, extra ...string) []demoStep {
		return []demoStep{
			{
				title: "build " + name + " " + version + " without a Docker daemon", cmd: "build", want: ExitOK, before: writeApp(name, version), keepImage: true,
				env: func() []string { return append([]string{"CI_COMMIT_SHA=" + commit}, extra...) },
			},
			{
				title: "release it: pinned by digest in the GitLab registry and ECR, tagged candidate", cmd: "release", want: ExitOK, keepImage: true,
				env: func() []string { return append([]string{"BG_IMAGE=" + image, "CI_COMMIT_SHA=" + commit}, extra...) },
			},
		}
	}
	plan := map[string][]demoStep{
		"first": append(append([]demoStep{{title: "status: blue serves production", cmd: "status", want: ExitOK}},
			buildAndRelease("web", "v1", "c0ffee1")...),
			demoStep{
				title: "deploy it, all at once: smoke checks on the test and production listeners, then the live tag moves", cmd: "deploy", want: ExitOK,
				env: func() []string {
					return []string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=1", "BG_DEPLOYMENT_CONFIG=CodeDeployDefault.ECSAllAtOnce"}
				},
			}),
		"canary": append(buildAndRelease("web", "v2", "c0ffee2"),
			demoStep{
				title: "deploy with a manual promote: the job ends at Ready once the test listener's smoke check passed", cmd: "deploy", want: ExitOK,
				env: func() []string { return []string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=2", "BG_PROMOTE=manual"} },
			},
			demoStep{
				title: "promote (the play button): 10% canary for 5 simulated minutes, then all of production", cmd: "promote", want: ExitOK,
				env: func() []string { return []string{"CI_PIPELINE_ID=2"} },
			}),
		"bad-release": append(buildAndRelease("web", "v3 (broken)", "c0ffee3"),
			demoStep{
				title: "deploy it: its pages answer 500, the test listener's smoke check fails, the deployment is stopped with rollback, the job fails and the tags stay", cmd: "deploy", want: ExitFailed,
				env: func() []string { return []string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=3"} },
				before: func() error {
					next, err := nextRevision(ctx, ecsClient, sb.World.Service)
					if err != nil {
						return err
					}
					sb.Sim.World().SetTaskDefinitionAnswer(next, http.StatusInternalServerError)
					return nil
				},
			}),
		"switch": append(buildAndRelease("shop", "v2", "c0ffee4", switchEnv...),
			demoStep{
				title: "listener model: deploy shop to its idle colour (green) behind the test listener, smoke-checked; production stays on blue", cmd: "deploy", want: ExitOK,
				env: func() []string { return append([]string{"BG_IMAGE=" + image}, switchEnv...) },
			},
			demoStep{
				title: "switch production to green in steps of 10%, 50%, 100%, checking health before each", cmd: "switch", want: ExitOK,
				env: func() []string { return switchEnv },
			}),
		"ecs": append(buildAndRelease(sb.ECS.Service, "v2", "c0ffee5", ecsEnv...),
			demoStep{
				title: "ecs model: deploy " + sb.ECS.Service + " with ECS's own linear blue/green: the PAUSE hook after test traffic holds it until the test URL's smoke check passed, then ContinueServiceDeployment and 50% a step", cmd: "deploy", want: ExitOK,
				env: func() []string { return append([]string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=5"}, ecsEnv...) },
			}),
		"ecs-bad-release": append(buildAndRelease(sb.ECS.Service, "v3 (broken)", "c0ffee6", ecsEnv...),
			demoStep{
				title: "ecs model: deploy it: its pages answer 500, the smoke check at the PAUSE hook fails, ECS is told to roll back (ContinueServiceDeployment ROLLBACK) before production moves, the job fails", cmd: "deploy", want: ExitFailed,
				env: func() []string { return append([]string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=6"}, ecsEnv...) },
				before: func() error {
					next, err := nextRevision(ctx, ecsClient, sb.ECS.Service)
					if err != nil {
						return err
					}
					sb.Sim.World().SetTaskDefinitionAnswer(next, http.StatusInternalServerError)
					return nil
				},
			}),
		"verify": {
			{title: "verify: what is live is healthy, pinned, tagged live, and answers", cmd: "verify", want: ExitOK},
			{title: "status: the report a scheduled job keeps (status.html, status.md, status.json)", cmd: "status", want: ExitOK},
		},
	}
	var steps []demoStep
	ranDeploy := false
	for _, name := range scenarios {
		if name == "first" || name == "canary" {
			ranDeploy = true
		}
		if name == "verify" && !ranDeploy {
			// Production still runs the seed's image by tag: verify warns.
			plan[name][0].title = "verify: production runs an image by tag, not by digest: a warning (BG_REQUIRE_DIGEST=true makes it fail)"
		}
		steps = append(steps, plan[name]...)
	}

	load := startDemoLoad(&demoListener{name: sb.World.Service, url: sb.ProdURL}, &demoListener{name: sandbox.SwitchService, url: sb.SwitchProdURL},
		&demoListener{name: sb.ECS.Service, url: sb.ECSProdURL})
	for i, s := range steps {
		end := sections.Start(fmt.Sprintf("sandbox_step_%d", i+1), fmt.Sprintf("[%d/%d] %s", i+1, len(steps), s.title), false)
		if s.before != nil {
			if err := s.before(); err != nil {
				end()
				load.stop()
				return err
			}
		}
		env := append(append([]string{}, inv.env.Environ...), base...)
		if s.env != nil {
			env = append(env, s.env()...)
		}
		fmt.Fprintf(inv.env.Stdout, "$ ecs-bluegreen %s\n", strings.Join(append([]string{s.cmd}, s.args...), " "))
		var printed strings.Builder
		code := Run(ctx, append([]string{s.cmd}, s.args...), Env{Environ: env, Stdout: io.MultiWriter(inv.env.Stdout, &printed), Stderr: inv.env.Stdout, Clock: clk})
		end()
		if code != s.want {
			load.stop()
			return fmt.Errorf("sandbox step %q ended with exit code %d, expected %d", s.title, code, s.want)
		}
		if s.keepImage {
			lines := strings.Split(strings.TrimSpace(printed.String()), "\n")
			image = strings.TrimSpace(lines[len(lines)-1])
		}
		fmt.Fprintf(inv.env.Stdout, "-> exit %d, as expected\n\n", code)
	}
	total, failed, first := load.stop()
	fmt.Fprintf(inv.env.Stdout, "Production listeners under a steady load meanwhile: %d requests, %d failed.\n  By service: %s.\n", total, failed, load.byListener())
	fmt.Fprintf(inv.env.Stdout, "The sandbox ran %d steps in %s (simulated time %gx). Reports are in %s.\n", len(steps), time.Since(start).Round(100*time.Millisecond), speed, out)
	if failed > 0 {
		return fmt.Errorf("%d of %d production requests failed during the demo (first: %s): traffic must move without a failed request", failed, total, first)
	}
	return nil
}

// nextRevision is the ARN the family's next registered revision will get.
func nextRevision(ctx context.Context, api *ecs.Client, family string) (string, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(family)})
	if err != nil {
		return "", err
	}
	arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	return fmt.Sprintf("%s:%d", arn[:strings.LastIndex(arn, ":")], out.TaskDefinition.Revision+1), nil
}

// demoLoad sends a steady stream of requests to the production listeners.
type demoLoad struct {
	total, failed atomic.Int64
	listeners     []*demoListener
	mu            sync.Mutex
	first         string
	done          chan struct{}
	wg            sync.WaitGroup
}

// demoListener is one production listener under load, named by its service.
type demoListener struct {
	name, url     string
	total, failed atomic.Int64
}

func startDemoLoad(listeners ...*demoListener) *demoLoad {
	l := &demoLoad{done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, dl := range listeners {
		if dl.url == "" {
			continue
		}
		l.listeners = append(l.listeners, dl)
		u := dl.url
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-l.done:
					return
				case <-tick.C:
				}
				l.total.Add(1)
				dl.total.Add(1)
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
				if err != nil {
					l.fail(dl, err)
					continue
				}
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						continue
					}
					err = fmt.Errorf("%s answered %s", u, resp.Status)
				}
				l.fail(dl, err)
			}
		}()
	}
	return l
}

func (l *demoLoad) fail(dl *demoListener, err error) {
	l.failed.Add(1)
	dl.failed.Add(1)
	l.mu.Lock()
	if l.first == "" {
		l.first = err.Error()
	}
	l.mu.Unlock()
}

func (l *demoLoad) stop() (total, failed int64, first string) {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	l.wg.Wait()
	return l.total.Load(), l.failed.Load(), l.first
}

// byListener says each listener's requests and failures, once stopped:
// "web 1200 requests, 0 failed; shop ...".
func (l *demoLoad) byListener() string {
	parts := make([]string, 0, len(l.listeners))
	for _, dl := range l.listeners {
		parts = append(parts, fmt.Sprintf("%s %d requests, %d failed", dl.name, dl.total.Load(), dl.failed.Load()))
	}
	return strings.Join(parts, "; ")
}

// serveFlags reads `sandbox serve`'s flags: the seeded deployment group's
// ready option, deployment configuration and termination wait, with
// CodeDeploy's names.
func serveFlags(args []string) (sandbox.GroupOptions, error) {
	g := sandbox.DefaultGroup
	fs := flag.NewFlagSet("sandbox serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.ReadyAction, "ready-action", g.ReadyAction, "STOP_DEPLOYMENT: wait at Ready until continued; CONTINUE_DEPLOYMENT: move production traffic at once")
	ready := fs.Int("ready-wait", int(g.ReadyWaitMinutes), "minutes a deployment waits at Ready before it is stopped (STOP_DEPLOYMENT)")
	fs.StringVar(&g.DeploymentConfig, "deployment-config", g.DeploymentConfig, "the group's deployment configuration (CodeDeployDefault.ECSAllAtOnce, ...Canary..., ...Linear...)")
	term := fs.Int("termination-wait", int(g.TerminationWaitMinutes), "minutes the original task set stays after traffic moved")
	hint := "usage: ecs-bluegreen sandbox serve [--ready-action STOP_DEPLOYMENT|CONTINUE_DEPLOYMENT] [--ready-wait MINUTES] [--deployment-config NAME] [--termination-wait MINUTES]"
	if err := fs.Parse(args); err != nil {
		return g, &usageError{msg: "sandbox serve: " + err.Error(), hint: hint}
	}
	if fs.NArg() > 0 {
		return g, &usageError{msg: fmt.Sprintf("sandbox serve: unexpected argument %q", fs.Arg(0)), hint: hint}
	}
	g.ReadyAction = strings.ToUpper(g.ReadyAction)
	if *ready < 0 || *ready > 7200 || *term < 0 || *term > 2880 {
		return g, &usageError{msg: "sandbox serve: --ready-wait must be 0 to 7200 minutes and --termination-wait 0 to 2880", hint: hint}
	}
	g.ReadyWaitMinutes, g.TerminationWaitMinutes = int32(*ready), int32(*term) //nolint:gosec // bounded above
	if g.ReadyAction == "CONTINUE_DEPLOYMENT" {
		g.ReadyWaitMinutes = 0
	}
	if err := g.Validate(); err != nil {
		return g, &usageError{msg: "sandbox serve: " + err.Error(), hint: hint}
	}
	return g, nil
}
