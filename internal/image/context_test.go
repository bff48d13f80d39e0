package image

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// outsideSecret is what the runner has outside the checkout; no build may
// put it in an image.
const outsideSecret = "runner-secret-4f1c9d"

// hostileProject lays out a runner: a folder outside the checkout holding a
// secret, and the checkout (project) holding ctx, the build context, plus
// the links the test adds.
func hostileProject(t *testing.T, links map[string]string, files map[string]string) (project, ctxDir string) {
	t.Helper()
	runner := t.TempDir()
	outside := filepath.Join(runner, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte(outsideSecret), 0o644); err != nil {
		t.Fatal(err)
	}
	project = filepath.Join(runner, "project")
	ctxDir = filepath.Join(project, "ctx")
	for n, content := range files {
		p := filepath.Join(project, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for n, target := range links {
		p := filepath.Join(project, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(strings.ReplaceAll(target, "$OUTSIDE", outside), p); err != nil {
			t.Fatal(err)
		}
	}
	return project, ctxDir
}

// imageFiles lists every entry of every layer as "name" for folders and
// files, "name -> target" for links, and fails if any file carries the
// runner's secret.
func imageFiles(t *testing.T, b *Built) []string {
	t.Helper()
	layers, err := b.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), outsideSecret) {
				t.Errorf("%s carries the runner's secret into the image", h.Name)
			}
			if h.Typeflag == tar.TypeSymlink {
				out = append(out, h.Name+" -> "+h.Linkname)
				continue
			}
			out = append(out, h.Name)
		}
		_ = rc.Close()
	}
	return out
}

