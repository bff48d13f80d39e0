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
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/monitor"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
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
	// Clock paces every wait of the run: polls, smoke-check intervals, the
	// wait behind another deployment, switch steps. nil is the wall clock;
	// tests pass one that runs as fast as their simulator.
	Clock monitor.Clock
}

// OSEnv is the process's own environment and standard streams.
func OSEnv() Env {
	return Env{Environ: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr}
}

// masked wraps the run's output so no secret value from the environment can
// appear in it, whatever path an error or log line takes: the job's
// credentials, our secret settings and whatever gitlab.FindSecrets counts as
// one.
func masked(env Env) (Env, func()) {
	m := &gitlab.Masker{}
	for _, v := range gitlab.FindSecrets(env.Environ, secretNames()...).Values() {
		// The sandbox's published credentials are no secret: a shell that
		// evaluated `sandbox serve`'s exports has them, and masking them
		// would garble the next serve's export lines.
		if !sandbox.IsPublicCredential(v) {
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

// secretNames are the settings whose values are secrets.
func secretNames() []string {
	var names []string
	for _, s := range config.Reference() {
		if s.Secret {
			names = append(names, s.Var)
		}
	}
	return names
}

// invocation is one command run with its settings loaded.
type invocation struct {
	cmd      *command
	args     []string
	env      Env
	log      *slog.Logger
	settings settings
	aws      *awsclient.Clients
	mdl      deploy.Model // chosen once per run
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
	cmd = forFleet(cmd, env.Environ) // BG_SERVICES_FILE: status and verify over many services (fleet.go)
	inv := &invocation{cmd: cmd, args: args, env: env}
	if len(cmd.families) > 0 {
		if err := inv.loadSettings(ctx); err != nil {
			return err
		}
	}
	inv.log = newLogger(env.Stderr, inv.logSettings())
	err := cmd.run(ctx, inv)
	var sig Interrupted
	if err != nil && !errors.As(err, &sig) {
		// A signal ended the run (before or during a call to AWS): the
		// error says so and exits 130 or 143, whatever failed because of it.
		err = interrupted(ctx, err)
	}
	return err
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
			inv.settings.set(t)
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
		return settingsError{problems: &config.Error{Problems: problems}}
	}
	return nil
}

// clock is the run's one clock.
func (inv *invocation) clock() monitor.Clock {
	if inv.env.Clock != nil {
		return inv.env.Clock
	}
	return monitor.RealClock{}
}

func (inv *invocation) logSettings() *config.Log {
	if l := inv.settings.Log; l != nil {
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
	err       error // the cause, when there is one
}

func (e *usageError) Error() string     { return e.msg }
func (e *usageError) Unwrap() error     { return e.err }
func (e *usageError) ExitCode() int     { return ExitUsage }
func (e *usageError) ErrorHint() string { return e.hint }

// settingsError is every problem of the settings, exit 2. Its text is
// made when printed, so that nameInputs can first add each variable's
// component input.
type settingsError struct{ problems *config.Error }

func (e settingsError) Error() string { return e.problems.Error() }
func (e settingsError) Unwrap() error { return e.problems }
func (e settingsError) ExitCode() int { return ExitUsage }
func (e settingsError) ErrorHint() string {
	return "run `ecs-bluegreen env` to see every setting with its default"
}

// Interrupted is the cancellation cause when a signal stops the run.
type Interrupted struct {
	Signal os.Signal
}

func (i Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// ExitCode is 143 for SIGTERM (GitLab's cancel), 130 for SIGINT.
func (i Interrupted) ExitCode() int {
	if i.Signal == syscall.SIGTERM {
		return 143
	}
	return ExitInterrupted
}

// The behaviours an error may carry, as go-containerregistry's transport
// errors carry theirs: its exit code, a hint line, and lines that explain it.
// The outermost error in the chain that has one decides.
type (
	exitCoder interface{ ExitCode() int }
	hinter    interface{ ErrorHint() string }
	explainer interface{ Explain() []string }
)

// exitCode prints the outcome (one error line, then what explains it and a
// hint) and maps it to an exit code: the error's own, else 1.
func exitCode(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(w, "error: %v\n", err)
	var ex explainer
	if errors.As(err, &ex) {
		for _, line := range ex.Explain() {
			fmt.Fprintln(w, line)
		}
	}
	var h hinter
	if errors.As(err, &h) && h.ErrorHint() != "" {
		fmt.Fprintf(w, "hint: %s\n", h.ErrorHint())
	}
	var coded exitCoder
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return ExitFailed
}
