package app

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
)

// runRender writes the rendered taskdef.json and appspec.yml to the output
// folder. It needs no AWS access when both files come from the repository;
// with BG_CLUSTER set it also reads the live service, to check against it
// and show what changes.
func runRender(ctx context.Context, inv *invocation) error {
	r, err := inv.renderFiles(ctx, inv.liveForRender(ctx))
	if err != nil {
		return err
	}
	dir := inv.settings.Output.Dir
	spec, err := r.AppSpec.YAML()
	if err != nil {
		return err
	}
	if err := writeRendered(dir, r.TaskDef, spec); err != nil {
		return err
	}
	fmt.Fprintf(inv.env.Stdout, "rendered %s and %s: %s now runs %s\n",
		filepath.Join(dir, "taskdef.json"), filepath.Join(dir, "appspec.yml"), strings.Join(r.Receivers, ", "), inv.settings.Image.Image.String())
	return nil
}

// writeRendered writes taskdef.json and appspec.yml into the output folder.
func writeRendered(dir string, td *render.TaskDef, appSpec []byte) error {
	return deploy.WriteRendered(func(name string, data []byte) error {
		return report.WriteFile(filepath.Join(dir, name), data, 0o644)
	}, td, appSpec)
}

// liveForRender is the live service when the settings name one and AWS
// answers; otherwise nil, and render works from the files alone.
func (inv *invocation) liveForRender(ctx context.Context) render.Live {
	t := inv.settings.Target
	if t == nil {
		return nil
	}
	if t.Service == "" {
		inv.log.Info("render compares with a live service only for the codedeploy model (BG_SERVICE)")
		return nil
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		inv.log.Warn("AWS is not reachable: rendering from the files alone", "error", err.Error())
		return nil
	}
	src := &deploy.ServiceSource{ECS: clients.ECS, Cluster: t.Cluster, Service: t.Service}
	if _, err := src.Describe(ctx); err != nil {
		inv.log.Warn("could not read the live service: rendering from the files alone", "service", t.Service, "error", err.Error())
		return nil
	}
	return src
}
