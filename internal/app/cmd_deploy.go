package app

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/image"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version"
)

// Variables deploy leaves in deploy.env for the later jobs of the pipeline.
// BG_* names are settings those jobs read; the others are for people and
// scripts (only BG_* names are checked against the settings).
const (
	envDeploymentID   = "BG_DEPLOYMENT_ID"
	envImage          = "BG_IMAGE"
	envTaskDefinition = "ECS_BLUEGREEN_TASK_DEFINITION"
	envOutcome        = "ECS_BLUEGREEN_OUTCOME"
)

// deploy renders and registers the task definition, starts the CodeDeploy
// deployment (or attaches to this pipeline's), and watches it to the end.
func (m codeDeployModel) deploy(ctx context.Context) error {
	inv := m.inv
	run, err := inv.codeDeploy(ctx)
	if err != nil {
		return err
	}
	clients, err := inv.clients(ctx)
	if err != nil {
		return err
	}
	ci, err := gitlab.ReadContext(inv.getenv)
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	sections := gitlab.Sections{W: inv.env.Stderr, InCI: ci.InCI}
	endRender := sections.Start("ecs_bluegreen_render", "Rendering and registering the task definition", true)
	r, err := inv.renderFiles(ctx, &deploy.ServiceSource{ECS: clients.ECS, Cluster: run.target.Cluster, Service: run.target.Service, State: run.target.ServiceState})
	if err != nil {
		endRender()
		return err
	}
	reg, spec, err := registerRendered(ctx, inv, clients, r)
	endRender()
	if err != nil {
		return err
	}
	dir := inv.settings.Output.Dir
	origin := inv.origin(ci)
	req := deploy.Request{
		AppSpec:     spec,
		Origin:      origin,
		Description: deploy.Describe(origin, inv.getenv(envRedeploy), ci.PipelineURL, ci.JobURL, ci.CommitSHA),
		OnBusy:      deploy.BusyPolicy(run.dep.OnBusy),
	}
	prev := primaryTaskDefinition(run.target.ServiceState)
	if wait, ok := run.target.TerminationWait(); ok && wait == 0 && run.session.ProdSmoke != nil {
		inv.log.Warn("the deployment group's termination wait is 0: the original tasks go as soon as production traffic moves, so CodeDeploy cannot roll back a failed production check; it is answered by redeploying the previous revision",
			"previous", deploy.ShortTaskDef(prev))
	}
	run.session.Revert = run.revertTo(prev, r.appSpec, req, ci.JobURL)
	// BG_TIMEOUT bounds the whole job: the wait behind another pipeline's
	// deployment, then the watch with what is left.
	budget, begun := run.session.Timeout, time.Now()
	sctx, cancel := context.WithTimeoutCause(ctx, budget, errWaitedTooLong)
	var waitedFor string
	started, err := run.cd.Start(sctx, run.target, req, func(b *deploy.BusyError) {
		waitedFor = b.DeploymentID
		inv.log.Warn("another deployment holds the deployment group: waiting for it", "deployment_id", b.DeploymentID, "description", b.Description)
	})
	cancel()
	if err != nil {
		if errors.Is(context.Cause(sctx), errWaitedTooLong) && ctx.Err() == nil {
			return &timeoutError{msg: fmt.Sprintf("waited %s (BG_TIMEOUT) for deployment %s to release the deployment group; nothing of this pipeline was started", budget, waitedFor)}
		}
		return err
	}
	run.session.Timeout = max(budget-time.Since(begun), time.Second)
	id := started.DeploymentID
	if started.Attached {
		inv.log.Info("this pipeline's deployment is already running: watching it", "deployment_id", id)
	} else {
		inv.log.Info("deployment started", "deployment_id", id, "deployment_config", run.target.Config)
	}
	dotenv := map[string]string{envDeploymentID: id, envImage: inv.settings.Image.Image.String(), envTaskDefinition: reg.ARN, envOutcome: "in-progress"}
	maps.Copy(dotenv, inv.environmentURLs(ctx, clients.ELB, groupRoute(run.target, false), groupRoute(run.target, true)))
	// Written before watching, so promote, rollback and finish find the
	// deployment even if this job is cancelled.
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil {
		return err
	}
	endWatch := sections.Start("ecs_bluegreen_watch", "Deployment "+id, false)
	out, werr := run.session.Watch(ctx, id)
	endWatch()
	switch {
	case werr == nil && out.AwaitingPromotion:
		dotenv[envOutcome] = "awaiting-promotion"
	case werr == nil && out.InTerminationWait:
		dotenv[envOutcome] = "traffic-moved"
	case werr == nil:
		dotenv[envOutcome] = "succeeded"
	default:
		var de *deploy.DeploymentError
		if errors.As(werr, &de) {
			dotenv[envOutcome] = "failed"
			if de.RollbackID != "" {
				dotenv[envOutcome] = "rolled-back"
			}
		}
	}
	if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), dotenv); err != nil && werr == nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if dotenv[envOutcome] == "succeeded" || dotenv[envOutcome] == "traffic-moved" {
		if err := inv.moveLiveTags(ctx); err != nil {
			// The deployment itself succeeded: say so, but do not fail the job
			// for a registry tag.
			inv.log.Warn("production runs the new image, but moving the registry's live tag failed", "error", err.Error())
		}
	}
	if s, err := inv.snapshot(ctx); err == nil {
		inv.registryAfter(ctx, s, true) // moves the colour tags, then reads the registry
		if err := writeStatus(dir, s); err != nil {
			return err
		}
		if err := report.MergeDotenv(filepath.Join(dir, report.DotenvFile), map[string]string{envLiveColour: string(s.Live)}); err != nil {
			return err
		}
		fmt.Fprint(inv.env.Stdout, report.StatusMarkdown(s))
	} else {
		inv.log.Warn("the deployment ended but the status report could not be read", "error", err.Error())
	}
	return nil
}

