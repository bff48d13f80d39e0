package component

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// sandboxSpeed makes simulated time run fast enough that the seeded service's
// 5-minute canary and termination wait take half a second each.
const sandboxSpeed = 600

// The example application the pipelines build: what `ecs-bluegreen build`
// can build without a Docker daemon.
var appFiles = map[string]string{
	"Dockerfile": "FROM scratch\nCOPY index.html /srv/index.html\nCMD [\"/srv\"]\n",
	"index.html": "<h1>web</h1>\n",
}

// withApp is a fresh copy of appFiles, which newProject may add to.
func withApp() map[string]string {
	return maps.Clone(appFiles)
}

// releasedInclude matches the example's includes of a released version.
var releasedInclude = regexp.MustCompile(`\$CI_SERVER_FQDN/ecs-bluegreen/ecs-bluegreen/([a-z]+)@[0-9][0-9.]*`)

// selfTestForm rewrites component.yml's includes of a released version into
// the self-test form, which gitlab-ci-local reads from the working tree.
func selfTestForm(t *testing.T, pipeline string) string {
	t.Helper()
	out := releasedInclude.ReplaceAllString(pipeline, `$$CI_SERVER_FQDN/$$CI_PROJECT_PATH/$1@$$CI_COMMIT_SHA`)
	if out == pipeline {
		t.Fatal("component.yml includes no released component")
	}
	return out
}

