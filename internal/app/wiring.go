package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/image"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version"
)

// Names of deploy.env's variables (deploy.Env*), as the build and release
// commands write them too.
const (
	envImage        = deploy.EnvImage
	envIdleColour   = deploy.EnvIdleColour
	envLiveColour   = deploy.EnvLiveColour
	envOutcome      = deploy.EnvOutcome
	envProdURL      = deploy.EnvProdURL
	envTestURL      = deploy.EnvTestURL
	envDeploymentID = deploy.EnvDeploymentID
)

// envRedeploy marks the deploy that rollback runs, in its deployment's
// description, so a retried rollback job of the same pipeline sees its own
// work done. Not a BG_ setting: only rollback sets it.
const envRedeploy = "ECS_BLUEGREEN_REDEPLOY"

// progress prints one line of deployment progress on stderr.
func (inv *invocation) progress(at time.Time, line string) {
	fmt.Fprintf(inv.env.Stderr, "%s  %s\n", at.UTC().Format("15:04:05"), line)
}

// origin is the marker of this run's deployments: the GitLab project and
// pipeline, else BG_RUN_ID. Empty when neither says, and then a retried job
// cannot tell its own deployment from another's.
func (inv *invocation) origin(ci gitlab.Context) string {
	if o := deploy.Origin(ci.ProjectPath, ci.PipelineID); o != "" {
		return o
	}
	if d := inv.settings.Deployment; d != nil && d.RunID != "" {
		return "[ecs-bluegreen run " + d.RunID + "]"
	}
	return ""
}

// redeploy runs deploy again with image: rollback's way back when no
// deployment is in progress.
func (inv *invocation) redeploy(ctx context.Context, img string) error {
	env := append(append([]string{}, inv.env.Environ...), "BG_IMAGE="+img, "BG_DEPLOYMENT_ID=", envRedeploy+"="+deploy.RedeployMarker)
	return runCommand(ctx, lookup("deploy"), nil, Env{Environ: env, Stdout: inv.env.Stdout, Stderr: inv.env.Stderr, Clock: inv.env.Clock})
}

// switchTo is the colour asked for: --to on the command line, else
// BG_SWITCH_TO, else the colour this pipeline's deploy prepared; empty
// means the idle one.
func (inv *invocation) switchTo() (snapshot.Colour, error) {
	var to snapshot.Colour
	if sw := inv.settings.Switch; sw != nil {
		to = snapshot.Colour(sw.To)
	}
	if prepared := inv.getenv(envIdleColour); to == "" && (prepared == "blue" || prepared == "green") {
		// The colour this pipeline's deploy prepared: a retried or second
		// press of the button must not send production back.
		to = snapshot.Colour(prepared)
	}
	for i := 0; i < len(inv.args); i++ {
		a := inv.args[i]
		var v string
		switch {
		case a == "--to" && i+1 < len(inv.args):
			v = inv.args[i+1]
			i++
		case len(a) > 5 && a[:5] == "--to=":
			v = a[5:]
		default:
			return "", &usageError{msg: fmt.Sprintf("unknown argument %q", a), hint: "usage: ecs-bluegreen switch [--to blue|green]"}
		}
		if v != "blue" && v != "green" {
			return "", &usageError{msg: fmt.Sprintf("--to %q: want blue or green", v)}
		}
		to = snapshot.Colour(v)
	}
	return to, nil
}

// interrupted tells a signal apart from a failure: when the job was
// cancelled, the error carries the signal (exit 130/143) after what the
// switch did about it (traffic sent back).
func interrupted(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		var sig Interrupted
		if errors.As(cause, &sig) {
			return fmt.Errorf("%w: %w", sig, err)
		}
	}
	return err
}

// reports writes a model's outputs into BG_OUTPUT_DIR (deploy.Reports).
type reports struct{ inv *invocation }

func (r reports) Dotenv(vars map[string]string) error {
	return report.MergeDotenv(filepath.Join(r.inv.settings.Output.Dir, report.DotenvFile), vars)
}

func (r reports) Artifact(name string, data []byte) error {
	return report.WriteFile(filepath.Join(r.inv.settings.Output.Dir, name), data, 0o644)
}

// Status writes the status reports and the live colour, and prints it. A
// model calls it after it acted, so the colour tags first follow what each
// colour now runs.
func (r reports) Status(ctx context.Context, s *snapshot.Snapshot) error {
	r.inv.registryAfter(ctx, s, true)
	if err := writeStatus(r.inv.settings.Output.Dir, s); err != nil {
		return err
	}
	if err := r.Dotenv(map[string]string{envLiveColour: string(s.Live)}); err != nil {
		return err
	}
	_, err := fmt.Fprint(r.inv.env.Stdout, report.StatusMarkdown(s))
	return err
}

