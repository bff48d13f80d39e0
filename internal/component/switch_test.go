package component

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// TestSwitchButtons runs switch.yml through the self-test include form with
// the real tool against the listener model that `sandbox serve` seeds
// (shop-blue and shop-green): the push pipeline builds, releases and deploys
// the new version to the idle colour, green, behind the test listener while
// production stays on blue; then the buttons are pressed as a person would,
// one run each: switch moves production to green in weighted steps (and the
// test listener to blue, for the way back), and switch-to-blue brings it
// back.
func TestSwitchButtons(t *testing.T) {
	t.Parallel()
	requireGitLabCILocal(t)
	sb := startSandbox(t)
	pipeline := `stages: [build, deploy]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/switch@$CI_COMMIT_SHA
    inputs:
      job_prefix: shop
      aws_region: eu-west-1
      cluster: prod
      build: true
      smoke_interval: 100ms
      switch_steps: "50,100"
      switch_interval: 1s
`
	p := newProject(t, pipeline, withApp())
	// What only the running sandbox knows (its ARNs and ports) comes as
	// inputs, as a user's pipeline would name its own.
	args := sb.pipelineVariables()
	for input, name := range map[string]string{
		"blue_service": "SANDBOX_SWITCH_BLUE_SERVICE", "green_service": "SANDBOX_SWITCH_GREEN_SERVICE",
		"listener_arn": "SANDBOX_SWITCH_LISTENER_ARN", "test_listener_arn": "SANDBOX_SWITCH_TEST_LISTENER_ARN",
		"ecr_repository": "SANDBOX_SWITCH_ECR_REPOSITORY", "prod_url": "SANDBOX_SWITCH_PROD_URL", "test_url": "SANDBOX_SWITCH_TEST_URL",
	} {
		if sb.Env[name] == "" {
			t.Fatalf("sandbox serve printed no %s: %v", name, sb.Env)
		}
		args = append(args, "--input", input+"="+sb.Env[name])
	}
	prodURL, testURL := sb.Env["SANDBOX_SWITCH_PROD_URL"], sb.Env["SANDBOX_SWITCH_TEST_URL"]

	r := p.gitlabCILocal(t, args...)
	r.expect(t, 0, map[string]string{"shop-build": "PASS", "shop-release": "PASS", "shop-deploy": "PASS"})
	released, deployed := p.dotenv(t, "shop-release"), p.dotenv(t, "shop-deploy")
	image := released["BG_IMAGE"]
	if !strings.Contains(image, "/shop@sha256:") {
		t.Fatalf("release left BG_IMAGE=%q, want the image in the ECR repository shop", image)
	}
	if deployed["BG_IMAGE"] != image || deployed["ECS_BLUEGREEN_OUTCOME"] != "idle-ready" || deployed["ECS_BLUEGREEN_IDLE_COLOUR"] != "green" || deployed["ECS_BLUEGREEN_LIVE_COLOUR"] != "blue" {
		t.Errorf("deploy left %v, want %s ready on the idle colour green and production on blue", deployed, image)
	}
	if want := "shop-deploy environment: { name: production/preview, url: " + testURL + " }"; !strings.Contains(r.Output, want) {
		t.Errorf("output lacks %q:\n%s", want, r.Output)
	}
	answers(t, testURL, "shop-green", image)
	answers(t, prodURL, "shop-blue", "")
	liveIn(t, p, "shop-deploy", "blue")

	r = p.gitlabCILocal(t, append(args, "--manual", "shop-switch", "shop-switch")...)
	r.expect(t, 0, map[string]string{"shop-switch": "PASS"})
	if want := "shop-switch environment: { name: production, url: " + prodURL + " }"; !strings.Contains(r.Output, want) {
		t.Errorf("output lacks %q:\n%s", want, r.Output)
	}
	if !strings.Contains(r.Output, "production traffic blue  50%") {
		t.Errorf("the switch did not report its 50%% step:\n%s", r.Output)
	}
	answers(t, prodURL, "shop-green", image)
	answers(t, testURL, "shop-blue", "")
	liveIn(t, p, "shop-switch", "green")

	r = p.gitlabCILocal(t, append(args, "--manual", "shop-switch-to-blue", "shop-switch-to-blue")...)
	r.expect(t, 0, map[string]string{"shop-switch-to-blue": "PASS"})
	answers(t, prodURL, "shop-blue", "")
	answers(t, testURL, "shop-green", image)
	liveIn(t, p, "shop-switch-to-blue", "blue")

	// ChatOps: `/gitlab <project> run shop-chat-switch green` makes a chat
	// pipeline of that job alone, with the argument in CHAT_INPUT; the reply
	// is the chat_reply section.
	chat := func(input string) run {
		t.Helper()
		return p.gitlabCILocal(t, append(args, "--variable", "CI_PIPELINE_SOURCE=chat", "--variable", "CHAT_INPUT="+input, "shop-chat-switch")...)
	}
	r = chat("green")
	r.expect(t, 0, map[string]string{"shop-chat-switch": "PASS"})
	if reply := chatReply(t, r.Output); !strings.Contains(reply, "green") || strings.Contains(reply, "level=") {
		t.Errorf("the chat reply should be the status in Markdown, without the log:\n%s", reply)
	}
	answers(t, prodURL, "shop-green", image)
	liveIn(t, p, "shop-chat-switch", "green")
	r = chat("")
	r.expect(t, 0, map[string]string{"shop-chat-switch": "PASS"})
	answers(t, prodURL, "shop-blue", "")
	r = chat("purple")
	r.expect(t, 1, map[string]string{"shop-chat-switch": "FAIL"})
	if reply := chatReply(t, r.Output); !strings.Contains(reply, "error:") || !strings.Contains(reply, "BG_SWITCH_TO") {
		t.Errorf("the chat reply to a wrong colour should be the tool's error:\n%s", reply)
	}
	answers(t, prodURL, "shop-blue", "")
	// The chat job exists only in chat pipelines, and nothing else runs there.
	push := p.listJSON(t, args...)
	chatList := p.listJSON(t, append(args, "--variable", "CI_PIPELINE_SOURCE=chat")...)
	for job, when := range chatList {
		want := "never"
		if job == "shop-chat-switch" {
			want = "on_success"
		}
		if when != want || job == "shop-chat-switch" && push[job] != "never" {
			t.Errorf("%s: when %q in a chat pipeline and %q on push", job, when, push[job])
		}
	}
}

