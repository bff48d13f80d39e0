// Command ecs-bluegreen performs blue/green deployments of Amazon ECS services
// from GitLab CI/CD. Everything but process wiring lives in internal/app.
package main

import (
	"context"
	"os"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/app"
)

func main() {
	ctx, stop := app.SignalContext(context.Background())
	code := app.Run(ctx, os.Args[1:], app.OSEnv())
	stop()
	os.Exit(code)
}