// TestComponentYML runs the README's example pipeline with the real tool
// against `ecs-bluegreen sandbox serve`: a push pipeline on the default branch
// builds, releases and deploys; a scheduled one verifies, reports and cleans
// up; a deployment whose smoke check fails fails the pipeline.
func TestComponentYML(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	example, err := os.ReadFile(filepath.Join(root, "component.yml"))
	if err != nil {
		t.Fatal(err)
	}
	sb := startSandbox(t)
	p := newProject(t, selfTestForm(t, string(example)), withApp())
	// The example names an IAM role, so the jobs take the OIDC path: the token
	// GitLab would put in BG_ID_TOKEN is exchanged at the sandbox's STS.
	args := append(sb.pipelineVariables(),
		"--variable", "BG_ID_TOKEN="+fakeIDToken(),
		"--input", "prod_url="+sb.Env["BG_PROD_URL"], "--input", "test_url="+sb.Env["BG_TEST_URL"],
		"--input", "smoke_interval=100ms")

	t.Run("schedules_run_only_the_checks", func(t *testing.T) {
		push := p.listJSON(t)
		schedule := p.listJSON(t, "--variable", "CI_PIPELINE_SOURCE=schedule")
		for job, want := range map[string][2]string{
			"web-build": {"on_success", "never"}, "web-release": {"on_success", "never"}, "web-deploy": {"on_success", "never"},
			"web-preview": {"always", "never"}, "web-rollback": {"manual", "never"},
			// promote and finish have nothing to do with promote: auto and
			// wait_for: complete, so they are not offered.
			"web-promote": {"never", "never"}, "web-finish": {"never", "never"},
			"web-verify": {"never", "on_success"}, "web-status": {"never", "on_success"},
			"web-cleanup": {"never", "on_success"},
		} {
			if push[job] != want[0] || schedule[job] != want[1] {
				t.Errorf("%s: when %q on push and %q on a schedule, want %q and %q", job, push[job], schedule[job], want[0], want[1])
			}
		}
	})

	// Steps share the sandbox, so they run in order.
	r := p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"web-build": "PASS", "unit-tests": "PASS", "web-release": "PASS", "web-deploy": "PASS", "web-preview": "PASS"})
	built, released, deployed := p.dotenv(t, "web-build"), p.dotenv(t, "web-release"), p.dotenv(t, "web-deploy")
	// dotenv passing: build's image reaches release, release's pinned ECR
	// reference reaches deploy.
	// The GitLab registry repository is the service's own, so a second
	// service's tags never mix with web's.
	if !strings.HasPrefix(built["BG_IMAGE"], sb.Env["CI_REGISTRY_IMAGE"]+"/web@sha256:") {
		t.Errorf("build left BG_IMAGE=%q, want it in %s/web pinned by digest", built["BG_IMAGE"], sb.Env["CI_REGISTRY_IMAGE"])
	}
	if !strings.Contains(released["BG_IMAGE"], "/web@sha256:") || released["ECS_BLUEGREEN_IMAGE_DIGEST"] != built["ECS_BLUEGREEN_IMAGE_DIGEST"] {
		t.Errorf("release left %v, want the built digest %s in ECR", released, built["ECS_BLUEGREEN_IMAGE_DIGEST"])
	}
	if deployed["BG_IMAGE"] != released["BG_IMAGE"] || deployed["ECS_BLUEGREEN_OUTCOME"] != "succeeded" || !regexp.MustCompile(`^d-[A-Z0-9]{9}$`).MatchString(deployed["BG_DEPLOYMENT_ID"]) {
		t.Errorf("deploy left %v, want release's image %s deployed", deployed, released["BG_IMAGE"])
	}
	for _, want := range []string{
		"web-deploy environment: { name: production, url: " + sb.Env["BG_PROD_URL"] + " }",
		"web-preview environment: { name: production/preview, url: " + sb.Env["BG_TEST_URL"] + " }",
	} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Output)
		}
	}
	if html := p.artifact(t, "web-preview", ".ecs-bluegreen/web/status.html"); !strings.Contains(html, "green") {
		t.Errorf("status.html does not show green:\n%.300s", html)
	}

	r = p.gitlabCILocal(t, append(args, "--variable", "CI_PIPELINE_SOURCE=schedule")...)
	r.expect(t, 0, map[string]string{"web-verify": "PASS", "web-status": "PASS", "web-cleanup": "PASS", "unit-tests": "PASS"})
	if junit := p.artifact(t, "web-verify", ".ecs-bluegreen/web/junit.xml"); !strings.Contains(junit, "<testsuite") || strings.Contains(junit, "<failure") {
		t.Errorf("verify's junit.xml:\n%s", junit)
	}

	// A release whose smoke check on the test listener fails: CodeDeploy
	// rolls back and the pipeline fails.
	r = p.gitlabCILocal(t, append(args, "--input", "smoke_body=no-such-page", "--input", "smoke_max_failures=2")...)
	r.expect(t, 1, map[string]string{"web-build": "PASS", "unit-tests": "PASS", "web-release": "PASS", "web-deploy": "FAIL", "web-preview": "PASS"})
	if got := p.dotenv(t, "web-deploy")["ECS_BLUEGREEN_OUTCOME"]; got != "rolled-back" {
		t.Errorf("outcome %q after the failed smoke check, want rolled-back", got)
	}
}

