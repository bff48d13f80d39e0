package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
)

// A checkout whose links lead out of it: `build` refuses with exit 2 before
// it pushes anything, naming the link, and never prints what it points at.
func TestBuildRefusesLinksOutOfTheCheckout(t *testing.T) {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	runner := t.TempDir()
	if err := os.WriteFile(filepath.Join(runner, "runner-token"), []byte("glrt-secret-9a8b"), 0o600); err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(runner, "builds", "group", "web")
	for _, tc := range []struct {
		name    string
		setup   func(ctxDir string) error
		mention string
	}{
		{"copy of an absolute link", func(ctxDir string) error {
			return os.Symlink(filepath.Join(runner, "runner-token"), filepath.Join(ctxDir, "config"))
		}, "config is a symbolic link to the absolute path"},
		{"copy of a link leading up", func(ctxDir string) error {
			return os.Symlink("../../../../runner-token", filepath.Join(ctxDir, "config"))
		}, "leads outside the build context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctxDir := filepath.Join(project, strings.ReplaceAll(tc.name, " ", "-"))
			if err := os.MkdirAll(ctxDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY config /etc/config\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(ctxDir); err != nil {
				t.Fatal(err)
			}
			environ := []string{"CI_PROJECT_DIR=" + project, "BG_BUILD_CONTEXT=" + ctxDir, "CI_COMMIT_SHA=0123abcd", "BG_OUTPUT_DIR=" + t.TempDir(), "HOME=" + t.TempDir()}
			for _, l := range sb.Exports() {
				environ = append(environ, strings.TrimPrefix(l, "export "))
			}
			code, stdout, stderr := runIn(t, environ, "build")
			if code != ExitUsage || !strings.Contains(stderr, tc.mention) || !strings.Contains(stderr, "nothing was pushed") {
				t.Errorf("exit %d, want %d naming the link; stderr:\n%s", code, ExitUsage, stderr)
			}
			if strings.Contains(stdout+stderr, "glrt-secret") {
				t.Errorf("the runner's file reached the output:\n%s%s", stdout, stderr)
			}
			reg, err := name.NewRegistry(sb.RegistryHost, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			repos, err := remote.Catalog(ctx, reg, remote.WithAuth(&authn.Basic{Username: envOf(environ, "CI_REGISTRY_USER"), Password: envOf(environ, "CI_REGISTRY_PASSWORD")}))
			if err != nil {
				t.Fatal(err)
			}
			if len(repos) > 0 {
				t.Errorf("the registry holds %v after a refused build", repos)
			}
		})
	}
}

func envOf(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}
