package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestParseDockerfileRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		mention   string
	}{
		{"run", "FROM scratch\nCOPY a /a\nRUN make\n", 3, "earlier job"},
		{"healthcheck", "FROM scratch\nHEALTHCHECK CMD true\n", 2, "HEALTHCHECK is not supported"},
		{"multi-stage", "FROM scratch AS a\n", 1, "multi-stage"},
		{"second from", "FROM scratch\nFROM scratch\n", 2, "second FROM"},
		{"copy --from", "FROM scratch\nCOPY --from=a /x /y\n", 2, "--from"},
		{"env before from", "ENV A=b\nFROM scratch\n", 1, "before FROM"},
		{"no from", "ARG X\n", 0, "no FROM"},
		{"heredoc", "FROM scratch\nCOPY <<EOF /a\nhi\nEOF\n", 2, "heredocs"},
		{"continued run", "FROM scratch\nCOPY a \\\n  /a\nRUN echo \\\n  hi\n", 4, "RUN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDockerfile("Dockerfile", strings.NewReader(tc.src))
			var de *DockerfileError
			if !errors.As(err, &de) {
				t.Fatalf("error %v, want a DockerfileError", err)
			}
			if de.Line != tc.line || !strings.Contains(de.Error(), tc.mention) {
				t.Errorf("got %q (line %d), want line %d mentioning %q", de, de.Line, tc.line, tc.mention)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	src := "# syntax comment\nARG BASE=scratch\nFROM ${BASE}\nENV A=1 B=\"two words\"\nLABEL team=web\nCOPY --chown=10:20 --chmod=0640 app \\\n  /srv/\nWORKDIR /srv\nUSER 10\nEXPOSE 8080 53/udp\nENTRYPOINT [\"/srv/app\"]\nCMD serve --port 1\n"
	df, err := ParseDockerfile("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := `2 arg map[] ["BASE=scratch"] json=false
3 from map[] ["${BASE}"] json=false
4 env map[] ["A","1","B","\"two words\""] json=false
5 label map[] ["team","web"] json=false
6 copy map[chmod:0640 chown:10:20] ["app","/srv/"] json=false
8 workdir map[] ["/srv"] json=false
9 user map[] ["10"] json=false
10 expose map[] ["8080","53/udp"] json=false
11 entrypoint map[] ["/srv/app"] json=true
12 cmd map[] ["serve --port 1"] json=false
`
	if diff := cmp.Diff(want, df.String()); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
}

func FuzzParseDockerfile(f *testing.F) {
	for _, s := range []string{"FROM scratch\nCOPY a /b\n", "ARG X=1\nFROM $X\nENV A=b c=d\nCMD [\"x\"]\n", "FROM a\nRUN x\n", "FROM a\nLABEL \"k\"=\"v\"\n", "# escape=`\nFROM a\nCOPY a `\n b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		df, err := ParseDockerfile("Dockerfile", strings.NewReader(src))
		if err != nil {
			var de *DockerfileError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a DockerfileError", err)
			}
			return
		}
		// What is accepted starts with FROM and holds only the subset.
		if len(df.Instructions) == 0 || df.Instructions[0].Cmd != "from" {
			t.Fatalf("accepted without FROM first: %s", df)
		}
		for _, in := range df.Instructions {
			if in.Cmd == "run" {
				t.Fatalf("accepted RUN: %s", df)
			}
			if (in.Cmd == "env" || in.Cmd == "label") && len(in.Args)%2 != 0 {
				t.Fatalf("odd key/value list: %s", df)
			}
		}
	})
}

// writeContext lays out a build context.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var epoch = time.Unix(1700000000, 0).UTC()

func buildOpts(dir string) BuildOptions {
	return BuildOptions{
		Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Args: map[string]string{"VERSION": "1.2.3"}, Created: epoch,
		Labels:      map[string]string{"org.opencontainers.image.revision": "0123abcd"},
		Annotations: map[string]string{"org.opencontainers.image.revision": "0123abcd"},
	}
}

const appDockerfile = `FROM scratch
ARG VERSION=dev
ENV APP_VERSION=$VERSION
LABEL version=${VERSION}
WORKDIR /srv
COPY --chown=1000:1000 app/ ./
COPY start.sh /usr/local/bin/
COPY --chmod=0600 secret.conf /etc/app.conf
USER 1000
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/start.sh"]
CMD ["--port", "8080"]
`

func TestBuildGoldenAndReproducible(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"Dockerfile": appDockerfile, ".dockerignore": "app/*.log\napp/tmp\n",
		"app/main.js": "console.log(1)\n", "app/lib/util.js": "x\n", "app/debug.log": "noise\n", "app/tmp/cache": "c\n",
		"start.sh": "#!/bin/sh\n", "secret.conf": "k=v\n",
	}
	c := NewClient(NewKeychain(noDocker))
	first, err := c.Build(ctx, buildOpts(writeContext(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	// A second context with the same content, written at another time in
	// another folder, gives the same digest.
	time.Sleep(10 * time.Millisecond)
	second, err := c.Build(ctx, buildOpts(writeContext(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := mustDigest(t, first), mustDigest(t, second)
	if d1 != d2 {
		t.Errorf("two builds of the same context: %s and %s", d1, d2)
	}
	cf, err := first.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(cf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/build-config.golden.json", got)
	layers, err := first.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var listing []string
	for _, l := range layers {
		listing = append(listing, tarListing(t, l)...)
	}
	want := []string{
		"srv/ 0755 1000:1000", "srv/lib/ 0755 1000:1000", "srv/lib/util.js 0644 1000:1000", "srv/main.js 0644 1000:1000",
		"usr/ 0755 0:0", "usr/local/ 0755 0:0", "usr/local/bin/ 0755 0:0", "usr/local/bin/start.sh 0755 0:0",
		"etc/ 0755 0:0", "etc/app.conf 0600 0:0",
	}
	if diff := cmp.Diff(want, listing); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	// A changed file changes the digest.
	files["app/main.js"] = "console.log(2)\n"
	third, err := c.Build(ctx, buildOpts(writeContext(t, files)))
	if err != nil {
		t.Fatal(err)
	}
	if mustDigest(t, third) == d1 {
		t.Error("a changed file kept the digest")
	}
}

func TestBuildOnMultiPlatformBase(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t, nil)
	base, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	pushIndex(t, reg.repo(t, "base").Tag("1"), base, authn.Anonymous)
	dir := writeContext(t, map[string]string{"Dockerfile": "ARG TAG=1\nFROM " + reg.host + "/base:${TAG}\nCOPY a.txt /a.txt\n", "a.txt": "a\n"})
	c := NewClient(NewKeychain(noDocker))
	b, err := c.Build(ctx, buildOpts(dir))
	if err != nil {
		t.Fatal(err)
	}
	if b.Index == nil {
		t.Fatal("a multi-platform base gave a single image")
	}
	m, err := b.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 2 {
		t.Errorf("%d platforms, want 2", len(m.Manifests))
	}
	repo := reg.repo(t, "app")
	pinned, err := c.Push(ctx, b, repo, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := digestOf(t, pinned, authn.Anonymous); got != mustDigest(t, b) {
		t.Errorf("pushed %s, built %s", got, mustDigest(t, b))
	}
	// Without a commit the tag is build-<digest prefix>: never untagged.
	tags, err := remote.List(repo)
	if err != nil {
		t.Fatal(err)
	}
	if want := "build-" + mustDigest(t, b).Hex[:12]; !cmp.Equal(tags, []string{want}) {
		t.Errorf("tags %v, want [%s]", tags, want)
	}
	for _, pm := range m.Manifests {
		img, err := remote.Image(repo.Digest(pm.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if got := tarListing(t, ls[len(ls)-1]); !cmp.Equal(got, []string{"a.txt 0644 0:0"}) {
			t.Errorf("platform %v top layer %v", pm.Platform, got)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, dockerfile string
		files            map[string]string
		line             int
		mention          string
	}{
		{"missing source", "FROM scratch\nCOPY nope /x\n", nil, 2, "matches no file"},
		{"ignored source", "FROM scratch\nCOPY secret /x\n", map[string]string{".dockerignore": "secret\n", "secret": "s"}, 2, "dockerignore"},
		{"add url", "FROM scratch\nADD https://example.com/x /x\n", nil, 2, "URL"},
		{"add archive", "FROM scratch\nADD a.tar.gz /x/\n", map[string]string{"a.tar.gz": "x"}, 2, "unpack"},
		{"chown name", "FROM scratch\nCOPY --chown=app a /a\n", map[string]string{"a": "x"}, 2, "numeric"},
		{"bad expose", "FROM scratch\nEXPOSE http\n", nil, 2, "not a port"},
		{"from not a reference", "FROM UPPER/Case::x\n", nil, 1, "not an image reference"},
		{"from port out of range", "FROM localhost:99999/base:1\n", nil, 1, "port"},
		{"from port zero", "FROM registry.example.com:0/base:1\n", nil, 1, "port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"Dockerfile": tc.dockerfile}
			for k, v := range tc.files {
				files[k] = v
			}
			_, err := NewClient(NewKeychain(noDocker)).Build(ctx, buildOpts(writeContext(t, files)))
			var de *DockerfileError
			if !errors.As(err, &de) || de.Line != tc.line || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %v, want line %d mentioning %q", err, tc.line, tc.mention)
			}
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// tarListing is "name mode uid:gid" per entry of a layer, in order; every
// entry must carry the build's fixed time.
func tarListing(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s has time %s, want %s", h.Name, h.ModTime, epoch)
		}
		out = append(out, fmt.Sprintf("%s %04o %d:%d", h.Name, h.Mode, h.Uid, h.Gid))
	}
}

func TestBuildMissingBase(t *testing.T) {
	reg := newTestRegistry(t, nil)
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + reg.host + "/nothing:1\n"})
	_, err := NewClient(NewKeychain(noDocker)).Build(context.Background(), buildOpts(dir))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "FROM") {
		t.Errorf("error %v, want ErrNotFound naming FROM", err)
	}
}

func TestBuildPlatform(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t, nil)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	perPlatform := map[string]v1.Hash{}
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: p.OS, Architecture: p.Architecture, RootFS: v1.RootFS{Type: "layers", DiffIDs: mustDiffIDs(t, img)}})
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		perPlatform[p.String()] = mustDigest(t, ls[0])
		if p.Architecture == "amd64" {
			pushImage(t, reg.repo(t, "single").Tag("1"), img, authn.Anonymous)
		}
	}
	pushIndex(t, reg.repo(t, "multi").Tag("1"), idx, authn.Anonymous)
	c := NewClient(NewKeychain(noDocker))
	for _, tc := range []struct {
		name, from, wantLayer, mention string
	}{
		{"one platform of an index", "--platform=linux/arm64 " + reg.host + "/multi:1", "linux/arm64", ""},
		{"absent platform", "--platform=linux/s390x " + reg.host + "/multi:1", "", "linux/amd64, linux/arm64, not linux/s390x"},
		{"single image of another platform", "--platform=linux/arm64 " + reg.host + "/single:1", "", "is for linux/amd64, not linux/arm64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeContext(t, map[string]string{"Dockerfile": "FROM " + tc.from + "\nCMD [\"x\"]\n"})
			b, err := c.Build(ctx, buildOpts(dir))
			if tc.mention != "" {
				var de *DockerfileError
				if !errors.As(err, &de) || de.Line != 1 || !strings.Contains(err.Error(), tc.mention) {
					t.Fatalf("error %v, want line 1 mentioning %q", err, tc.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Image == nil {
				t.Fatal("want a single image")
			}
			ls, err := b.Image.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if got := mustDigest(t, ls[0]); got != perPlatform[tc.wantLayer] {
				t.Errorf("base layer %s, want %s's %s", got, tc.wantLayer, perPlatform[tc.wantLayer])
			}
		})
	}
}

func mustDiffIDs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.RootFS.DiffIDs
}