// registryTags moves and reads the registries' live and previous tags
// (deploy.Tags), in every registry release copies the image to.
type registryTags struct{ inv *invocation }

// Released reports whether an image reference is in one of the
// repositories release copies to (the GitLab registry image, or the ECR
// repository by name).
func (r registryTags) Released(ref string) bool {
	regs := r.inv.settings.Registries
	repo, _, _ := strings.Cut(ref, "@")
	if !regs.RegistryImage.IsZero() && repo == regs.RegistryImage.String() {
		return true
	}
	// BG_ECR_REPOSITORY is a full URI or a repository name such as team/web.
	ecr := regs.ECRRepository
	return ecr != "" && (repo == ecr || strings.HasSuffix(repo, "/"+ecr))
}

// MoveLive points the live tag at digest (and previous at what was live)
// in every configured registry.
// MoveColours points the blue and green tags at what each colour runs.
func (r registryTags) MoveColours(ctx context.Context, s *snapshot.Snapshot) {
	r.inv.moveColourTags(ctx, s)
}

func (r registryTags) MoveLive(ctx context.Context, digest string) error {
	inv := r.inv
	regs := inv.settings.Registries
	if regs.RegistryImage.IsZero() && regs.ECRRepository == "" {
		return nil
	}
	client, repos, err := inv.registryRepos(ctx)
	if err != nil {
		return err
	}
	for _, repo := range repos {
		d := repo.Digest(digest)
		if err := client.MoveLive(ctx, d, regs.LiveTag, regs.PreviousTag); err != nil {
			return err
		}
		inv.log.Info("registry tags moved", "repository", repo.String(), "live", regs.LiveTag, "previous", regs.PreviousTag)
	}
	return nil
}

// Previous is the image the registry's previous tag names; the last
// repository is where ECS pulls from (ECR when there is one).
func (r registryTags) Previous(ctx context.Context) (string, error) {
	regs := r.inv.settings.Registries
	client, repos, err := r.inv.registryRepos(ctx)
	if err != nil {
		return "", err
	}
	if len(repos) == 0 {
		return "", &usageError{
			msg:  "no deployment is in progress, and no registry is configured to find the previous image in",
			hint: "set BG_ECR_REPOSITORY (or BG_REGISTRY_IMAGE), whose previous tag deploy maintains; or run deploy with the image to go back to",
		}
	}
	repo := repos[len(repos)-1]
	prev, err := client.Resolve(ctx, repo.Tag(regs.PreviousTag))
	if err != nil {
		return "", &usageError{msg: fmt.Sprintf("no deployment is in progress, and %s:%s cannot be read: %v", repo, regs.PreviousTag, err), hint: "nothing was changed; run deploy with the image to go back to"}
	}
	return prev.String(), nil
}

// registryRepos is a registry client and the repositories release copies to:
// the GitLab registry and ECR, as configured.
func (inv *invocation) registryRepos(ctx context.Context) (*image.Client, []name.Repository, error) {
	return inv.registryReposFor(ctx, false)
}

// registryReposFor is registryRepos, creating the ECR repository when it
// is missing and create is set (release with BG_ECR_CREATE).
func (inv *invocation) registryReposFor(ctx context.Context, create bool) (*image.Client, []name.Repository, error) {
	regs := inv.settings.Registries
	keychain := registryKeychain(regs)
	var repos []name.Repository
	if !regs.RegistryImage.IsZero() {
		repos = append(repos, regs.RegistryImage.Repo)
	}
	if regs.ECRRepository != "" {
		clients, err := inv.clients(ctx)
		if err != nil {
			return nil, nil, err
		}
		var repo name.Repository
		var creds image.Credentials
		if inv.cmd.name == "status" || inv.cmd.name == "verify" {
			// Reading tags needs no DescribeRepositories: one call less.
			repo, creds, err = image.ECRForReading(ctx, clients.ECR, regs.ECRRepository)
		} else {
			repo, creds, err = image.ECR(ctx, clients.ECR, regs.ECRRepository, create)
		}
		if err != nil {
			return nil, nil, err
		}
		keychain.Add(creds)
		repos = append(repos, repo)
	}
	return image.NewClient(keychain, image.WithUserAgent("ecs-bluegreen/"+version.Get().Version)), repos, nil
}

func orString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
