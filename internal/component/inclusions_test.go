package component

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestThreeServicesOnePipeline runs one pipeline with three inclusions, as
// a team with several services writes it: deploy with its defaults (prefix
// ecs) building web, deploy again for api (prefix api) with an explicit
// image, and switch with its defaults (prefix ecs-listener) for shop with
// another explicit image. Each service must deploy its own image (GitLab
// gives dotenv variables precedence over job variables, so a job that took
// web's build report would deploy web's image everywhere), and each must
// move its own registry tags.
func TestThreeServicesOnePipeline(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	sb := startSandbox(t)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""), BaseEndpoint: aws.String(sb.Env["AWS_ENDPOINT_URL"])}
	if _, err := seed.Create(context.Background(), seed.Clients{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), CodeDeploy: codedeploy.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg)}, seed.Options{Cluster: "staging", Service: "api"}); err != nil {
		t.Fatal(err)
	}
	apiImage := pushRandomImage(t, sb, "other/api:v1")
	shopImage := pushRandomImage(t, sb, "other/shop:v1")
	pipeline := `stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      aws_region: eu-west-1
      cluster: prod
      service: web
      build: true
      ecr_repository: web
      smoke_interval: 100ms
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      job_prefix: api
      environment: staging
      aws_region: eu-west-1
      cluster: staging
      service: api
      image: ` + apiImage + `
      ecr_repository: api
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/switch@$CI_COMMIT_SHA
    inputs:
      aws_region: eu-west-1
      cluster: prod
      blue_service: ` + sb.Env["SANDBOX_SWITCH_BLUE_SERVICE"] + `
      green_service: ` + sb.Env["SANDBOX_SWITCH_GREEN_SERVICE"] + `
      listener_arn: ` + sb.Env["SANDBOX_SWITCH_LISTENER_ARN"] + `
      test_listener_arn: ` + sb.Env["SANDBOX_SWITCH_TEST_LISTENER_ARN"] + `
      image: ` + shopImage + `
      ecr_repository: shop
      smoke_interval: 100ms
`
	p := newProject(t, pipeline, withApp())
	r := p.gitlabCILocal(t, sb.pipelineVariables()...)
	r.expect(t, 0, map[string]string{
		"ecs-build": "PASS", "ecs-release": "PASS", "ecs-deploy": "PASS", "ecs-preview": "PASS",
		"api-release": "PASS", "api-deploy": "PASS", "api-preview": "PASS",
		"ecs-listener-release": "PASS", "ecs-listener-deploy": "PASS",
	})
	digest := func(ref string) string { return ref[strings.LastIndex(ref, "@")+1:] }
	built := p.dotenv(t, "ecs-build")["BG_IMAGE"]
	for job, want := range map[string]string{
		"ecs-release": digest(built), "ecs-deploy": digest(built),
		"api-release": digest(apiImage), "api-deploy": digest(apiImage),
		"ecs-listener-release": digest(shopImage), "ecs-listener-deploy": digest(shopImage),
	} {
		if got := p.dotenv(t, job)["BG_IMAGE"]; !strings.HasSuffix(got, "@"+want) {
			t.Errorf("%s left BG_IMAGE=%s, want its own inclusion's image %s", job, got, want)
		}
	}
	// Each service's GitLab registry repository, and its live tag on the
	// image it now runs; the switch has not moved shop's live tag yet.
	for repo, want := range map[string]string{"web": digest(built), "api": digest(apiImage)} {
		if got := tagDigest(t, sb, sb.Env["CI_REGISTRY_IMAGE"]+"/"+repo+":live"); got != want {
			t.Errorf("%s/%s:live is %s, want %s", sb.Env["CI_REGISTRY_IMAGE"], repo, got, want)
		}
	}
	if got := tagDigest(t, sb, sb.Env["CI_REGISTRY_IMAGE"]+"/shop-blue:candidate"); got != digest(shopImage) {
		t.Errorf("shop's candidate tag is %s, want %s", got, digest(shopImage))
	}
}

// pushRandomImage pushes a small image to the sandbox's registry, as a
// team's own build job would, and returns it pinned by digest.
func pushRandomImage(t *testing.T, sb *sandbox, path string) string {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(sb.Env["CI_REGISTRY"]+"/"+path, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: sb.Env["CI_REGISTRY_USER"], Password: sb.Env["CI_REGISTRY_PASSWORD"]})
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String()).String()
}

// tagDigest reads the digest a tag of the sandbox's registry names, or "".
func tagDigest(t *testing.T, sb *sandbox, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref, remote.WithAuth(&authn.Basic{Username: sb.Env["CI_REGISTRY_USER"], Password: sb.Env["CI_REGISTRY_PASSWORD"]}))
	if err != nil {
		return ""
	}
	return desc.Digest.String()
}

// TestIncludes_pairsWithDefaults includes every pair of components with
// only their required inputs in gitlab-ci-local: each pair must create all
// the jobs of both, none merged into another.
func TestIncludes_pairsWithDefaults(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	include := map[string]string{
		"deploy": "  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA\n    inputs: {cluster: prod, service: web}\n",
		"switch": "  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/switch@$CI_COMMIT_SHA\n    inputs: {cluster: prod, blue_service: shop-blue, green_service: shop-green, listener_arn: $LISTENER_ARN}\n",
		"verify": "  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA\n    inputs: {cluster: prod, service: web}\n",
	}
	jobs := map[string]int{}
	for name := range include {
		p := newProject(t, "stages: [build, test, deploy]\ninclude:\n"+include[name], map[string]string{})
		jobs[name] = len(p.listJSON(t))
	}
	for _, pair := range [][2]string{{"deploy", "switch"}, {"deploy", "verify"}, {"switch", "verify"}} {
		p := newProject(t, "stages: [build, test, deploy]\ninclude:\n"+include[pair[0]]+include[pair[1]], map[string]string{})
		if got, want := len(p.listJSON(t)), jobs[pair[0]]+jobs[pair[1]]; got != want {
			t.Errorf("%s and %s with their defaults make %d jobs, want %d: some merged", pair[0], pair[1], got, want)
		}
	}
}

