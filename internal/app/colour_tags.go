package app

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/image"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// region is the run's AWS region, for console links ("" without AWS).
func (inv *invocation) region() string {
	if a := inv.settings.AWS; a != nil {
		return a.EffectiveRegion()
	}
	return ""
}

// releasedImages reads image metadata for the snapshot, from the
// registries release copies to only: an image elsewhere (a public base,
// another team's registry) is not ours to read, and may be out of reach.
type releasedImages struct {
	inv    *invocation
	client *image.Client
}

var errNotReleased = errors.New("not in a registry release copies to (BG_REGISTRY_IMAGE, BG_ECR_REPOSITORY)")

func (r releasedImages) ImageMetadata(ctx context.Context, ref string) (snapshot.ImageMetadata, error) {
	if !(registryTags{r.inv}).Released(ref) {
		return snapshot.ImageMetadata{}, errNotReleased
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return snapshot.ImageMetadata{}, err
	}
	m, err := r.client.Metadata(ctx, parsed)
	if err != nil {
		return snapshot.ImageMetadata{}, err
	}
	return snapshot.ImageMetadata{Annotations: m.Annotations, Labels: m.Labels}, nil
}

// moveColourTags points the registry tags blue and green at the image each
// colour runs, in every registry release copies to: deploy, promote,
// rollback and switch call it with the snapshot they read after acting. A
// colour with no tasks keeps its tag (it names what the colour ran last).
// A failure is logged, not fatal: traffic already moved.
func (inv *invocation) moveColourTags(ctx context.Context, s *snapshot.Snapshot) {
	regs := inv.settings.Registries
	if regs == nil || regs.RegistryImage.IsZero() && regs.ECRRepository == "" {
		return
	}
	client, repos, err := inv.registryRepos(ctx)
	if err != nil {
		inv.log.Warn("the colour tags could not be moved", "error", err.Error())
		return
	}
	inv.moveColourTagsWith(ctx, client, repos, s)
}

func (inv *invocation) moveColourTagsWith(ctx context.Context, client *image.Client, repos []name.Repository, s *snapshot.Snapshot) {
	for _, c := range s.Colours {
		digest, ok := c.ReleasedDigest(registryTags{inv}.Released)
		if !ok {
			continue
		}
		for _, repo := range repos {
			if err := client.MoveTagTo(ctx, repo, string(c.Colour), digest); err != nil {
				inv.log.Warn("the colour tag could not be moved", "repository", repo.String(), "tag", string(c.Colour), "error", err.Error())
			}
		}
	}
}

// Variables deploy.env carries about what is live, beside the colour
// (ECS_BLUEGREEN_LIVE_COLOUR): the environment page and later jobs read them.
const (
	envLiveCommit  = "ECS_BLUEGREEN_LIVE_COMMIT"
	envLiveVersion = "ECS_BLUEGREEN_LIVE_VERSION"
	envStatusURL   = "ECS_BLUEGREEN_STATUS_URL"
)

// statusPageURL is where GitLab shows this job's status.html
// (gitlab.ArtifactURL); "" outside a GitLab job or for an output folder
// outside the project.
func (inv *invocation) statusPageURL() string {
	if inv.settings.Output == nil {
		return ""
	}
	return gitlab.ArtifactURL(inv.getenv("CI_JOB_URL"), inv.getenv("CI_PROJECT_DIR"), inv.settings.Output.Dir, "status.html")
}

// recordLive says what is live after a command changed it: one log line,
// and the live commit and version in deploy.env (for the environment and
// the jobs after). Nothing is recorded while traffic is split.
func (inv *invocation) recordLive(s *snapshot.Snapshot) {
	c := s.Colour(s.Live)
	if c == nil || c.Release == nil {
		return
	}
	r := c.Release
	inv.log.Info("live", "colour", string(s.Live), "commit", r.ShortCommit(), "title", r.Title, "version", r.Version, "deployment_id", r.DeploymentID, "started_by", r.StartedBy)
	vars := map[string]string{envLiveCommit: r.Commit, envLiveVersion: r.Version}
	if s.StatusPage != "" {
		vars[envStatusURL] = s.StatusPage
	}
	if err := report.MergeDotenv(filepath.Join(inv.settings.Output.Dir, report.DotenvFile), vars); err != nil {
		inv.log.Warn("the live commit could not be written to deploy.env", "error", err.Error())
	}
}
