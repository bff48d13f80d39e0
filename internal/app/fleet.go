package app

import (
	"context"
	"io"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/fleet"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// forFleet is cmd as a many-services run (internal/fleet) when it is status
// or verify and BG_SERVICES_FILE is set: the run itself reads only the
// output, log and status settings, and each service's run reads the rest,
// from the job's settings with the service's entry on top.
func forFleet(cmd *command, environ []string) *command {
	if cmd.name != "status" && cmd.name != "verify" {
		return cmd
	}
	if v, _ := envValue(environ, fleet.FileVar); v == "" {
		return cmd
	}
	return &command{name: cmd.name, summary: cmd.summary, families: []string{"output", "log", "status"}, run: func(ctx context.Context, inv *invocation) error {
		entries, err := fleet.Load(inv.settings.Status.ServicesFile, secretNames())
		if err != nil {
			return err
		}
		ci, _ := gitlab.ReadContext(inv.getenv)
		opts := fleet.Options{
			Command: cmd.name, Dir: inv.settings.Output.Dir, Limit: inv.settings.Status.Concurrency, Environ: inv.env.Environ,
			Taken: inv.clock().Now(), Log: inv.env.Stderr, InCI: ci.InCI, Stdout: inv.env.Stdout,
		}
		return fleet.Over(ctx, entries, opts, func(ctx context.Context, environ []string, log io.Writer) (int, error) {
			err := runCommand(ctx, cmd, nil, Env{Environ: environ, Stdout: log, Stderr: log, Clock: inv.env.Clock})
			return exitCode(log, err), err
		})
	}}
}

// envValue is the last value of name in environ ("" counts as unset).
func envValue(environ []string, name string) (string, bool) {
	v := ""
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v, v != ""
}