// chatReplySection is GitLab's section that ChatOps sends back to the channel.
var chatReplySection = regexp.MustCompile(`(?s)(?:section_start:\d+:chat_reply|chat_reply_started)(.*?)(?:section_end:\d+:chat_reply|chat_reply took)`)

// chatReply is the text of the chat_reply section of a job log (which
// gitlab-ci-local prints as chat_reply_started ... chat_reply took).
func chatReply(t *testing.T, log string) string {
	t.Helper()
	m := chatReplySection.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no chat_reply section in:\n%s", log)
	}
	return m[1]
}

// answers checks that a listener of the sandbox's data plane sends requests
// to the target group, whose task runs image (when given).
func answers(t *testing.T, url, targetGroup, image string) {
	t.Helper()
	for range 4 { // every task of the group, by the data plane's rotation
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var a awssim.TaskAnswer
		err = json.NewDecoder(resp.Body).Decode(&a)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || a.TargetGroup != targetGroup || image != "" && !slices.Contains(a.Images, image) {
			t.Fatalf("%s answered %d from %q running %v (%v), want 200 from %s running %s", url, resp.StatusCode, a.TargetGroup, a.Images, err, targetGroup, image)
		}
	}
}

// liveIn checks the colour a job's status.json and deploy.env say is live.
func liveIn(t *testing.T, p *project, job, colour string) {
	t.Helper()
	var s snapshot.Snapshot
	if err := json.Unmarshal([]byte(p.artifact(t, job, ".ecs-bluegreen/shop/status.json")), &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Live) != colour || s.Model != "listener" {
		t.Errorf("%s's status.json: model %q, %q live, want listener and %s", job, s.Model, s.Live, colour)
	}
	if got := p.dotenv(t, job)["ECS_BLUEGREEN_LIVE_COLOUR"]; got != colour {
		t.Errorf("%s's deploy.env says %q is live, want %s", job, got, colour)
	}
}
