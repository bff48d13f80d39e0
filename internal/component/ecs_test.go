package component

import (
	"strings"
	"testing"
)

// TestDeployECSModel runs deploy.yml with mode: ecs through the self-test
// include form against the ecs model's service of `sandbox serve` (orders:
// ECS deploys it LINEAR, a PAUSE hook after test traffic holds it), and
// presses the buttons as a person would, one run each: promote continues the
// PAUSE hook the deploy job ended at; rollback stops a second deployment held
// there with rollback, and after a finished one goes back to the revision
// before it; a release failing its smoke check there is rolled back by ECS
// and fails the pipeline. Finish is not offered: ECS has no way to end the
// bake time early.
func TestDeployECSModel(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	sb := startSandbox(t)
	service := sb.Env["SANDBOX_ECS_SERVICE"]
	if service == "" {
		t.Fatalf("sandbox serve printed no SANDBOX_ECS_SERVICE: %v", sb.Env)
	}
	pipeline := `stages: [build, deploy]
variables:
  AWS_REGION: eu-west-1
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      job_prefix: orders
      cluster: prod
      service: ` + service + `
      mode: ecs
      build: true
      ecr_repository: ` + sb.Env["SANDBOX_ECS_ECR_REPOSITORY"] + `
      promote: manual
      wait_for: traffic
      prod_url: ` + sb.Env["SANDBOX_ECS_PROD_URL"] + `
      test_url: ` + sb.Env["SANDBOX_ECS_TEST_URL"] + `
      smoke_interval: 100ms
`
	p := newProject(t, pipeline, withApp())
	args := sb.pipelineVariables("AWS_REGION", "AWS_DEFAULT_REGION")

	t.Run("buttons_only_where_they_act", func(t *testing.T) {
		jobs := p.listJSON(t)
		for job, want := range map[string]string{
			"orders-build": "on_success", "orders-release": "on_success", "orders-deploy": "on_success", "orders-preview": "always",
			"orders-promote": "manual", "orders-rollback": "manual",
			// wait_for: traffic offers finish in the codedeploy model; in
			// the ecs model it would have nothing to do.
			"orders-finish": "never",
		} {
			if jobs[job] != want {
				t.Errorf("%s: when %q, want %q", job, jobs[job], want)
			}
		}
	})

	// Steps share the sandbox, so they run in order.
	r := p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"orders-build": "PASS", "orders-release": "PASS", "orders-deploy": "PASS", "orders-preview": "PASS"})
	first := p.dotenv(t, "orders-deploy")
	if first["ECS_BLUEGREEN_OUTCOME"] != "awaiting-promotion" || !strings.Contains(first["BG_DEPLOYMENT_ID"], ":service-deployment/prod/"+service+"/") {
		t.Fatalf("deploy left %v, want a service deployment awaiting promotion at its PAUSE hook", first)
	}
	for _, want := range []string{"model=ecs", "hook PAUSE", "AWAITING_ACTION", "smoke check passed", "the job ends there and the promote job continues it"} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("deploy's log lacks %q:\n%s", want, r.Output)
		}
	}
	r = p.gitlabCILocal(t, append(args, "--manual", "orders-promote", "orders-promote")...)
	r.expect(t, 0, map[string]string{"orders-promote": "PASS"})
	for _, want := range []string{first["BG_DEPLOYMENT_ID"], "continuing: production traffic starts moving", "traffic blue  50% ", "green is live"} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("promote's log lacks %q:\n%s", want, r.Output)
		}
	}
	if got := p.dotenv(t, "orders-promote")["ECS_BLUEGREEN_OUTCOME"]; got != "traffic-moved" && got != "succeeded" {
		t.Errorf("promote's outcome %q, want traffic-moved or succeeded", got)
	}
	// Pressed again: nothing held, said so, and the job stays green.
	r = p.gitlabCILocal(t, append(args, "--manual", "orders-promote", "orders-promote")...)
	r.expect(t, 0, map[string]string{"orders-promote": "PASS"})
	if !strings.Contains(r.Output, "nothing to promote") {
		t.Errorf("promote with nothing held did not say so:\n%s", r.Output)
	}

	// A second release held at its PAUSE hook: rollback stops it with
	// rollback, and green (the first release) stays live.
	r = p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"orders-build": "PASS", "orders-release": "PASS", "orders-deploy": "PASS", "orders-preview": "PASS"})
	second := p.dotenv(t, "orders-deploy")
	if second["BG_DEPLOYMENT_ID"] == first["BG_DEPLOYMENT_ID"] || second["ECS_BLUEGREEN_OUTCOME"] != "awaiting-promotion" {
		t.Fatalf("second deploy left %v", second)
	}
	r = p.gitlabCILocal(t, append(args, "--manual", "orders-rollback", "orders-rollback")...)
	r.expect(t, 0, map[string]string{"orders-rollback": "PASS"})
	for _, want := range []string{second["BG_DEPLOYMENT_ID"], "stopping the service deployment with rollback", "ROLLBACK_SUCCESSFUL", "green is live"} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("rollback's log lacks %q:\n%s", want, r.Output)
		}
	}

	// A third release promoted to the end; rollback then goes back to the
	// revision production ran before it (the first release, on green).
	r = p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"orders-build": "PASS", "orders-release": "PASS", "orders-deploy": "PASS", "orders-preview": "PASS"})
	r = p.gitlabCILocal(t, append(args, "--manual", "orders-promote", "orders-promote")...)
	r.expect(t, 0, map[string]string{"orders-promote": "PASS"})
	if !strings.Contains(r.Output, "blue is live") {
		t.Errorf("the third release did not go live on blue:\n%s", r.Output)
	}
	r = p.gitlabCILocal(t, append(args, "--manual", "orders-rollback", "orders-rollback")...)
	r.expect(t, 0, map[string]string{"orders-rollback": "PASS"})
	for _, want := range []string{"going back to the previous revision", "green is live"} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("rollback after a finished deployment lacks %q:\n%s", want, r.Output)
		}
	}

	// A release whose smoke check at the PAUSE hook fails: ECS is told to
	// roll back there and the pipeline fails.
	r = p.gitlabCILocal(t, append(args, "--input", "smoke_body=no-such-page", "--input", "smoke_max_failures=2")...)
	r.expect(t, 1, map[string]string{"orders-build": "PASS", "orders-release": "PASS", "orders-deploy": "FAIL", "orders-preview": "PASS"})
	if got := p.dotenv(t, "orders-deploy")["ECS_BLUEGREEN_OUTCOME"]; got != "rolled-back" || !strings.Contains(r.Output, "ROLLBACK_SUCCESSFUL") {
		t.Errorf("outcome %q after the failed smoke check at the PAUSE hook, want rolled-back (ROLLBACK_SUCCESSFUL in the log)", got)
	}
}
