package app

import (
	"context"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
)

// renderFiles runs render's pipeline (render.Files.Prepare) with the run's
// settings: live is the live service to fall back on and compare with, nil
// when AWS is not at hand (render).
func (inv *invocation) renderFiles(ctx context.Context, live render.Live) (*render.Rendered, error) {
	rs := inv.settings.Render
	f := render.Files{
		TaskdefFile: rs.TaskdefFile, AppspecFile: rs.AppspecFile,
		Image:         inv.settings.Image.Image.String(),
		ContainerName: rs.ContainerName, ContainerPort: int(rs.ContainerPort), Placeholders: rs.Placeholders,
		Live: live, Log: inv.log, Diff: inv.env.Stderr,
	}
	if rs.Substitute {
		f.Substitute = func(td *render.TaskDef) error { return gitlab.Substitute(td.Substitute, inv.env.Environ) }
	}
	return f.Prepare(ctx)
}
