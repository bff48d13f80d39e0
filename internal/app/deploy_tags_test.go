package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// TestDeployMovesLiveTags is a pipeline's release and deploy twice: after
// each successful deployment the live tag names what production runs, and
// previous what ran before, in the GitLab registry and in ECR.
func TestDeployMovesLiveTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: true, Speed: 600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	// The commands' own waits (smoke-check intervals above all) run on a
	// clock 100 times faster than the wall clock, as the simulator runs 600.
	clk := newFastClock(100)
	runIn := func(tb testing.TB, environ []string, args ...string) (int, string, string) {
		tb.Helper()
		return runClocked(tb, clk, environ, args...)
	}
	env := map[string]string{}
	base := []string{"HOME=" + t.TempDir(), "BG_TASKDEF_FILE=" + filepath.Join(t.TempDir(), "none.json"), "BG_APPSPEC_FILE=" + filepath.Join(t.TempDir(), "none.yml"), "BG_ECR_REPOSITORY=web"}
	for _, l := range sb.Exports() {
		k, v, _ := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		env[k] = v
		base = append(base, k+"="+v)
	}
	gitlab := &authn.Basic{Username: env["CI_REGISTRY_USER"], Password: env["CI_REGISTRY_PASSWORD"]}
	ecrUser, ecrPass := sb.Sim.ECRCredentials()
	ecr := &authn.Basic{Username: ecrUser, Password: ecrPass}
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
	// Before any deployment moved it there is no live tag: verify skips the
	// check rather than failing teams that do not release through a registry.
	_, stdout, _ := runIn(t, append(append([]string{}, base...), "BG_OUTPUT_DIR="+t.TempDir()), "verify")
	if !strings.Contains(stdout, "skip registry live tag names the live image: no live tag in") {
		t.Errorf("verify before any tag moved:\n%s", stdout)
	}
	var digests []string
	for i, pipeline := range []string{"1", "2"} {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests = append(digests, d.String())
		src, _ := name.NewTag(env["CI_REGISTRY_IMAGE"] + ":main")
		if err := remote.Write(src, img, remote.WithAuth(gitlab)); err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		environ := append(append([]string{}, base...), "CI_PIPELINE_ID="+pipeline, "CI_COMMIT_SHA=commit"+pipeline, "BG_OUTPUT_DIR="+out)
		code, stdout, stderr := runIn(t, append(environ, "BG_IMAGE="+src.String()), "release")
		if code != ExitOK {
			t.Fatalf("release %d: exit %d\n%s", i, code, stderr)
		}
		pinned := strings.TrimSpace(stdout)
		code, _, stderr = runIn(t, append(environ, "BG_IMAGE="+pinned), "deploy")

		if code != ExitOK {
			t.Fatalf("deploy %d: exit %d\n%s", i, code, stderr)
		}
	}
	checkTags := func(live, previous string) {
		t.Helper()
		for _, reg := range []struct {
			repo string
			auth authn.Authenticator
		}{{env["CI_REGISTRY_IMAGE"], gitlab}, {sb.RegistryHost + "/web", ecr}} {
			if got := tagDigest(reg.repo+":live", reg.auth); got != live {
				t.Errorf("%s:live = %s, want %s", reg.repo, got, live)
			}
			if got := tagDigest(reg.repo+":previous", reg.auth); got != previous {
				t.Errorf("%s:previous = %s, want %s", reg.repo, got, previous)
			}
		}
	}
	checkTags(digests[1], digests[0])

	// With nothing in flight, rollback redeploys the previous image, and the
	// tags swap: rolling back twice flips back.
	environ := append(append([]string{}, base...), "CI_PIPELINE_ID=3", "BG_OUTPUT_DIR="+t.TempDir())
	code, _, stderr := runIn(t, environ, "rollback")
	if code != ExitOK || !strings.Contains(stderr, "redeploying the previous image") {
		t.Fatalf("rollback after success: exit %d\n%s", code, stderr)
	}
	checkTags(digests[0], digests[1])
	// The same pipeline's rollback job retried changes nothing.
	code, _, stderr = runIn(t, environ, "rollback")
	if code != ExitOK || !strings.Contains(stderr, "this pipeline's rollback already ran: nothing to do") {
		t.Fatalf("retried rollback: exit %d\n%s", code, stderr)
	}
	checkTags(digests[0], digests[1])
}
