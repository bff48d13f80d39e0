// Package app is ecs-bluegreen's command line: the command table, settings
// loading and validation, and the mapping from outcomes to exit codes.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"syscall"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awsclient"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// Exit codes (DESIGN §3). The pipeline never lies: only a deployment that
// reached its goal exits 0.
const (
	ExitOK          = 0
	ExitFailed      = 1   // the deployment failed, was stopped or rolled back
	ExitUsage       = 2   // configuration or input error; nothing was changed
	ExitTimeout     = 3   // gave up waiting; the deployment is left per BG_ON_TIMEOUT
	ExitVerify      = 4   // verify found a problem
	ExitInterrupted = 130 // SIGINT; SIGTERM gives 143
)

// Env is everything a run reads from and writes to outside its arguments, so
// tests run the real command table without touching the process.
type Env struct {
	Environ []string
	Stdout  io.Writer
	Stderr  io.Writer
}

// OSEnv is the process's own environment and standard streams.
func OSEnv() Env {
	return Env{Environ: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr}
}

// secretVars are the variables whose values never reach the output: our own
// secret settings plus the credentials GitLab and AWS put in a job.
var secretVars = []string{"CI_REGISTRY_PASSWORD", "CI_JOB_TOKEN", "CI_DEPLOY_PASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// masked wraps the run's output so no secret value from the environment can
// appear in it, whatever path an error or log line takes.
func masked(env Env) (Env, func()) {
	m := &gitlab.Masker{}
	lookup := config.EnvironLookuper(env.Environ)
	names := append([]string(nil), secretVars...)
	for _, s := range config.Reference() {
		if s.Secret {
			names = append(names, s.Var)
		}
	}
	for _, n := range names {
		if v, ok := lookup.Lookup(n); ok {
			m.Add(v)
		}
	}
	out, errw := m.Writer(env.Stdout), m.Writer(env.Stderr)
	env.Stdout, env.Stderr = out, errw
	return env, func() {
		_ = out.Flush()
		_ = errw.Flush()
	}
}

// invocation is one command run with its settings loaded.
type invocation struct {
	cmd      *command
	args     []string
	env      Env
	log      *slog.Logger
	settings map[string]any // family name -> pointer to the loaded family struct
	aws      *awsclient.Clients
}

// Run runs the command named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		writeUsage(env.Stderr)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "--help":
		name = "help"
	case "-v", "--version":
		name = "version"
	}
	env, flush := masked(env)
	defer flush()
	cmd := lookup(name)
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "error: unknown command %q\nhint: run `ecs-bluegreen help` for the list of commands\n", name)
		return ExitUsage
	}
	if len(rest) > 0 && (rest[0] == "-h" || rest[0] == "--help") {
		writeCommandHelp(env.Stdout, cmd)
		return ExitOK
	}
	err := runCommand(ctx, cmd, rest, env)
	nameInputs(err, componentInputs(env.Environ))
	return exitCode(env.Stderr, err)
}

func runCommand(ctx context.Context, cmd *command, args []string, env Env) error {
	inv := &invocation{cmd: cmd, args: args, env: env, settings: map[string]any{}}
	if len(cmd.families) > 0 {
		if err := inv.loadSettings(ctx); err != nil {
			return err
		}
	}
	inv.log = newLogger(env.Stderr, inv.logSettings())
	return cmd.run(ctx, inv)
}

// loadSettings reads the command's families and rejects unknown BG_ variables,
// reporting every problem at once before anything touches AWS.
func (inv *invocation) loadSettings(ctx context.Context) error {
	lookuper := config.EnvironLookuper(inv.env.Environ)
	optional := false
	if inv.cmd.optionalIf != "" {
		v, _ := lookuper.Lookup(inv.cmd.optionalIf)
		optional = v != ""
	}
	var targets []any
	for _, f := range config.Families() {
		if slices.Contains(inv.cmd.families, f.Name) || optional && slices.Contains(inv.cmd.optional, f.Name) {
			t := f.New()
			inv.settings[f.Name] = t
			targets = append(targets, t)
		}
	}
	problems := config.Unknown(inv.env.Environ)
	if err := config.Load(ctx, lookuper, targets...); err != nil {
		var ce *config.Error
		if !errors.As(err, &ce) {
			return err
		}
		problems = append(problems, ce.Problems...)
	}
	if len(problems) > 0 {
		return &config.Error{Problems: problems}
	}
	return nil
}

func (inv *invocation) logSettings() *config.Log {
	if l, ok := inv.settings["log"].(*config.Log); ok {
		return l
	}
	return &config.Log{Level: "info", Format: "text"}
}

func newLogger(w io.Writer, l *config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// usageError is a mistake in how the tool was called: exit 2, nothing changed.
type usageError struct {
	msg, hint string
}

func (e *usageError) Error() string { return e.msg }

// Interrupted is the cancellation cause when a signal stops the run.
type Interrupted struct {
	Signal os.Signal
}

func (i Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// exitCode prints the outcome and maps it to an exit code.
func exitCode(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		ce   *config.Error
		ue   *usageError
		re   *deploy.ResolveError
		de   *deploy.DeploymentError
		te   *deploy.TimeoutError
		lt   *timeoutError
		busy *deploy.BusyError
		vf   *verifyFailedError
		sig  Interrupted
	)
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(w, "error: %v\nhint: run `ecs-bluegreen env` to see every setting with its default\n", ce)
		return ExitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(w, "error: %s\n", ue.msg)
		if ue.hint != "" {
			fmt.Fprintf(w, "hint: %s\n", ue.hint)
		}
		return ExitUsage
	case errors.As(err, &re):
		fmt.Fprintf(w, "error: %s\nhint: %s\n", re.Msg, re.Hint)
		return ExitUsage
	case errors.As(err, &de):
		fmt.Fprintf(w, "error: %v\n", de)
		for _, d := range de.Details {
			fmt.Fprintf(w, "  - %s\n", d)
		}
		if de.ConsoleURL != "" {
			fmt.Fprintf(w, "see: %s\n", de.ConsoleURL)
		}
		return ExitFailed
	case errors.As(err, &te):
		fmt.Fprintf(w, "error: %v\n", te)
		return ExitTimeout
	case errors.As(err, &lt):
		fmt.Fprintf(w, "error: %v\n", lt)
		return ExitTimeout
	case errors.As(err, &busy):
		fmt.Fprintf(w, "error: %v\nhint: set BG_ON_BUSY=wait to queue behind it, or stop it first\n", busy)
		return ExitFailed
	case errors.As(err, &vf):
		fmt.Fprintf(w, "error: %v\n", vf)
		return ExitVerify
	case errors.As(err, &sig):
		fmt.Fprintf(w, "error: %v\n", err)
		if sig.Signal == syscall.SIGTERM {
			return 143
		}
		return ExitInterrupted
	default:
		fmt.Fprintf(w, "error: %v\n", err)
		return ExitFailed
	}
}
