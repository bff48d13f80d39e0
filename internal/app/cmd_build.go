package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/image"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version"
)

// runBuild builds the Dockerfile without a daemon, pushes the result by
// digest to BG_REGISTRY_IMAGE, prints the pinned reference and leaves it in
// deploy.env as BG_IMAGE for the release job.
func runBuild(ctx context.Context, inv *invocation) error {
	b := inv.settings.Build
	regs := inv.settings.Registries
	if regs.RegistryImage.IsZero() {
		return &usageError{msg: "build has nowhere to push the image", hint: "set BG_REGISTRY_IMAGE (CI_REGISTRY_IMAGE in GitLab CI)"}
	}
	dockerfile := b.Dockerfile
	if dockerfile == "" {
		dockerfile = filepath.Join(b.Context, "Dockerfile")
	}
	created := b.Created()
	meta := image.OCIMetadata(created, inv.getenv)
	// Links in the checkout may not lead the build out of it.
	project := inv.getenv("CI_PROJECT_DIR")
	if project == "" {
		project = "."
	}
	client := image.NewClient(registryKeychain(regs), image.WithUserAgent("ecs-bluegreen/"+version.Get().Version))
	built, err := client.Build(ctx, image.BuildOptions{
		Context: b.Context, Dockerfile: dockerfile, Project: project, Args: b.BuildArgs(), Created: created, Labels: meta, Annotations: meta,
	})
	var de *image.DockerfileError
	if errors.As(err, &de) || (errors.Is(err, image.ErrNotFound) && !errors.Is(err, image.ErrUnauthorized)) {
		return &usageError{msg: err.Error(), hint: "nothing was pushed"}
	}
	if err != nil {
		return err
	}
	defer built.Close()
	pinned, err := client.Push(ctx, built, regs.RegistryImage.Repo, inv.getenv("CI_COMMIT_SHA"))
	if err != nil {
		return err
	}
	inv.log.Info("image built", "image", pinned.String())
	fmt.Fprintln(inv.env.Stdout, pinned.String())
	dir := inv.settings.Output.Dir
	return report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{
		envImage: pinned.String(), envImageDigest: pinned.DigestStr(),
	})
}

// registryKeychain logs in to the GitLab registry with the CI credentials and
// to every other registry with the Docker config file.
func registryKeychain(regs *config.Registries) *image.Keychain {
	keychain := image.NewKeychain(nil)
	host := regs.Registry
	if host == "" && !regs.RegistryImage.IsZero() {
		host = regs.RegistryImage.Repo.RegistryStr()
	}
	if c, ok := image.GitLabCredentials(host, regs.RegistryUser, regs.RegistryPassword.Value(), regs.JobToken.Value()); ok {
		keychain.Add(c)
	}
	return keychain
}
