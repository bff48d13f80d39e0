package app

import (
	"context"
	"fmt"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// runSandbox runs `sandbox serve`: the simulator and a registry on loopback,
// seeded, until interrupted. The full demo needs deploy, which is not built
// yet.
func runSandbox(ctx context.Context, inv *invocation) error {
	if len(inv.args) == 0 || inv.args[0] != "serve" {
		return &usageError{msg: "the sandbox demo needs the deploy command, which is not built yet in this release", hint: "run `ecs-bluegreen sandbox serve` to start the simulated AWS and registry"}
	}
	cfg := inv.settings["sandbox"].(*config.Sandbox)
	sb, err := sandbox.Start(ctx, sandbox.Options{AWSAddr: cfg.AWSAddr, RegistryAddr: cfg.RegistryAddr, Speed: cfg.Speed, Seed: true, Log: inv.log})
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(inv.env.Stdout, "# ecs-bluegreen sandbox: %s; simulated time runs %gx real time.\n# Paste these lines into a shell (or eval them), then run ecs-bluegreen or the AWS CLI.\n", sb, cfg.Speed)
	for _, line := range sb.Exports() {
		fmt.Fprintln(inv.env.Stdout, line)
	}
	if f, ok := inv.env.Stdout.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	<-ctx.Done()
	fmt.Fprintln(inv.env.Stderr, "sandbox stopped")
	return nil
}