// TestDeployButtons runs deploy.yml through the self-test include form against
// a service whose deployment group waits at Ready, and presses the buttons as
// a person would, one run each: promote, finish, and rollback of a second
// deployment.
func TestDeployButtons(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	sb := startSandbox(t)
	// A second service, api on cluster staging, created through the AWS APIs
	// of the running sandbox: it waits at Ready for a day and keeps the old
	// colour for a day (simulated).
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("sandbox", "sandbox", ""), BaseEndpoint: aws.String(sb.Env["AWS_ENDPOINT_URL"])}
	if _, err := seed.Create(context.Background(), seed.Clients{ECS: ecs.NewFromConfig(cfg), ELB: elb.NewFromConfig(cfg), CodeDeploy: codedeploy.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg)}, seed.Options{
		Cluster: "staging", Service: "api", ReadyWaitMinutes: 1440, TerminationWaitMinutes: 1440,
	}); err != nil {
		t.Fatal(err)
	}
	// The region comes from the pipeline's top-level variables, which no
	// empty input may hide.
	pipeline := `stages: [build, deploy]
variables:
  AWS_REGION: eu-west-1
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      job_prefix: api
      environment: staging
      cluster: staging
      service: api
      build: true
      ecr_repository: api
      promote: manual
      wait_for: traffic
`
	p := newProject(t, pipeline, withApp())
	args := sb.pipelineVariables("AWS_REGION", "AWS_DEFAULT_REGION")

	r := p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"api-build": "PASS", "api-release": "PASS", "api-deploy": "PASS", "api-preview": "PASS"})
	first := p.dotenv(t, "api-deploy")
	if first["ECS_BLUEGREEN_OUTCOME"] != "awaiting-promotion" {
		t.Fatalf("deploy left %v, want a deployment awaiting promotion", first)
	}
	// Each button is its own run, as when a person presses it later; it finds
	// the deployment in the deploy job's dotenv report.
	r = p.gitlabCILocal(t, append(args, "--manual", "api-promote", "api-promote")...)
	r.expect(t, 0, map[string]string{"api-promote": "PASS"})
	if !strings.Contains(r.Output, first["BG_DEPLOYMENT_ID"]) {
		t.Errorf("promote did not act on %s:\n%s", first["BG_DEPLOYMENT_ID"], r.Output)
	}
	r = p.gitlabCILocal(t, append(args, "--manual", "api-finish", "api-finish")...)
	r.expect(t, 0, map[string]string{"api-finish": "PASS"})
	// Pressed again once the deployment has finished: nothing to do, said
	// so, and the job stays green.
	for _, button := range []string{"api-promote", "api-finish"} {
		r = p.gitlabCILocal(t, append(args, "--manual", button, button)...)
		r.expect(t, 0, map[string]string{button: "PASS"})
		if !strings.Contains(r.Output, "nothing to "+strings.TrimPrefix(button, "api-")) {
			t.Errorf("%s after the deployment finished did not say there is nothing to do:\n%s", button, r.Output)
		}
	}

	// A second release, promoted and finished: the first one's image is now
	// the registry's previous. Rollback after a finished deployment is the
	// quick way back: that image all at once, without the group's canary
	// and with no wait at Ready, the job ending once production is back.
	r = p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"api-build": "PASS", "api-release": "PASS", "api-deploy": "PASS", "api-preview": "PASS"})
	r = p.gitlabCILocal(t, append(args, "--manual", "api-promote", "api-promote")...)
	r.expect(t, 0, map[string]string{"api-promote": "PASS"})
	r = p.gitlabCILocal(t, append(args, "--manual", "api-finish", "api-finish")...)
	r.expect(t, 0, map[string]string{"api-finish": "PASS"})
	r = p.gitlabCILocal(t, append(args, "--manual", "api-rollback", "api-rollback")...)
	r.expect(t, 0, map[string]string{"api-rollback": "PASS"})
	if !strings.Contains(r.Output, "deployment_config=CodeDeployDefault.ECSAllAtOnce") {
		t.Errorf("rollback after a finished deployment did not go back all at once:\n%s", r.Output)
	}
	if got := p.dotenv(t, "api-rollback")["ECS_BLUEGREEN_OUTCOME"]; got != "traffic-moved" {
		t.Errorf("rollback's outcome %q, want traffic-moved (production back, the job not waiting for the old colour's end)", got)
	}

	r = p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"api-build": "PASS", "api-release": "PASS", "api-deploy": "PASS", "api-preview": "PASS"})
	second := p.dotenv(t, "api-deploy")
	if second["BG_DEPLOYMENT_ID"] == first["BG_DEPLOYMENT_ID"] || second["ECS_BLUEGREEN_OUTCOME"] != "awaiting-promotion" {
		t.Fatalf("second deploy left %v", second)
	}
	r = p.gitlabCILocal(t, append(args, "--manual", "api-rollback", "api-rollback")...)
	r.expect(t, 0, map[string]string{"api-rollback": "PASS"})
	if !strings.Contains(r.Output, second["BG_DEPLOYMENT_ID"]) {
		t.Errorf("rollback did not act on %s:\n%s", second["BG_DEPLOYMENT_ID"], r.Output)
	}
}

