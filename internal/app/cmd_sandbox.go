package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// switchCommandPrefix points one command at the sandbox's listener model.
const switchCommandPrefix = "BG_BLUE_SERVICE=$SANDBOX_SWITCH_BLUE_SERVICE BG_GREEN_SERVICE=$SANDBOX_SWITCH_GREEN_SERVICE BG_LISTENER_ARN=$SANDBOX_SWITCH_LISTENER_ARN BG_TEST_LISTENER_ARN=$SANDBOX_SWITCH_TEST_LISTENER_ARN"

// runSandbox runs the demo against the embedded simulator, or with `serve`
// keeps the simulated AWS and registry up until interrupted.
func runSandbox(ctx context.Context, inv *invocation) error {
	cfg := inv.settings["sandbox"].(*config.Sandbox)
	serve := len(inv.args) > 0 && inv.args[0] == "serve"
	if len(inv.args) > 0 && !serve {
		return &usageError{msg: fmt.Sprintf("unknown sandbox argument %q", inv.args[0]), hint: "run `ecs-bluegreen sandbox` for the demo or `ecs-bluegreen sandbox serve`"}
	}
	addr, regAddr := cfg.AWSAddr, cfg.RegistryAddr
	if !serve {
		// The demo needs no fixed ports: it points its own commands at them.
		addr, regAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	sb, err := sandbox.Start(ctx, sandbox.Options{AWSAddr: addr, RegistryAddr: regAddr, Speed: cfg.Speed, Seed: true, Log: inv.log})
	if err != nil {
		return err
	}
	defer sb.Close()
	if serve {
		fmt.Fprintf(inv.env.Stdout, "# ecs-bluegreen sandbox: %s; simulated time runs %gx real time.\n# Paste these lines into a shell (or eval them), then run ecs-bluegreen or the AWS CLI.\n", sb, cfg.Speed)
		fmt.Fprintf(inv.env.Stdout, "# The BG_ lines drive the CodeDeploy service %s. The SANDBOX_SWITCH_ lines name the listener model (%s, %s) for switch and its component:\n#   %s ecs-bluegreen status\n",
			sb.World.Service, sb.Switch.BlueService, sb.Switch.GreenService, switchCommandPrefix)
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
	return demo(ctx, inv, sb, cfg.Speed)
}

// demo runs the real commands against the sandbox, as a pipeline would, and
// fails if any of them does not end as a user should expect.
func demo(ctx context.Context, inv *invocation, sb *sandbox.Sandbox, speed float64) error {
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
	sections := gitlab.Sections{W: inv.env.Stdout, InCI: inv.getenv("GITLAB_CI") == "true"}
	// image carries what build and release print: the pinned reference.
	var image string
	writeApp := func(version string) func() error {
		return func() error {
			if err := os.WriteFile(filepath.Join(app, "Dockerfile"), []byte("FROM scratch\nCOPY index.html /srv/index.html\nLABEL app=web\nCMD [\"/srv\"]\n"), 0o600); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(app, "index.html"), []byte("<h1>web "+version+"</h1>\n"), 0o600)
		}
	}
	steps := []struct {
		title, cmd string
		env        func() []string
		want       int
		before     func() error
		keepImage  bool // the command prints the pinned reference the next step uses
	}{
		{title: "status: blue serves production", cmd: "status", want: ExitOK},
		{
			title: "build the application image without a Docker daemon", cmd: "build", want: ExitOK, before: writeApp("v2"), keepImage: true,
			env: func() []string { return []string{"CI_COMMIT_SHA=c0ffee2"} },
		},
		{
			title: "release it: pinned by digest in the GitLab registry and ECR", cmd: "release", want: ExitOK, keepImage: true,
			env: func() []string { return []string{"BG_IMAGE=" + image, "CI_COMMIT_SHA=c0ffee2"} },
		},
		{
			title: "deploy: canary 10% for 5 simulated minutes, smoke checks on the test and production listeners, then the live tag moves", cmd: "deploy", want: ExitOK,
			env: func() []string { return []string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=1"} },
		},
		{
			title: "build a broken version", cmd: "build", want: ExitOK, before: writeApp("v3"), keepImage: true,
			env: func() []string { return []string{"CI_COMMIT_SHA=c0ffee3"} },
		},
		{
			title: "release it", cmd: "release", want: ExitOK, keepImage: true,
			env: func() []string { return []string{"BG_IMAGE=" + image, "CI_COMMIT_SHA=c0ffee3"} },
		},
		{
			title: "deploy it: its tasks fail their health checks, CodeDeploy rolls back, the job fails and the tags stay", cmd: "deploy", want: ExitFailed,
			env: func() []string { return []string{"BG_IMAGE=" + image, "CI_PIPELINE_ID=2"} },
			before: func() error {
				// Revision 3 is the one this deployment registers.
				sb.Sim.World().SetTaskDefinitionHealthy(fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:task-definition/%s:3", sb.World.Service), false)
				return nil
			},
		},
		{title: "verify: what is live is healthy, pinned, tagged live, and answers", cmd: "verify", want: ExitOK},
	}
	for i, s := range steps {
		end := sections.Start(fmt.Sprintf("sandbox_step_%d", i+1), fmt.Sprintf("[%d/%d] %s", i+1, len(steps), s.title), false)
		if s.before != nil {
			if err := s.before(); err != nil {
				end()
				return err
			}
		}
		env := append(append([]string{}, inv.env.Environ...), base...)
		if s.env != nil {
			env = append(env, s.env()...)
		}
		fmt.Fprintf(inv.env.Stdout, "$ ecs-bluegreen %s\n", s.cmd)
		var printed strings.Builder
		code := Run(ctx, []string{s.cmd}, Env{Environ: env, Stdout: io.MultiWriter(inv.env.Stdout, &printed), Stderr: inv.env.Stdout})
		end()
		if code != s.want {
			return fmt.Errorf("sandbox step %q ended with exit code %d, expected %d", s.title, code, s.want)
		}
		if s.keepImage {
			lines := strings.Split(strings.TrimSpace(printed.String()), "\n")
			image = strings.TrimSpace(lines[len(lines)-1])
		}
		fmt.Fprintf(inv.env.Stdout, "-> exit %d, as expected\n\n", code)
	}
	fmt.Fprintf(inv.env.Stdout, "The sandbox ran %d steps in %s (simulated time %gx). Reports are in %s.\n", len(steps), time.Since(start).Round(100*time.Millisecond), speed, out)
	return nil
}
