package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/image"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
)

// envImageDigest is the digest release leaves in deploy.env next to the
// pinned BG_IMAGE.
const envImageDigest = "ECS_BLUEGREEN_IMAGE_DIGEST"

// runRelease copies BG_IMAGE by digest to the GitLab registry and to ECR, tags
// it with the commit and the candidate tag, prints the pinned reference and
// leaves it in deploy.env as BG_IMAGE for the deploy job.
func runRelease(ctx context.Context, inv *invocation) error {
	src := inv.settings.Image.Image.Ref
	regs := inv.settings.Registries
	if regs.RegistryImage.IsZero() && regs.ECRRepository == "" {
		return &usageError{
			msg:  "release has nowhere to copy the image",
			hint: "set BG_REGISTRY_IMAGE (CI_REGISTRY_IMAGE in GitLab CI) or BG_ECR_REPOSITORY",
		}
	}
	client, dests, err := inv.registryReposFor(ctx, regs.ECRCreate)
	if errors.Is(err, image.ErrECRRepositoryMissing) {
		return &usageError{msg: err.Error(), hint: "nothing was copied"}
	}
	if err != nil {
		return err
	}
	var tags []string
	for _, t := range []string{regs.CommitTag, regs.CandidateTag} {
		if t != "" {
			tags = append(tags, t)
		}
	}
	out, err := client.Release(ctx, src, dests, tags)
	if err != nil {
		if errors.Is(err, image.ErrNotFound) && !errors.Is(err, image.ErrUnauthorized) {
			return &usageError{msg: err.Error(), hint: "nothing was deployed"}
		}
		return err
	}
	for _, p := range out.Pinned {
		inv.log.Info("image released", "image", p.String(), "tags", tags)
	}
	// The last destination is where ECS pulls from: ECR when there is one.
	pinned := out.Pinned[len(out.Pinned)-1]
	fmt.Fprintln(inv.env.Stdout, pinned.String())
	dir := inv.settings.Output.Dir
	return report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{
		envImage:       pinned.String(),
		envImageDigest: out.Digest.String(),
	})
}
