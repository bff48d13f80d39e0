package component

import (
	"archive/tar"
	"bytes"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestToolImage_perPlatform does what the project's container-image job
// does, against a local registry and a two-platform stand-in for the base:
// .ci/image.Dockerfile built once per platform with FROM --platform (the
// job's sed) and that platform's binary, the two joined in one index (the
// job's crane index append). Each platform's image must carry its own
// binary: building once from the multi-platform base would put one binary
// into every platform.
func TestToolImage_perPlatform(t *testing.T) {
	t.Parallel()
	ci := readFile(t, ".gitlab-ci.yml")
	for _, want := range []string{`sed "s|^FROM |FROM --platform=linux/$arch |" .ci/image.Dockerfile`, "PLATFORMS: amd64 arm64", "crane index append $manifests"} {
		if !strings.Contains(ci, want) {
			t.Fatalf(".gitlab-ci.yml no longer has %q: update this test with the job", want)
		}
	}
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	host := u.Host

	// The base: an index of an amd64 and an arm64 image.
	base := mutate.IndexMediaType(empty.Index, "application/vnd.oci.image.index.v1+json")
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		base = mutate.AppendManifests(base, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	baseRef, _ := name.ParseReference(host + "/base/busybox:1")
	if err := remote.WriteIndex(baseRef, base); err != nil {
		t.Fatal(err)
	}
	baseDigest, _ := base.Digest()

	dockerfile := readFile(t, ".ci/image.Dockerfile")
	var from string
	for _, line := range strings.Split(dockerfile, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			from = strings.TrimPrefix(line, "FROM ")
		}
	}
	if !strings.Contains(from, "@sha256:") {
		t.Errorf("the image's base %s is not pinned by digest", from)
	}
	dockerfile = strings.Replace(dockerfile, "FROM "+from, "FROM "+host+"/base/busybox@"+baseDigest.String(), 1)

	index := mutate.IndexMediaType(empty.Index, "application/vnd.oci.image.index.v1+json")
	dist := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		dir := filepath.Join(dist, arch)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string]string{"ecs-bluegreen": "binary for " + arch, "ca-certificates.crt": "certs", "Dockerfile": strings.ReplaceAll(dockerfile, "\nFROM ", "\nFROM --platform=linux/"+arch+" ")} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(filepath.Join(toolDir(t), "ecs-bluegreen"), "build")
		cmd.Env = []string{
			"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "BG_BUILD_CONTEXT=" + dir, "BG_DOCKERFILE=" + filepath.Join(dir, "Dockerfile"),
			"BG_REGISTRY_IMAGE=" + host + "/ecs-bluegreen", "BG_BUILD_ARGS=VERSION=1.0.0,COMMIT=abc", "BG_OUTPUT_DIR=" + t.TempDir(),
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("build for %s: %v\n%s", arch, err, stderr.String())
		}
		ref, err := name.ParseReference(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("build printed %q: %v", out, err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Architecture != arch {
			t.Errorf("the %s build is for %s", arch, cf.Architecture)
		}
		if got := fileIn(t, img, "usr/local/bin/ecs-bluegreen"); got != "binary for "+arch {
			t.Errorf("the %s image carries %q as its binary", arch, got)
		}
		index = mutate.AppendManifests(index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}}})
	}
	m, err := index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 2 || m.Manifests[0].Platform.Architecture != "amd64" || m.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("the index holds %v", m.Manifests)
	}
}

// fileIn reads a file from an image's flattened filesystem.
func fileIn(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the image: %v", path, err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(data)
		}
	}
}
