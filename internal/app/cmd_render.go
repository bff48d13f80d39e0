package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
)

// runRender writes the rendered taskdef.json and appspec.yml to the output
// folder. It needs no AWS access: both files come from the repository.
func runRender(ctx context.Context, inv *invocation) error {
	r, err := inv.renderFiles(ctx, nil)
	if err != nil {
		return err
	}
	dir := inv.settings["output"].(*config.Output).Dir
	td, err := r.taskDef.JSON()
	if err != nil {
		return err
	}
	spec, err := r.appSpec.YAML()
	if err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(dir, "taskdef.json"), td, 0o644); err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(dir, "appspec.yml"), spec, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(inv.env.Stdout, "rendered %s and %s: %s now runs %s\n",
		filepath.Join(dir, "taskdef.json"), filepath.Join(dir, "appspec.yml"), strings.Join(r.receivers, ", "), inv.settings["image"].(*config.Image).Image.String())
	return nil
}
