package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// TestColourTagsFollowWhatRuns is two pipelines' release and deploy, then
// a rollback: after each the registry tags blue and green name the image
// each colour runs, in the GitLab registry and in ECR; status shows each
// colour's commit (from the image's labels), the pipeline that deployed it
// and the history; verify's colour tag check passes, and fails once a tag
// is moved by hand.
func TestColourTagsFollowWhatRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: true, Speed: 600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	clk := newFastClock(100)
	run := func(environ []string, args ...string) (int, string, string) {
		t.Helper()
		return runClocked(t, clk, environ, args...)
	}
	env := map[string]string{}
	base := []string{
		"HOME=" + t.TempDir(), "BG_TASKDEF_FILE=" + filepath.Join(t.TempDir(), "none.json"), "BG_APPSPEC_FILE=" + filepath.Join(t.TempDir(), "none.yml"), "BG_ECR_REPOSITORY=web",
		"CI_PROJECT_PATH=group/web", "CI_PROJECT_URL=https://gitlab.example.com/group/web",
	}
	for _, l := range sb.Exports() {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		env[k] = v
		base = append(base, k+"="+v)
	}
	gitlab := &authn.Basic{Username: env["CI_REGISTRY_USER"], Password: env["CI_REGISTRY_PASSWORD"]}
	ecrUser, ecrPass := sb.Sim.ECRCredentials()
	ecr := &authn.Basic{Username: ecrUser, Password: ecrPass}
	repos := []struct {
		repo string
		auth authn.Authenticator
	}{{env["CI_REGISTRY_IMAGE"], gitlab}, {sb.RegistryHost + "/web", ecr}}
	tagDigest := func(ref string, auth authn.Authenticator) string {
		t.Helper()
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(tag, remote.WithAuth(auth))
		if err != nil {
			return ""
		}
		return d.Digest.String()
	}
	commits := []string{strings.Repeat("a", 40), strings.Repeat("b", 40)}
	var digests []string
	for i, pipeline := range []string{"1", "2"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		// What build writes: the commit and project as labels and annotations.
		cf.Config.Labels = map[string]string{snapshot.KeyRevision: commits[i], snapshot.KeySource: "https://gitlab.example.com/group/web", snapshot.KeyCommitTitle: "Change " + pipeline}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		img = mutate.Annotations(img, map[string]string{snapshot.KeyVersion: "1." + pipeline}).(v1.Image)
		d, _ := img.Digest()
		digests = append(digests, d.String())
		src, _ := name.NewTag(env["CI_REGISTRY_IMAGE"] + ":main")
		if err := remote.Write(src, img, remote.WithAuth(gitlab)); err != nil {
			t.Fatal(err)
		}
		environ := append(append([]string{}, base...), "CI_PIPELINE_ID="+pipeline, "CI_COMMIT_SHA="+commits[i],
			"CI_PIPELINE_URL=https://gitlab.example.com/group/web/-/pipelines/"+pipeline, "BG_OUTPUT_DIR="+t.TempDir())
		code, stdout, stderr := run(append(environ, "BG_IMAGE="+src.String()), "release")
		if code != ExitOK {
			t.Fatalf("release %d: exit %d\n%s", i, code, stderr)
		}
		if code, _, stderr = run(append(environ, "BG_IMAGE="+strings.TrimSpace(stdout)), "deploy"); code != ExitOK {
			t.Fatalf("deploy %d: exit %d\n%s", i, code, stderr)
		}
	}
	// The seeded service starts on blue; the first deploy put image 0 on
	// green, the second image 1 on blue.
	checkTags := func(when, blue, green string) {
		t.Helper()
		for _, reg := range repos {
			if got := tagDigest(reg.repo+":blue", reg.auth); got != blue {
				t.Errorf("%s: %s:blue = %s, want %s", when, reg.repo, got, blue)
			}
			if got := tagDigest(reg.repo+":green", reg.auth); got != green {
				t.Errorf("%s: %s:green = %s, want %s", when, reg.repo, got, green)
			}
		}
	}
	checkTags("after two deploys", digests[1], digests[0])

	// Rollback redeploys image 0, onto green again.
	rollbackOut := t.TempDir()
	environ := append(append([]string{}, base...), "CI_PIPELINE_ID=3", "CI_PIPELINE_URL=https://gitlab.example.com/group/web/-/pipelines/3", "BG_OUTPUT_DIR="+rollbackOut,
		"CI_JOB_URL=https://gitlab.example.com/group/web/-/jobs/31", "CI_PROJECT_DIR="+filepath.Dir(rollbackOut))
	if code, _, stderr := run(environ, "rollback"); code != ExitOK {
		t.Fatalf("rollback: exit %d\n%s", code, stderr)
	}
	checkTags("after the rollback", digests[1], digests[0])
	// The rollback job leaves what is live where GitLab shows it: deploy.env
	// (the environment, later jobs) and the job page's annotations.
	dotenv, err := os.ReadFile(filepath.Join(rollbackOut, "deploy.env"))
	if err != nil {
		t.Fatal(err)
	}
	statusURL := "https://gitlab.example.com/group/web/-/jobs/31/artifacts/file/" + filepath.Base(rollbackOut) + "/status.html"
	for _, want := range []string{"ECS_BLUEGREEN_LIVE_COLOUR=green", "ECS_BLUEGREEN_LIVE_COMMIT=" + commits[0], "ECS_BLUEGREEN_LIVE_VERSION=1.1", "ECS_BLUEGREEN_STATUS_URL=" + statusURL} {
		if !strings.Contains(string(dotenv), want) {
			t.Errorf("deploy.env after the rollback lacks %s:\n%s", want, dotenv)
		}
	}
	notes, err := os.ReadFile(filepath.Join(rollbackOut, "annotations.json"))
	if err != nil || !strings.Contains(string(notes), `"label": "green (live): commit aaaaaaaa Change 1"`) {
		t.Errorf("annotations.json after the rollback (%v):\n%s", err, notes)
	}

	// With BG_SCREENSHOT_DIR the status reports (and their screenshot)
	// stay there.
	out := os.Getenv("BG_SCREENSHOT_DIR")
	if out == "" {
		out = t.TempDir()
	} else {
		out = filepath.Join(out, "simulator")
	}
	code, stdout, stderr := run(append(append([]string{}, base...), "BG_OUTPUT_DIR="+out), "status")
	if code != ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	green := s.Colour(snapshot.Green)
	if s.Live != snapshot.Green || green.Release == nil || green.Release.Commit != commits[0] || green.Release.Title != "Change 1" || green.Release.Version != "1.1" ||
		green.Release.StartedBy != "rollback job, pipeline 3" || !strings.HasSuffix(green.Release.PipelineURL, "/pipelines/3") ||
		green.Release.CommitURL != "https://gitlab.example.com/group/web/-/commit/"+commits[0] || !strings.Contains(green.Release.ConsoleURL, "console.aws.amazon.com") || green.Release.LiveSince.IsZero() {
		t.Errorf("live %q, green's release %+v", s.Live, green.Release)
	}
	if len(s.History) != 3 || s.History[0].StartedBy != "rollback job, pipeline 3" || s.History[2].StartedBy != "pipeline 1" || s.Timeline == nil {
		t.Errorf("history %+v, timeline %+v", s.History, s.Timeline)
	}
	for _, want := range []string{"| commit |", "Last 3 deployments:", "Production traffic during"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, stdout)
		}
	}

	screenshotStatus(t, filepath.Join(out, "status.html"), commits[0][:8], "Last deployments", "Production traffic during", "rollback job, pipeline 3")

	code, stdout, _ = run(append(append([]string{}, base...), "BG_OUTPUT_DIR="+t.TempDir()), "verify")
	if !strings.Contains(stdout, "ok   registry colour tags name what each colour runs") {
		t.Errorf("verify (exit %d):\n%s", code, stdout)
	}
	// A tag moved by hand is a finding.
	tag, _ := name.NewTag(env["CI_REGISTRY_IMAGE"] + ":green")
	desc, err := remote.Get(tag.Context().Digest(digests[1]), remote.WithAuth(gitlab))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(tag, desc, remote.WithAuth(gitlab)); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = run(append(append([]string{}, base...), "BG_OUTPUT_DIR="+t.TempDir()), "verify")
	if code != ExitVerify || !strings.Contains(stdout, "FAIL registry colour tags name what each colour runs") {
		t.Errorf("verify with green's tag moved by hand: exit %d\n%s", code, stdout)
	}
}

func TestStatusPageURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		dir     string
		want    string
	}{
		{name: "relative", environ: []string{"CI_JOB_URL=https://gl.example/g/p/-/jobs/7"}, dir: ".ecs-bluegreen/ecs-deploy", want: "https://gl.example/g/p/-/jobs/7/artifacts/file/.ecs-bluegreen/ecs-deploy/status.html"},
		{name: "absolute_in_project", environ: []string{"CI_JOB_URL=https://gl.example/g/p/-/jobs/7", "CI_PROJECT_DIR=/builds/g/p"}, dir: "/builds/g/p/out/", want: "https://gl.example/g/p/-/jobs/7/artifacts/file/out/status.html"},
		{name: "outside_the_project", environ: []string{"CI_JOB_URL=https://gl.example/g/p/-/jobs/7", "CI_PROJECT_DIR=/builds/g/p"}, dir: "/tmp/out", want: ""},
		{name: "not_in_gitlab", dir: ".ecs-bluegreen", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv := &invocation{env: Env{Environ: tt.environ}}
			inv.settings.Output = &config.Output{Dir: tt.dir}
			if got := inv.statusPageURL(); got != tt.want {
				t.Errorf("statusPageURL() = %q, want %q", got, tt.want)
			}
		})
	}
}

// screenshotStatus renders a status.html the command wrote in headless
// Chromium, next to it as status.png, and checks the rendered page names
// what it should (skipped without Chromium).
func screenshotStatus(t *testing.T, page string, want ...string) {
	t.Helper()
	chromium := testutil.RequirePeer(t, "chromium", "chromium-browser", "google-chrome")
	shot := filepath.Join(filepath.Dir(page), "status.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(t.TempDir(), "profile"), "--window-size=1100,1500",
	}
	if out, err := exec.CommandContext(ctx, chromium, append(args, "--screenshot="+shot, "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	dom, err := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(string(dom), w) {
			t.Errorf("the rendered %s lacks %q", page, w)
		}
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