// TestSwitchAndVerifyIncludes checks the listener-model and verify
// components through the self-test include form: gitlab-ci-local accepts
// them (its own schema check included) and creates the jobs with the right
// rules. TestSwitchButtons runs the switch component's jobs.
func TestSwitchAndVerifyIncludes(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	pipeline := `stages: [build, test, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/switch@$CI_COMMIT_SHA
    inputs:
      job_prefix: shop
      cluster: prod
      blue_service: shop-blue
      green_service: shop-green
      listener_arn: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/0123456789abcdef/0123456789abcdef
      switch_steps: "10,50,100"
      alarms: shop-5xx
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/verify@$CI_COMMIT_SHA
    inputs:
      job_prefix: shop
      cluster: prod
      blue_service: shop-blue
      green_service: shop-green
      cleanup: false
`
	p := newProject(t, pipeline, map[string]string{})
	push := p.listJSON(t)
	schedule := p.listJSON(t, "--variable", "CI_PIPELINE_SOURCE=schedule")
	for job, want := range map[string][2]string{
		"shop-build": {"never", "never"}, "shop-release": {"on_success", "never"}, "shop-deploy": {"on_success", "never"},
		"shop-switch": {"manual", "never"}, "shop-switch-to-blue": {"manual", "never"}, "shop-switch-to-green": {"manual", "never"}, "shop-chat-switch": {"never", "never"},
		"shop-verify": {"never", "on_success"}, "shop-status": {"never", "on_success"}, "shop-cleanup": {"never", "never"},
	} {
		if push[job] != want[0] || schedule[job] != want[1] {
			t.Errorf("%s: when %q on push and %q on a schedule, want %q and %q", job, push[job], schedule[job], want[0], want[1])
		}
	}
}