func TestBuildNeverLeavesTheContext(t *testing.T) {
	for _, tc := range []struct {
		name         string
		dockerfile   string
		links        map[string]string
		files        map[string]string
		dockerfileAt string // relative to project; default ctx/Dockerfile
		mention      []string
	}{
		{
			name:       "copy of a link to an absolute path",
			dockerfile: "FROM scratch\nCOPY passwd /etc/passwd\n",
			links:      map[string]string{"ctx/passwd": "/etc/passwd"},
			mention:    []string{"passwd", "absolute path /etc/passwd"},
		},
		{
			name:       "copy of a relative link leading up",
			dockerfile: "FROM scratch\nCOPY leak /leak\n",
			links:      map[string]string{"ctx/leak": "../../outside/secret"},
			mention:    []string{"leak", "../../outside/secret", "outside the build context"},
		},
		{
			name:       "a link up to the project, still outside the context",
			dockerfile: "FROM scratch\nCOPY up /up\n",
			links:      map[string]string{"ctx/up": "../README"},
			files:      map[string]string{"README": "project readme"},
			mention:    []string{"outside the build context"},
		},
		{
			name:       "a link matched by a glob",
			dockerfile: "FROM scratch\nCOPY *.conf /etc/\n",
			links:      map[string]string{"ctx/b.conf": "$OUTSIDE/secret"},
			files:      map[string]string{"ctx/a.conf": "a=1"},
			mention:    []string{"b.conf", "absolute path"},
		},
		{
			name:       "a folder on the way is a link leading up",
			dockerfile: "FROM scratch\nCOPY sub/secret /s\n",
			links:      map[string]string{"ctx/sub": "../../outside"},
			mention:    []string{"sub", "outside the build context"},
		},
		{
			name:       "a glob under a folder that is a link leading up",
			dockerfile: "FROM scratch\nCOPY sub/* /s/\n",
			links:      map[string]string{"ctx/sub": "../../outside"},
			mention:    []string{"sub", "outside the build context"},
		},
		{
			name:       "a link to a folder leading up, copied whole",
			dockerfile: "FROM scratch\nCOPY sub /s/\n",
			links:      map[string]string{"ctx/sub": "../../outside"},
			mention:    []string{"sub", "outside the build context"},
		},
		{
			name:         "the context is itself a link",
			dockerfile:   "FROM scratch\nCOPY secret /s\n",
			links:        map[string]string{"ctx": "../outside"},
			dockerfileAt: "Dockerfile",
			mention:      []string{"build context", "BG_BUILD_CONTEXT", "outside the project folder"},
		},
		{
			name:       ".dockerignore is a link leading up",
			dockerfile: "FROM scratch\n",
			links:      map[string]string{"ctx/.dockerignore": "../../outside/secret"},
			mention:    []string{".dockerignore", "outside the build context"},
		},
		{
			name:    "the Dockerfile is a link leading up",
			links:   map[string]string{"ctx/Dockerfile": "../../outside/secret"},
			mention: []string{"Dockerfile", "BG_DOCKERFILE", "outside the project folder"},
		},
		{
			name:       "a dangling link",
			dockerfile: "FROM scratch\nCOPY gone /gone\n",
			links:      map[string]string{"ctx/gone": "nothing-here"},
			mention:    []string{"gone", "does not exist"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range tc.files {
				files[k] = v
			}
			dfAt := "ctx/Dockerfile"
			if tc.dockerfileAt != "" {
				dfAt = tc.dockerfileAt
			}
			if tc.dockerfile != "" {
				files[dfAt] = tc.dockerfile
			}
			project, ctxDir := hostileProject(t, tc.links, files)
			o := buildOpts(ctxDir)
			o.Project, o.Dockerfile = project, filepath.Join(project, dfAt)
			b, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
			if err == nil {
				t.Cleanup(func() { _ = b.Close() })
				t.Fatalf("built %v from a context with a link out of it", imageFiles(t, b))
			}
			var de *DockerfileError
			if !errors.As(err, &de) {
				t.Errorf("error %v is not a DockerfileError (exit 2, nothing pushed)", err)
			}
			if strings.Contains(err.Error(), outsideSecret) {
				t.Errorf("the error carries the secret: %v", err)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

// Inside the context, links behave as Docker's: a source that is a link is
// followed, links inside a copied folder are kept as links (whatever they
// point at, since in the image they name the image's own files).
func TestBuildKeepsLinksInsideTheContext(t *testing.T) {
	project, ctxDir := hostileProject(t, map[string]string{
		"ctx/current":          "releases/v2",
		"ctx/app.conf":         "conf/real.conf",
		"ctx/site/passwd":      "/etc/passwd",
		"ctx/site/up":          "../../../outside/secret",
		"ctx/site/index.html2": "index.html",
	}, map[string]string{
		"ctx/Dockerfile":          "FROM scratch\nCOPY current /app/\nCOPY app.conf /etc/app.conf\nCOPY site /site/\n",
		"ctx/releases/v2/main.js": "v2",
		"ctx/conf/real.conf":      "k=v",
		"ctx/site/index.html":     "<h1>hi</h1>",
	})
	o := buildOpts(ctxDir)
	o.Project = project
	b, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	want := []string{
		"app/", "app/main.js",
		"etc/", "etc/app.conf",
		"site/", "site/index.html", "site/index.html2 -> index.html", "site/passwd -> /etc/passwd", "site/up -> ../../../outside/secret",
	}
	if diff := cmp.Diff(want, imageFiles(t, b)); diff != "" {
		t.Errorf("image files (-want +got):\n%s", diff)
	}
}

// A context reached through a link that stays inside the project is fine.
func TestBuildContextLinkInsideProject(t *testing.T) {
	project, _ := hostileProject(t, map[string]string{"ctx": "real"}, map[string]string{
		"real/Dockerfile": "FROM scratch\nCOPY a /a\n", "real/a": "a",
	})
	ctxDir := filepath.Join(project, "ctx")
	o := buildOpts(ctxDir)
	o.Project = project
	b, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if got := imageFiles(t, b); !cmp.Equal(got, []string{"a"}) {
		t.Errorf("image files %v", got)
	}
}

func TestEscapes(t *testing.T) {
	for _, tc := range []struct {
		dir, target string
		want        bool
	}{
		{".", "a", false},
		{".", "../a", true},
		{"a", "../b", false},
		{"a", "../../b", true},
		{"a/b", "../../c", false},
		{".", "a/../../b", true},
		{".", "a/../b", false},
		{"a", "./../..", true},
	} {
		if got := escapes(tc.dir, tc.target); got != tc.want {
			t.Errorf("escapes(%q, %q) = %v, want %v", tc.dir, tc.target, got, tc.want)
		}
	}
}

// The layer's bytes depend on the block size, not on how many blocks are
// compressed at once: one core and many give the same digest.
func TestBuildDigestIndependentOfConcurrency(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 300_000) // several compression blocks
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY . /srv/\n", "big": big, "small": "s"})
	var digests []v1.Hash
	for _, n := range []int{1, 2, 8} {
		o := buildOpts(dir)
		o.concurrency = n
		b, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		digests = append(digests, mustDigest(t, b))
	}
	if digests[0] != digests[1] || digests[0] != digests[2] {
		t.Errorf("digests by concurrency 1, 2, 8: %v", digests)
	}
}

func TestBuildMissingDockerfileOrContext(t *testing.T) {
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	for _, tc := range []struct {
		name    string
		opts    func(o *BuildOptions)
		mention string
	}{
		{"no Dockerfile", func(o *BuildOptions) { o.Dockerfile = filepath.Join(dir, "Dockerfile.prod") }, "BG_DOCKERFILE"},
		{"no context", func(o *BuildOptions) { o.Context = filepath.Join(dir, "nowhere") }, "BG_BUILD_CONTEXT"},
		{"context is a file", func(o *BuildOptions) { o.Context = filepath.Join(dir, "Dockerfile") }, "BG_BUILD_CONTEXT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := buildOpts(dir)
			tc.opts(&o)
			_, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), o)
			var de *DockerfileError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %v, want a DockerfileError naming %s", err, tc.mention)
			}
		})
	}
}
