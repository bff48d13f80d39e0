package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
)

// rendered is a task definition and AppSpec made ready for one image.
type rendered struct {
	taskDef *render.TaskDef
	appSpec *render.AppSpec
	// receivers are the containers given the new image.
	receivers []string
}

// liveSource supplies what the files leave out: the live task definition and
// the service's container and port. nil when AWS is not at hand (render).
type liveSource interface {
	TaskDefinition(ctx context.Context) (*render.TaskDef, error)
	Spec(ctx context.Context) (render.ServiceSpec, error)
	LaunchType(ctx context.Context) (string, error)
}

// renderFiles reads BG_TASKDEF_FILE and BG_APPSPEC_FILE (or falls back to the
// live service), points the task definition at the image and checks the two
// against each other. Every input problem is a usage error (exit 2).
func (inv *invocation) renderFiles(ctx context.Context, live liveSource) (*rendered, error) {
	rs := inv.settings.Render
	image := inv.settings.Image.Image.String()
	r := &rendered{}
	td, err := render.ReadTaskDef(rs.TaskdefFile)
	switch {
	case errors.Is(err, fs.ErrNotExist) && live != nil:
		inv.log.Info("no task definition file: starting from the live task definition", "file", rs.TaskdefFile)
		td, err = live.TaskDefinition(ctx)
		if err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, &usageError{msg: fmt.Sprintf("task definition file %s not found (BG_TASKDEF_FILE)", rs.TaskdefFile), hint: "commit a taskdef.json (aws ecs describe-task-definition output works), or let deploy start from the live task definition"}
	case err != nil:
		return nil, &usageError{msg: err.Error(), hint: "fix the task definition file"}
	}
	if rs.Substitute {
		lookup := config.EnvironLookuper(inv.env.Environ)
		if err := td.Substitute(lookup.Lookup); err != nil {
			return nil, &usageError{msg: err.Error(), hint: "set the variables, or unset BG_TASKDEF_SUBSTITUTE"}
		}
	}
	if live != nil {
		lt, err := live.LaunchType(ctx)
		if err != nil {
			return nil, err
		}
		if err := td.CheckLaunchType(lt); err != nil {
			return nil, &usageError{msg: err.Error(), hint: "make the task definition fit the service's launch type"}
		}
	}
	r.receivers, err = td.SetImage(image, render.ImageRule{Container: rs.ContainerName, Placeholders: rs.Placeholders})
	if err != nil {
		return nil, &usageError{msg: err.Error(), hint: "set BG_CONTAINER_NAME to the container that runs the application"}
	}
	r.taskDef = td
	if live != nil {
		inv.printLiveDiff(ctx, live, td)
	}

	container, port := rs.ContainerName, int(rs.ContainerPort)
	data, err := os.ReadFile(rs.AppspecFile)
	switch {
	case err == nil:
		if r.appSpec, err = render.ParseAppSpec(data, rs.AppspecFile); err != nil {
			return nil, &usageError{msg: err.Error(), hint: "fix the AppSpec file"}
		}
	case errors.Is(err, fs.ErrNotExist):
		var spec render.ServiceSpec
		if live != nil {
			if spec, err = live.Spec(ctx); err != nil {
				return nil, err
			}
		}
		spec.Container = orString(container, orString(spec.Container, r.receivers[0]))
		spec.Port = orInt(port, orInt(spec.Port, td.FirstPort(spec.Container)))
		inv.log.Info("no AppSpec file: generating one from the service", "file", rs.AppspecFile, "container", spec.Container, "port", spec.Port)
		r.appSpec = render.NewAppSpec(render.TaskDefinitionPlaceholder, spec)
	default:
		return nil, err
	}
	if err := r.appSpec.Set(render.TaskDefinitionPlaceholder, rs.ContainerName, int(rs.ContainerPort)); err != nil {
		return nil, &usageError{msg: err.Error(), hint: "fix the AppSpec file"}
	}
	if err := r.appSpec.Validate(td); err != nil {
		return nil, &usageError{msg: err.Error(), hint: "make the AppSpec's container and port match the task definition"}
	}
	return r, nil
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// printLiveDiff shows, in the job log, what the rendered task definition
// changes from the one production runs: the reviewer's answer to "what
// exactly does this deployment change?".
func (inv *invocation) printLiveDiff(ctx context.Context, live liveSource, td *render.TaskDef) {
	current, err := live.TaskDefinition(ctx)
	if err != nil {
		inv.log.Warn("could not read the live task definition to compare with", "error", err.Error())
		return
	}
	changes := render.Diff(current, td)
	if len(changes) == 0 {
		fmt.Fprintf(inv.env.Stderr, "No change from the %s.\n", current.File)
		return
	}
	fmt.Fprintf(inv.env.Stderr, "Changes from the %s:\n%s", current.File, render.FormatDiff(changes))
}