// revertTo redeploys prev with the AppSpec as rendered for this service:
// the way back when a production check fails after the deployment ended.
func (r *codeDeployRun) revertTo(prev string, spec *render.AppSpec, req deploy.Request, jobURL string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if prev == "" {
			return "", errors.New("the previous task definition is not known")
		}
		if err := spec.Set(prev, "", 0); err != nil {
			return "", err
		}
		back, err := spec.YAML()
		if err != nil {
			return "", err
		}
		rev := req
		rev.AppSpec = back
		rev.Description = deploy.Describe(req.Origin, "redeploying "+deploy.ShortTaskDef(prev)+" after a failed production check", jobURL)
		started, err := r.cd.Start(ctx, r.target, rev, nil)
		return started.DeploymentID, err
	}
}

// errWaitedTooLong is the cause when the wait behind another deployment
// used up BG_TIMEOUT.
var errWaitedTooLong = errors.New("waited too long for the deployment group")

// primaryTaskDefinition is what the service's PRIMARY task set runs: what
// production ran before this deployment.
func primaryTaskDefinition(svc *ecstypes.Service) string {
	if svc == nil {
		return ""
	}
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			return aws.ToString(ts.TaskDefinition)
		}
	}
	return aws.ToString(svc.TaskDefinition)
}

// groupRoute is the deployment group's production (or test) listener.
func groupRoute(t *deploy.Target, test bool) string {
	if t.GroupInfo == nil || t.GroupInfo.LoadBalancerInfo == nil || len(t.GroupInfo.LoadBalancerInfo.TargetGroupPairInfoList) == 0 {
		return ""
	}
	pair := t.GroupInfo.LoadBalancerInfo.TargetGroupPairInfoList[0]
	route := pair.ProdTrafficRoute
	if test {
		route = pair.TestTrafficRoute
	}
	if route == nil || len(route.ListenerArns) == 0 {
		return ""
	}
	return route.ListenerArns[0]
}

// moveLiveTags points the registries' live tag at the deployed image and the
// previous tag at what was live before, in every registry release copied the
// image to (the GitLab registry, ECR). An image given by tag is left alone:
// only a digest says what actually runs.
func (inv *invocation) moveLiveTags(ctx context.Context) error {
	ref := inv.settings.Image.Image.Ref
	digest, ok := ref.(name.Digest)
	if !ok {
		inv.log.Info("the image is not pinned by digest: registry tags are left as they are", "image", ref.String())
		return nil
	}
	return inv.moveLiveTagsTo(ctx, digest.DigestStr())
}

// moveLiveTagsTo points the live tag at digest (and previous at what was
// live) in every configured registry.
func (inv *invocation) moveLiveTagsTo(ctx context.Context, digest string) error {
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

// registryRepos is a registry client and the repositories release copies to:
// the GitLab registry and ECR, as configured.
func (inv *invocation) registryRepos(ctx context.Context) (*image.Client, []name.Repository, error) {
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
		repo, creds, err := image.ECR(ctx, clients.ECR, regs.ECRRepository, false)
		if err != nil {
			return nil, nil, err
		}
		keychain.Add(creds)
		repos = append(repos, repo)
	}
	return image.NewClient(keychain, image.WithUserAgent("ecs-bluegreen/"+version.Get().Version)), repos, nil
}