// TestIncludes_requiredInputs checks that a pipeline leaving out an input
// without which nothing can work is refused before any job runs, naming it.
func TestIncludes_requiredInputs(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	for input, pipeline := range map[string]string{
		"service":       "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA\n    inputs: {cluster: prod}\n",
		"cluster":       "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA\n    inputs: {service: web}\n",
		"green_service": "include:\n  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/switch@$CI_COMMIT_SHA\n    inputs: {cluster: prod, blue_service: a, listener_arn: $L}\n",
	} {
		p := newProject(t, "stages: [build, test, deploy]\n"+pipeline, map[string]string{})
		r := p.gitlabCILocal(t, "--list")
		if r.Code == 0 || !strings.Contains(r.Output, "`"+input+"` input: required value has not been provided") {
			t.Errorf("without %s: exit %d, want the pipeline refused naming it:\n%s", input, r.Code, r.Output)
		}
	}
}

// TestIncludes_tagPin includes the deploy component by a release tag from
// another project, as a user does, with gitlab-ci-local fetching it over git
// from a local copy of this repository tagged 1.0.0: the jobs run the tool
// image of the commit the tag names.
func TestIncludes_tagPin(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	component := newProject(t, "stages: [test]\nunit:\n  stage: test\n  script: [true]\n", map[string]string{})
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(component.Dir, "tag", "1.0.0")
	sha := git(component.Dir, "rev-parse", "1.0.0^{commit}")
	remotes := t.TempDir()
	bare := filepath.Join(remotes, "ecs-bluegreen", "ecs-bluegreen.git")
	git(remotes, "clone", "-q", "--bare", component.Dir, bare)

	consumer := newProject(t, `stages: [build, test, deploy]
include:
  - component: gitlab.example.com/ecs-bluegreen/ecs-bluegreen/deploy@1.0.0
    inputs: {cluster: prod, service: web}
`, map[string]string{})
	// The consumer lives at another path of the same instance; git fetches
	// the component project from the local copy instead of the network.
	home := filepath.Join(consumer.Dir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	gitconfig := "[url \"file://" + filepath.Join(remotes, "ecs-bluegreen") + "/\"]\n\tinsteadOf = https://gitlab.example.com/ecs-bluegreen/\n\tinsteadOf = https://gitlab.example.com:443/ecs-bluegreen/\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	git(consumer.Dir, "remote", "set-url", "origin", "https://gitlab.example.com/team/app.git")
	r := consumer.gitlabCILocal(t, "--preview")
	if r.Code != 0 {
		t.Fatalf("--preview exited %d:\n%s", r.Code, r.Output)
	}
	if want := "registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:" + sha; !strings.Contains(r.Stdout, want) {
		t.Errorf("a pin by the tag 1.0.0 does not run %s:\n%s", want, r.Stdout)
	}
}

// TestIncludes_errorsNameInputs runs a component job whose input GitLab
// accepts (a CI/CD variable) but whose value the tool refuses once expanded:
// the error names the input the user wrote as well as the variable.
func TestIncludes_errorsNameInputs(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	p := newProject(t, `stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      cluster: prod
      service: web
      aws_region: $REGION
      image: registry.example.com/web:1
      ecr_repository: web
`, map[string]string{})
	r := p.gitlabCILocal(t, "--variable", "REGION=Europe", "ecs-release")
	if r.Jobs["ecs-release"] != "FAIL" || !strings.Contains(r.Output, "AWS_REGION (input aws_region) is not a region name") {
		t.Errorf("want ecs-release to fail naming the aws_region input:\n%s", r.Output)
	}
}

// TestIncludes_explicitImageWins checks that with build: true and an image
// input, nothing is built: the given image is what release takes.
func TestIncludes_explicitImageWins(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	for image, wantBuild := range map[string]string{"": "on_success", "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA": "never"} {
		p := newProject(t, `stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs: {cluster: prod, service: web, build: true, image: "`+image+`"}
`, map[string]string{})
		if got := p.listJSON(t)["ecs-build"]; got != wantBuild {
			t.Errorf("build: true with image %q: the build job is %q, want %q", image, got, wantBuild)
		}
	}
}

// TestIncludes_runnerTags checks the documented way to give one inclusion's
// jobs runner tags: the user's own definition of the hidden job they extend
// merges with the component's.
func TestIncludes_runnerTags(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	p := newProject(t, `stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs: {cluster: prod, service: web}
.ecs-deploy-base:
  tags: [aws]
`, map[string]string{})
	r := p.gitlabCILocal(t, "--preview")
	var preview map[string]any
	if err := yaml.Unmarshal([]byte(r.Stdout), &preview); err != nil {
		t.Fatalf("%v:\n%s", err, r.Output)
	}
	for _, job := range []string{"ecs-release", "ecs-deploy", "ecs-rollback"} {
		j, _ := preview[job].(map[string]any)
		if tags := fmt.Sprint(j["tags"]); tags != "[aws]" || j["id_tokens"] == nil {
			t.Errorf("%s: tags %s (and its component settings kept: %v)", job, tags, j["id_tokens"] != nil)
		}
	}
}
