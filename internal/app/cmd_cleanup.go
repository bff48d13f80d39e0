package app

import (
	"context"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
)

// runCleanup deregisters (and with BG_DELETE_INACTIVE deletes) the service's
// old task definition revisions, keeping the newest BG_KEEP and every
// revision a task set, a service deployment or a deployment in progress uses.
func runCleanup(ctx context.Context, inv *invocation) error {
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	m, err := inv.model(ctx)
	if err != nil {
		return err
	}
	c := inv.settings.Cleanup
	cl := &deploy.Cleaner{ECS: clients.ECS, Log: inv.log, Out: inv.env.Stdout, Keep: c.Keep, DeleteInactive: c.DeleteInactive, DryRun: c.DryRun}
	return cl.Run(ctx, inv.settings.Target.Cluster, m.Services())
}
