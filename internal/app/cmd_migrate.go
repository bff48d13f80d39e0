package app

import (
	"context"
	"fmt"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/migrate"
)

// runMigrate moves a CodeDeploy blue/green service to ECS blue/green: a dry
// run printing every change and missing prerequisite, or with --apply the
// changes themselves.
func runMigrate(ctx context.Context, inv *invocation) error {
	apply, role, err := migrateArgs(inv.args)
	if err != nil {
		return err
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	t := inv.settings.Target
	e := &deploy.ECSNative{ECS: clients.ECS}
	svc, err := e.DescribeService(ctx, t.Cluster, t.Service)
	if err != nil {
		return err
	}
	if deploy.IsECSNative(svc) {
		inv.log.Info("nothing to migrate: ECS already deploys the service itself (strategy " + string(svc.DeploymentConfiguration.Strategy) + ")")
		return nil
	}
	cds := inv.settings.CodeDeploy
	cd := &deploy.CodeDeploy{ECS: clients.ECS, CD: clients.CodeDeploy, Clock: inv.clock()}
	target, err := cd.Resolve(ctx, t.Cluster, t.Service, cds.Application, cds.DeploymentGroup, "")
	if err != nil {
		return err
	}
	mc := migrate.Clients{ECS: clients.ECS, CodeDeploy: clients.CodeDeploy, ELB: clients.ELB}
	plan, err := migrate.Prepare(ctx, mc, migrate.Input{
		Cluster: target.Cluster, Service: target.ServiceState, Application: target.Application, Group: target.Group, GroupInfo: target.GroupInfo, RoleARN: role,
	})
	if err != nil {
		return err
	}
	plan.Write(inv.env.Stdout, apply)
	if !apply {
		return nil
	}
	return plan.Apply(ctx, mc, func(line string) { inv.progress(inv.clock().Now(), line) })
}

// migrateArgs reads --apply and --role-arn ARN.
func migrateArgs(args []string) (apply bool, role string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--apply":
			apply = true
		case a == "--role-arn" && i+1 < len(args):
			role = args[i+1]
			i++
		case strings.HasPrefix(a, "--role-arn="):
			role = strings.TrimPrefix(a, "--role-arn=")
		default:
			return false, "", &usageError{msg: fmt.Sprintf("unknown argument %q", a), hint: "usage: ecs-bluegreen migrate [--apply] [--role-arn ARN]"}
		}
	}
	if role != "" && !strings.HasPrefix(role, "arn:") {
		return false, "", &usageError{msg: fmt.Sprintf("--role-arn %q is not an ARN", role), hint: "give the role's ARN, arn:aws:iam::<account>:role/<name>"}
	}
	return apply, role, nil
}
