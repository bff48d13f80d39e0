package app

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
)

// runCleanup deregisters (and with BG_DELETE_INACTIVE deletes) the service's
// old task definition revisions, keeping the newest BG_KEEP and every
// revision a task set or a deployment in progress uses.
func runCleanup(ctx context.Context, inv *invocation) error {
	c := inv.settings["cleanup"].(*config.Cleanup)
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	svc, err := (&serviceSource{api: clients.ECS, cluster: run.target.Cluster, service: run.target.Service}).describe(ctx)
	if err != nil {
		return err
	}
	inUse := map[string]string{}
	for _, ts := range svc.TaskSets {
		inUse[aws.ToString(ts.TaskDefinition)] = "task set " + aws.ToString(ts.Id) + " (" + aws.ToString(ts.Status) + ")"
	}
	if td := aws.ToString(svc.TaskDefinition); td != "" {
		if _, ok := inUse[td]; !ok {
			inUse[td] = "the service"
		}
	}
	family := deploy.Family(aws.ToString(svc.TaskDefinition))
	active, err := listRevisions(ctx, clients.ECS, family, ecstypes.TaskDefinitionStatusActive)
	if err != nil {
		return err
	}
	var inactive []string
	if c.DeleteInactive {
		if inactive, err = listRevisions(ctx, clients.ECS, family, ecstypes.TaskDefinitionStatusInactive); err != nil {
			return err
		}
	}
	plan := deploy.PlanCleanup(family, active, inactive, inUse, c.Keep, c.DeleteInactive)
	out := inv.env.Stdout
	fmt.Fprintf(out, "task definition family %s: %d active revisions, keeping %d\n", family, len(active), len(plan.Keep))
	for _, arn := range plan.Keep {
		if reason, ok := plan.InUse[arn]; ok {
			fmt.Fprintf(out, "  keep       %s (in use by %s)\n", arn, reason)
		}
	}
	verb := ""
	if c.DryRun {
		verb = "would "
	}
	for _, arn := range plan.Deregister {
		fmt.Fprintf(out, "  %sderegister %s\n", verb, arn)
	}
	for _, arn := range plan.Delete {
		fmt.Fprintf(out, "  %sdelete     %s\n", verb, arn)
	}
	if c.DryRun {
		fmt.Fprintln(out, "dry run (BG_DRY_RUN): nothing was changed")
		return nil
	}
	for _, arn := range plan.Deregister {
		if _, err := clients.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return fmt.Errorf("deregistering %s: %w", arn, err)
		}
	}
	// DeleteTaskDefinitions takes at most 10 revisions a call.
	for i := 0; i < len(plan.Delete); i += 10 {
		batch := plan.Delete[i:min(i+10, len(plan.Delete))]
		res, err := clients.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: batch})
		if err != nil {
			return fmt.Errorf("deleting task definitions: %w", err)
		}
		for _, f := range res.Failures {
			inv.log.Warn("a revision was not deleted", "task_definition", aws.ToString(f.Arn), "reason", aws.ToString(f.Reason))
		}
	}
	fmt.Fprintf(out, "deregistered %d and deleted %d revisions\n", len(plan.Deregister), len(plan.Delete))
	return nil
}

// listRevisions lists a family's revisions with the given status, following
// pagination and keeping only the family itself (familyPrefix "web" also
// matches "web-worker").
func listRevisions(ctx context.Context, api *ecs.Client, family string, status ecstypes.TaskDefinitionStatus) ([]string, error) {
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing task definitions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if deploy.Family(arn) == family {
				out = append(out, arn)
			}
		}
	}
	return out, nil
}
