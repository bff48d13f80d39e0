package app

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// runStatus reads the snapshot, prints it as Markdown and writes
// status.json and status.md to the output folder.
func runStatus(ctx context.Context, inv *invocation) error {
	s, err := inv.snapshot(ctx)
	if err != nil {
		return err
	}
	md := report.StatusMarkdown(s)
	js, err := report.StatusJSON(s)
	if err != nil {
		return err
	}
	dir := inv.settings["output"].(*config.Output).Dir
	if err := report.WriteFile(filepath.Join(dir, "status.json"), js, 0o644); err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(dir, "status.md"), []byte(md), 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprint(inv.env.Stdout, md)
	return err
}

// snapshot reads the service's snapshot for the configured model.
func (inv *invocation) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := inv.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	r := &snapshot.Reader{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), CD: codedeploy.NewFromConfig(cfg)}
	return r.ReadCodeDeploy(ctx, run.target.Cluster, run.target.Service, run.target.Application, run.target.Group)
}