// TestWrongInputs checks that gitlab-ci-local, like GitLab, refuses a pipeline
// whose inputs break the templates' types, options and regexes.
func TestWrongInputs(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	example, err := os.ReadFile(filepath.Join(root, "component.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProject(t, selfTestForm(t, string(example)), withApp())
	for input, want := range map[string]string{
		"promote=sometimes":     "not in the list of allowed options",
		"keep=ten":              "not a number",
		"aws_region=Europe":     "does not match required regex",
		"smoke_interval=2 secs": "does not match required regex",
	} {
		r := p.gitlabCILocal(t, "--list", "--input", input)
		if r.Code == 0 || !strings.Contains(r.Output, want) {
			t.Errorf("--input %s: exit %d, want a failure saying %q:\n%s", input, r.Code, want, r.Output)
		}
	}
}

// TestProjectPipeline checks the project's own .gitlab-ci.yml as
// gitlab-ci-local reads it: the components it includes at this commit expand,
// its overrides keep each job's component settings and add this commit's
// image and a sandbox, the switch component's jobs included (its buttons
// through the job they extend) with the listener model's settings taken
// from the sandbox.
func TestProjectPipeline(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProject(t, string(data), map[string]string{})
	got := p.listJSON(t)
	// No button that cannot act in a fresh sandbox: promote and finish have
	// nothing to do with the inputs given, rollback has nothing to go back to.
	wantJobs := map[string]string{
		"lint": "on_success", "test": "on_success", "binary": "on_success", "container-image": "on_success", "self-test": "on_success",
		"selftest-build": "never", "selftest-release": "on_success", "selftest-deploy": "on_success", "selftest-preview": "always",
		"selftest-promote": "never", "selftest-finish": "never", "selftest-rollback": "never",
		"selftest-live-verify": "on_success", "selftest-live-status": "on_success", "selftest-live-cleanup": "on_success",
		"selftest-switch-build": "never", "selftest-switch-release": "on_success", "selftest-switch-deploy": "on_success",
		"selftest-switch-switch": "manual", "selftest-switch-switch-to-blue": "manual", "selftest-switch-switch-to-green": "manual",
		"selftest-switch-chat-switch": "never", "release": "never",
	}
	for job, want := range wantJobs {
		if got[job] != want {
			t.Errorf("%s: when %q, want %q", job, got[job], want)
		}
	}
	if len(got) != len(wantJobs) {
		t.Errorf("%d jobs, want the %d above: %v", len(got), len(wantJobs), got)
	}
	r := p.gitlabCILocal(t, "--preview")
	if r.Code != 0 {
		t.Fatalf("--preview exited %d:\n%s", r.Code, r.Output)
	}
	var preview map[string]any
	if err := yaml.Unmarshal([]byte(r.Stdout), &preview); err != nil {
		t.Fatalf("%v in:\n%s", err, r.Stdout)
	}
	// The jobs run the image of this very commit, as a release publishes it:
	// the component's tool_image tagged with the commit it was included at.
	deploy, _ := preview["selftest-deploy"].(map[string]any)
	vars, _ := deploy["variables"].(map[string]any)
	image, _ := deploy["image"].(map[string]any)
	if vars["BG_CLUSTER"] != "prod" || !regexp.MustCompile(`^\$CI_REGISTRY_IMAGE:[0-9a-f]{40}$`).MatchString(fmt.Sprint(image["name"])) || deploy["before_script"] == nil || deploy["id_tokens"] == nil {
		t.Errorf("selftest-deploy lost its component settings or its override:\n%v", deploy)
	}
	verify, _ := preview["selftest-live-verify"].(map[string]any)
	if _, lenient := verify["allow_failure"].(map[string]any); lenient || !strings.Contains(fmt.Sprint(verify["before_script"]), "ecs-bluegreen deploy") {
		t.Errorf("selftest-live-verify must deploy first and then fail on any problem:\n%v", verify)
	}
	release, _ := preview["release"].(map[string]any)
	if needs := fmt.Sprint(release["needs"]); !strings.Contains(needs, "self-test") || !strings.Contains(needs, "selftest-live-verify") || !strings.Contains(needs, "selftest-deploy") {
		t.Errorf("the Catalog release does not wait for the self-test of its image: needs %s", needs)
	}
	for job, to := range map[string]string{"selftest-switch-deploy": "", "selftest-switch-switch": "", "selftest-switch-switch-to-blue": "blue", "selftest-switch-switch-to-green": "green"} {
		j, _ := preview[job].(map[string]any)
		vars, _ := j["variables"].(map[string]any)
		script := fmt.Sprint(j["before_script"])
		if vars["BG_BLUE_SERVICE"] != "shop-blue" || vars["BG_MODE"] != "listener" || to != "" && vars["BG_SWITCH_TO"] != to ||
			!strings.Contains(script, "sandbox serve") || !strings.Contains(script, "SANDBOX_SWITCH_") {
			t.Errorf("%s lost its component settings or its override:\n%v", job, j)
		}
	}
}

// TestImageDockerfile keeps .ci/image.Dockerfile, which the pipeline builds
// with `ecs-bluegreen build`, equal to the final stage of the Dockerfile.
func TestImageDockerfile(t *testing.T) {
	t.Parallel()
	final := func(name string) map[string][]string {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "\\\n", " ")
		var stage map[string][]string
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			kw, rest, _ := strings.Cut(line, " ")
			kw = strings.ToUpper(kw)
			switch kw {
			case "FROM":
				stage = map[string][]string{"FROM": {strings.Fields(rest)[0]}}
			case "COPY":
				f := strings.Fields(rest)
				stage["COPY"] = append(stage["COPY"], f[len(f)-1])
			case "LABEL":
				for _, kv := range regexp.MustCompile(`([\w.-]+)=`).FindAllStringSubmatch(rest, -1) {
					if kv[1] != "org.opencontainers.image.created" { // build sets it
						stage["LABEL"] = append(stage["LABEL"], kv[1])
					}
				}
			case "ARG":
				if n, _, _ := strings.Cut(rest, "="); n != "CREATED" {
					stage["ARG"] = append(stage["ARG"], rest)
				}
			default:
				stage[kw] = append(stage[kw], rest)
			}
		}
		return stage
	}
	if diff := cmp.Diff(final("Dockerfile"), final(".ci/image.Dockerfile")); diff != "" {
		t.Errorf("the Dockerfile's final stage and .ci/image.Dockerfile differ (-Dockerfile +.ci/image.Dockerfile):\n%s", diff)
	}
}
