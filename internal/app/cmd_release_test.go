package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// TestReleaseAgainstSandbox runs the command as a job would: the image is in
// the GitLab registry under a branch tag, release pins it, copies it to ECR
// (found through the simulator, created on request) and leaves the pinned
// reference in deploy.env.
func TestReleaseAgainstSandbox(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	env := map[string]string{}
	for _, l := range sb.Exports() {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		env[k] = v
	}
	gitlab := &authn.Basic{Username: env["CI_REGISTRY_USER"], Password: env["CI_REGISTRY_PASSWORD"]}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	branch, err := name.NewTag(env["CI_REGISTRY_IMAGE"] + ":main")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(branch, img, remote.WithAuth(gitlab)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	environ := []string{"BG_IMAGE=" + branch.String(), "CI_COMMIT_SHA=0123456789abcdef", "BG_OUTPUT_DIR=" + out, "HOME=" + t.TempDir()}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	code, _, stderr := runIn(t, append(environ, "BG_ECR_REPOSITORY=web"), "release")
	if code != ExitUsage || !strings.Contains(stderr, "BG_ECR_CREATE=true") || !strings.Contains(stderr, "web") {
		t.Fatalf("release to a missing ECR repository: exit %d, stderr:\n%s", code, stderr)
	}

	code, stdout, stderr := runIn(t, append(environ, "BG_ECR_REPOSITORY=web", "BG_ECR_CREATE=true"), "release")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	ecrPinned := sb.RegistryHost + "/web@" + digest.String()
	if got := strings.TrimSpace(stdout); got != ecrPinned {
		t.Errorf("stdout %q, want the ECR reference pinned by digest %q", got, ecrPinned)
	}
	if strings.Contains(stderr, env["CI_REGISTRY_PASSWORD"]) {
		t.Errorf("the registry password reached the log:\n%s", stderr)
	}
	dotenv, err := reportDotenv(filepath.Join(out, report.DotenvFile))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"BG_IMAGE": ecrPinned, "ECS_BLUEGREEN_IMAGE_DIGEST": digest.String()}, dotenv); diff != "" {
		t.Errorf("deploy.env (-want +got):\n%s", diff)
	}
	// Both registries carry the commit and candidate tags on the same digest.
	for _, repo := range []string{env["CI_REGISTRY_IMAGE"], sb.RegistryHost + "/web"} {
		for _, tag := range []string{"0123456789abcdef", "candidate"} {
			ref, err := name.NewTag(repo + ":" + tag)
			if err != nil {
				t.Fatal(err)
			}
			d, err := remote.Head(ref, remote.WithAuth(gitlab))
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if d.Digest != digest {
				t.Errorf("%s is %s, want %s", ref, d.Digest, digest)
			}
		}
	}

	// A wrong job token names the registry and the identity, never the token.
	bad := append(environ, "CI_REGISTRY_PASSWORD=", "CI_JOB_TOKEN=not-the-token")
	code, _, stderr = runIn(t, bad, "release")
	if code != ExitFailed || !strings.Contains(stderr, "as gitlab-ci-token") || !strings.Contains(stderr, sb.RegistryHost) || strings.Contains(stderr, "not-the-token") {
		t.Errorf("wrong token: exit %d, stderr:\n%s", code, stderr)
	}
}

// TestBuildThenRelease is the pipeline's first two jobs: build pushes by
// digest and leaves BG_IMAGE in deploy.env; release takes it from there. A
// second build of the same commit gives the same digest.
func TestBuildThenRelease(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	src := t.TempDir()
	for n, c := range map[string]string{
		"Dockerfile":      "FROM scratch\nARG PORT=80\nCOPY site/ /srv/\nEXPOSE $PORT\nENTRYPOINT [\"/srv/server\"]\n",
		"site/index.html": "<p>hi</p>\n", "site/server": "binary\n",
	} {
		p := filepath.Join(src, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	environ := []string{"BG_BUILD_CONTEXT=" + src, "BG_BUILD_ARGS=PORT=8080", "CI_COMMIT_SHA=0123abcd", "CI_COMMIT_TIMESTAMP=2026-11-24T10:00:00+00:00", "BG_OUTPUT_DIR=" + out, "HOME=" + t.TempDir()}
	for _, l := range sb.Exports() {
		environ = append(environ, strings.TrimPrefix(l, "export "))
	}
	var pinned []string
	for range 2 {
		code, stdout, stderr := runIn(t, environ, "build")
		if code != ExitOK {
			t.Fatalf("build: exit %d, stderr:\n%s", code, stderr)
		}
		pinned = append(pinned, strings.TrimSpace(stdout))
	}
	if pinned[0] != pinned[1] || !strings.Contains(pinned[0], "/sandbox/web@sha256:") {
		t.Fatalf("two builds of one commit pushed %q", pinned)
	}
	dotenv, err := reportDotenv(filepath.Join(out, report.DotenvFile))
	if err != nil {
		t.Fatal(err)
	}
	if dotenv["BG_IMAGE"] != pinned[0] {
		t.Errorf("deploy.env BG_IMAGE=%q, want %q", dotenv["BG_IMAGE"], pinned[0])
	}
	code, stdout, stderr := runIn(t, append(environ, "BG_IMAGE="+dotenv["BG_IMAGE"]), "release")
	if code != ExitOK || strings.TrimSpace(stdout) != pinned[0] {
		t.Errorf("release: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}

	// A RUN line stops the build with the file and line.
	if err := os.WriteFile(filepath.Join(src, "Dockerfile"), []byte("FROM scratch\nRUN make\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runIn(t, environ, "build")
	if code != ExitUsage || !strings.Contains(stderr, "Dockerfile:2") || !strings.Contains(stderr, "RUN") {
		t.Errorf("RUN: exit %d, stderr:\n%s", code, stderr)
	}
}
