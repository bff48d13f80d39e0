package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

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
	families, inUse, err := inv.revisionsInUse(ctx, clients.ECS)
	if err != nil {
		return err
	}
	for _, family := range families {
		if err := inv.cleanFamily(ctx, clients.ECS, family, inUse); err != nil {
			return err
		}
	}
	return nil
}

// revisionsInUse reads the services of the configured model: the task
// definition families they run, and every revision in use with its user.
func (inv *invocation) revisionsInUse(ctx context.Context, api *ecs.Client) ([]string, map[string]string, error) {
	t := inv.settings.Target
	m, err := inv.model()
	if err != nil {
		return nil, nil, err
	}
	names := m.services()
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(t.Cluster), Services: names})
	if err != nil {
		return nil, nil, fmt.Errorf("describing services %v: %w", names, err)
	}
	if len(out.Services) != len(names) {
		return nil, nil, fmt.Errorf("services %v: %d of them found in cluster %s", names, len(out.Services), t.Cluster)
	}
	inUse := map[string]string{}
	var families []string
	use := func(td, by string) {
		if td == "" {
			return
		}
		if _, ok := inUse[td]; !ok {
			inUse[td] = by
		}
		if f := deploy.Family(td); !slices.Contains(families, f) {
			families = append(families, f)
		}
	}
	for _, svc := range out.Services {
		name := aws.ToString(svc.ServiceName)
		for _, ts := range svc.TaskSets {
			use(aws.ToString(ts.TaskDefinition), "task set "+aws.ToString(ts.Id)+" ("+aws.ToString(ts.Status)+") of "+name)
		}
		for _, d := range svc.Deployments {
			use(aws.ToString(d.TaskDefinition), "deployment "+aws.ToString(d.Id)+" ("+aws.ToString(d.Status)+") of "+name)
		}
		use(aws.ToString(svc.TaskDefinition), "service "+name)
	}
	return families, inUse, nil
}

// cleanFamily plans and applies the cleanup of one family.
func (inv *invocation) cleanFamily(ctx context.Context, api *ecs.Client, family string, inUse map[string]string) error {
	c := inv.settings.Cleanup
	active, err := listRevisions(ctx, api, family, ecstypes.TaskDefinitionStatusActive)
	if err != nil {
		return err
	}
	var inactive []string
	if c.DeleteInactive {
		if inactive, err = listRevisions(ctx, api, family, ecstypes.TaskDefinitionStatusInactive); err != nil {
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
		if _, err := api.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return fmt.Errorf("deregistering %s: %w", arn, err)
		}
	}
	// DeleteTaskDefinitions takes at most 10 revisions a call.
	for i := 0; i < len(plan.Delete); i += 10 {
		batch := plan.Delete[i:min(i+10, len(plan.Delete))]
		res, err := api.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: batch})
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
