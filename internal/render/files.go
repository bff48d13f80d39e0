package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
)

// Live supplies what the files leave out: the live task definition and the
// service's container and port (deploy.ServiceSource reads them).
type Live interface {
	TaskDefinition(ctx context.Context) (*TaskDef, error)
	Spec(ctx context.Context) (ServiceSpec, error)
	LaunchType(ctx context.Context) (string, error)
}

// Files says where the task definition and AppSpec come from and what to
// make of them (BG_TASKDEF_FILE, BG_APPSPEC_FILE, BG_CONTAINER_NAME, ...).
type Files struct {
	TaskdefFile, AppspecFile string
	// Image is the image the receiving containers get.
	Image         string
	ContainerName string
	ContainerPort int
	Placeholders  []string
	// Substitute, when set, fills ${VAR} references of the task definition
	// (BG_TASKDEF_SUBSTITUTE).
	Substitute func(td *TaskDef) error
	// Live is the live service; nil when AWS is not at hand, and then a
	// missing file is an error rather than a fallback.
	Live Live
	Log  *slog.Logger
	// Diff receives the changes from the live task definition.
	Diff io.Writer
}

// Rendered is a task definition and AppSpec made ready for one image.
type Rendered struct {
	TaskDef *TaskDef
	AppSpec *AppSpec
	// Receivers are the containers given the new image.
	Receivers []string
}

// InputError is a problem with the files or how they are named: the user's
// to fix, and nothing was changed (exit 2).
type InputError struct {
	Msg, Hint string
}

func (e *InputError) Error() string { return e.Msg }

// ExitCode is 2: a usage or input error.
func (e *InputError) ExitCode() int { return 2 }

// ErrorHint says what to fix.
func (e *InputError) ErrorHint() string { return e.Hint }

// Prepare reads the task definition and the AppSpec (or falls back to the
// live service), points the task definition at the image and checks the two
// against each other. Every input problem is an *InputError.
func (f Files) Prepare(ctx context.Context) (*Rendered, error) {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Rendered{}
	td, err := ReadTaskDef(f.TaskdefFile)
	switch {
	case errors.Is(err, fs.ErrNotExist) && f.Live != nil:
		log.Info("no task definition file: starting from the live task definition", "file", f.TaskdefFile)
		td, err = f.Live.TaskDefinition(ctx)
		if err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, &InputError{Msg: fmt.Sprintf("task definition file %s not found (BG_TASKDEF_FILE)", f.TaskdefFile), Hint: "commit a taskdef.json (aws ecs describe-task-definition output works), or let deploy start from the live task definition"}
	case err != nil:
		return nil, &InputError{Msg: err.Error(), Hint: "fix the task definition file"}
	}
	if f.Substitute != nil {
		if err := f.Substitute(td); err != nil {
			return nil, &InputError{Msg: err.Error(), Hint: "set the variables, or unset BG_TASKDEF_SUBSTITUTE"}
		}
	}
	if f.Live != nil {
		lt, err := f.Live.LaunchType(ctx)
		if err != nil {
			return nil, err
		}
		if err := td.CheckLaunchType(lt); err != nil {
			return nil, &InputError{Msg: err.Error(), Hint: "make the task definition fit the service's launch type"}
		}
	}
	r.Receivers, err = td.SetImage(f.Image, ImageRule{Container: f.ContainerName, Placeholders: f.Placeholders})
	if err != nil {
		return nil, &InputError{Msg: err.Error(), Hint: "set BG_CONTAINER_NAME to the container that runs the application"}
	}
	r.TaskDef = td
	if f.Live != nil {
		f.printLiveDiff(ctx, log, td)
	}

	data, err := ReadFile(f.AppspecFile) // bounded: MaxFileSize
	switch {
	case err == nil:
		if r.AppSpec, err = ParseAppSpec(data, f.AppspecFile); err != nil {
			return nil, &InputError{Msg: err.Error(), Hint: "fix the AppSpec file"}
		}
	case errors.Is(err, fs.ErrNotExist):
		var spec ServiceSpec
		if f.Live != nil {
			if spec, err = f.Live.Spec(ctx); err != nil {
				return nil, err
			}
		}
		spec.Container = orString(f.ContainerName, orString(spec.Container, r.Receivers[0]))
		spec.Port = orInt(f.ContainerPort, orInt(spec.Port, td.FirstPort(spec.Container)))
		log.Info("no AppSpec file: generating one from the service", "file", f.AppspecFile, "container", spec.Container, "port", spec.Port)
		r.AppSpec = NewAppSpec(TaskDefinitionPlaceholder, spec)
	default:
		return nil, &InputError{Msg: err.Error(), Hint: "fix the AppSpec file"}
	}
	if err := r.AppSpec.Set(TaskDefinitionPlaceholder, f.ContainerName, f.ContainerPort); err != nil {
		return nil, &InputError{Msg: err.Error(), Hint: "fix the AppSpec file"}
	}
	if err := r.AppSpec.Validate(td); err != nil {
		return nil, &InputError{Msg: err.Error(), Hint: "make the AppSpec's container and port match the task definition"}
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
func (f Files) printLiveDiff(ctx context.Context, log *slog.Logger, td *TaskDef) {
	if f.Diff == nil {
		return
	}
	current, err := f.Live.TaskDefinition(ctx)
	if err != nil {
		log.Warn("could not read the live task definition to compare with", "error", err.Error())
		return
	}
	changes := Diff(current, td)
	if len(changes) == 0 {
		fmt.Fprintf(f.Diff, "No change from the %s.\n", current.File)
		return
	}
	fmt.Fprintf(f.Diff, "Changes from the %s:\n%s", current.File, FormatDiff(changes))
}
