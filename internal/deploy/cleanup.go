package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CleanupPlan says what cleanup does to a family's task definition revisions.
type CleanupPlan struct {
	Family string
	// Keep are the ACTIVE revisions left alone: the newest ones, and any
	// that something uses (the reason is in InUse).
	Keep []string
	// Deregister are ACTIVE revisions to deregister.
	Deregister []string
	// Delete are INACTIVE revisions to delete (BG_DELETE_INACTIVE).
	Delete []string
	InUse  map[string]string
}

// PlanCleanup keeps the newest keep ACTIVE revisions and every revision in
// use (a task set, an in-flight deployment), and deregisters the rest; with
// deleteInactive, INACTIVE revisions not in use are deleted as well.
func PlanCleanup(family string, active, inactive []string, inUse map[string]string, keep int, deleteInactive bool) CleanupPlan {
	p := CleanupPlan{Family: family, InUse: map[string]string{}}
	sortByRevision(active)
	sortByRevision(inactive)
	newest := map[string]bool{}
	for i := len(active) - 1; i >= 0 && len(newest) < keep; i-- {
		newest[active[i]] = true
	}
	for _, arn := range active {
		reason, used := inUse[arn]
		switch {
		case used:
			p.InUse[arn] = reason
			p.Keep = append(p.Keep, arn)
		case newest[arn]:
			p.Keep = append(p.Keep, arn)
		default:
			p.Deregister = append(p.Deregister, arn)
		}
	}
	if deleteInactive {
		for _, arn := range append(append([]string{}, inactive...), p.Deregister...) {
			if _, used := inUse[arn]; !used {
				p.Delete = append(p.Delete, arn)
			}
		}
	}
	return p
}

// Revision is the revision number of a task definition ARN (family:N), or 0.
func Revision(arn string) int {
	i := strings.LastIndex(arn, ":")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(arn[i+1:])
	return n
}

// Family is the family of a task definition ARN.
func Family(arn string) string {
	s := arn
	if i := strings.Index(s, "task-definition/"); i >= 0 {
		s = s[i+len("task-definition/"):]
	}
	f, _, _ := strings.Cut(s, ":")
	return f
}

func sortByRevision(arns []string) {
	sort.Slice(arns, func(i, j int) bool { return Revision(arns[i]) < Revision(arns[j]) })
}

// cleanupECS is the part of the ECS client cleanup uses.
type cleanupECS interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	DeleteTaskDefinitions(ctx context.Context, in *ecs.DeleteTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.DeleteTaskDefinitionsOutput, error)
}

// Cleaner removes old task definition revisions of a model's services.
type Cleaner struct {
	ECS cleanupECS
	Log *slog.Logger
	// Out receives the plan, one line per revision.
	Out io.Writer
	// Keep, DeleteInactive and DryRun are BG_KEEP, BG_DELETE_INACTIVE and BG_DRY_RUN.
	Keep           int
	DeleteInactive bool
	DryRun         bool
}

// Run cleans every task definition family the services run, keeping
// every revision one of them uses (InUse, then Clean for each family).
func (c *Cleaner) Run(ctx context.Context, cluster string, services []string) error {
	families, inUse, err := c.InUse(ctx, cluster, services)
	if err != nil {
		return err
	}
	for _, family := range families {
		if err := c.Clean(ctx, family, inUse); err != nil {
			return err
		}
	}
	return nil
}

// InUse reads the services: the task definition families they run, and
// every revision in use (task sets, service deployments, the service's own)
// with what uses it.
func (c *Cleaner) InUse(ctx context.Context, cluster string, services []string) ([]string, map[string]string, error) {
	out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: services})
	if err != nil {
		return nil, nil, fmt.Errorf("describing services %v: %w", services, err)
	}
	if len(out.Services) != len(services) {
		return nil, nil, fmt.Errorf("services %v: %d of them found in cluster %s", services, len(out.Services), cluster)
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
		if f := Family(td); !slices.Contains(families, f) {
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

// Clean plans and applies the cleanup of one family.
func (c *Cleaner) Clean(ctx context.Context, family string, inUse map[string]string) error {
	active, err := c.revisions(ctx, family, ecstypes.TaskDefinitionStatusActive)
	if err != nil {
		return err
	}
	var inactive []string
	if c.DeleteInactive {
		if inactive, err = c.revisions(ctx, family, ecstypes.TaskDefinitionStatusInactive); err != nil {
			return err
		}
	}
	plan := PlanCleanup(family, active, inactive, inUse, c.Keep, c.DeleteInactive)
	out := c.Out
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
		if _, err := c.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return fmt.Errorf("deregistering %s: %w", arn, err)
		}
	}
	// DeleteTaskDefinitions takes at most 10 revisions a call.
	for i := 0; i < len(plan.Delete); i += 10 {
		batch := plan.Delete[i:min(i+10, len(plan.Delete))]
		res, err := c.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: batch})
		if err != nil {
			return fmt.Errorf("deleting task definitions: %w", err)
		}
		for _, f := range res.Failures {
			c.Log.Warn("a revision was not deleted", "task_definition", aws.ToString(f.Arn), "reason", aws.ToString(f.Reason))
		}
	}
	fmt.Fprintf(out, "deregistered %d and deleted %d revisions\n", len(plan.Deregister), len(plan.Delete))
	return nil
}

// revisions lists a family's revisions with the given status, following
// pagination and keeping only the family itself (familyPrefix "web" also
// matches "web-worker").
func (c *Cleaner) revisions(ctx context.Context, family string, status ecstypes.TaskDefinitionStatus) ([]string, error) {
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(c.ECS, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing task definitions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if Family(arn) == family {
				out = append(out, arn)
			}
		}
	}
	return out, nil
}
