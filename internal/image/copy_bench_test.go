package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// craneVersion is the go-containerregistry release go.mod names: crane and
// release then share the library, and differ only in how they use it.
const craneVersion = "v0.22.1"

// BenchmarkCopyTools copies one image of 5 gzip layers (200 MiB compressed
// with BG_BENCH_FULL=1, as real images are) from a docker-registry to a new,
// empty docker-registry with three tools, each run as its own process:
// `ecs-bluegreen release`, `crane copy` and `skopeo copy --all`. Each round
// runs every tool once, the order turned by one each round, and times the
// process from start to exit. Beside them stands the limit: a plain push of
// the same blobs from local files, all layers at once, to a new registry,
// which is what the destination can take in.
//
//	BG_BENCH_FULL=1 go test -run '^$' -bench CopyTools -benchtime 6x ./internal/image
func BenchmarkCopyTools(b *testing.B) {
	skopeo := testutil.RequirePeer(b, "skopeo")
	bin := b.TempDir()
	tool := filepath.Join(bin, "ecs-bluegreen")
	if out, err := exec.Command("go", "build", "-o", tool, "gitlab.com/ecs-bluegreen/ecs-bluegreen/cmd/ecs-bluegreen").CombinedOutput(); err != nil {
		b.Fatalf("building ecs-bluegreen: %v\n%s", err, out)
	}
	crane := filepath.Join(bin, "crane")
	install := exec.Command("go", "install", "github.com/google/go-containerregistry/cmd/crane@"+craneVersion)
	install.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := install.CombinedOutput(); err != nil {
		testutil.MissingPeer(b, fmt.Sprintf("crane %s could not be installed from the Go module proxy: %v\n%s", craneVersion, err, out))
		return
	}

	layers := gzipLayers(b, 5, benchSize(40<<20))
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		b.Fatal(err)
	}
	src := startDockerRegistry(b)
	srcRef, err := name.NewTag(src.host + "/bench/app:v1")
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(srcRef, img, remote.WithAuth(&authn.Basic{Username: src.user, Password: src.password})); err != nil {
		b.Fatal(err)
	}
	want, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}

	type run func(b *testing.B, dst *dockerRegistry, config string) *exec.Cmd
	tools := []struct {
		name string
		cmd  run
	}{
		{"release", func(b *testing.B, dst *dockerRegistry, config string) *exec.Cmd {
			b.Helper()
			c := exec.Command(tool, "release")
			c.Env = []string{
				"PATH=" + os.Getenv("PATH"), "HOME=" + filepath.Dir(config), "DOCKER_CONFIG=" + config,
				"BG_IMAGE=" + srcRef.String(), "BG_REGISTRY_IMAGE=" + dst.host + "/bench/app", "BG_REGISTRY=" + dst.host,
				"BG_REGISTRY_USER=" + dst.user, "BG_REGISTRY_PASSWORD=" + dst.password, "BG_COMMIT_TAG=0123abcd",
				"BG_OUTPUT_DIR=" + b.TempDir(),
			}
			return c
		}},
		{"crane", func(_ *testing.B, dst *dockerRegistry, config string) *exec.Cmd {
			c := exec.Command(crane, "copy", "--insecure", srcRef.String(), dst.host+"/bench/app:candidate")
			c.Env = []string{"HOME=" + filepath.Dir(config), "DOCKER_CONFIG=" + config}
			return c
		}},
		{"skopeo", func(_ *testing.B, dst *dockerRegistry, config string) *exec.Cmd {
			return exec.Command(skopeo, "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
				"--authfile", filepath.Join(config, "config.json"), "docker://"+srcRef.String(), "docker://"+dst.host+"/bench/app:candidate")
		}},
		{"limit", nil},
	}
	spent := map[string]time.Duration{}
	b.ResetTimer()
	for round := range b.N {
		for i := range tools {
			t := tools[(round+i)%len(tools)]
			b.StopTimer()
			dst := startDockerRegistry(b)
			config := dockerConfig(b, src, dst)
			b.StartTimer()
			start := time.Now()
			if t.cmd == nil {
				// The limit: the blobs from local files, all at once.
				ref, err := name.NewTag(dst.host + "/bench/app:candidate")
				if err != nil {
					b.Fatal(err)
				}
				if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: dst.user, Password: dst.password}), remote.WithJobs(len(layers))); err != nil {
					b.Fatal(err)
				}
			} else if out, err := t.cmd(b, dst, config).CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", t.name, err, out)
			}
			spent[t.name] += time.Since(start)
			b.StopTimer()
			if got := copiedDigest(b, dst, dst.host+"/bench/app:candidate"); got != want.String() {
				b.Fatalf("%s copied %s, want %s", t.name, got, want)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	names := make([]string, 0, len(spent))
	for n := range spent {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.ReportMetric(float64(spent[n].Milliseconds())/float64(b.N), n+"-ms")
	}
	b.ReportMetric(spent["release"].Seconds()/spent["crane"].Seconds(), "release/crane")
	b.ReportMetric(spent["release"].Seconds()/spent["skopeo"].Seconds(), "release/skopeo")
	b.ReportMetric(spent["release"].Seconds()/spent["limit"].Seconds(), "release/limit")
}

// gzipLayers writes n gzip layers of about size compressed bytes each, from
// content that compresses as program files do, into files.
func gzipLayers(b *testing.B, n int, size int64) []v1.Layer {
	b.Helper()
	dir := b.TempDir()
	var out []v1.Layer
	for i := range n {
		raw := filepath.Join(dir, fmt.Sprintf("raw%d", i))
		benchFile(b, raw, 3*size)
		in, err := os.Open(raw)
		if err != nil {
			b.Fatal(err)
		}
		gz := raw + ".gz"
		f, err := os.Create(gz)
		if err != nil {
			b.Fatal(err)
		}
		zw := pgzip.NewWriter(f)
		_ = zw.SetConcurrency(1<<20, 2*runtime.GOMAXPROCS(0))
		if _, err := in.WriteTo(zw); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
		_ = in.Close()
		_ = os.Remove(raw)
		l, err := tarball.LayerFromFile(gz, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// dockerConfig writes a Docker config folder that logs in to both
// registries; crane, skopeo and release all read it.
func dockerConfig(b *testing.B, regs ...*dockerRegistry) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), ".docker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	auths := map[string]map[string]string{}
	for _, r := range regs {
		auths[r.host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(r.user + ":" + r.password))}
	}
	data, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// copiedDigest is the digest ref names in r.
func copiedDigest(b *testing.B, r *dockerRegistry, ref string) string {
	b.Helper()
	parsed, err := name.ParseReference(ref)
	if err != nil {
		b.Fatal(err)
	}
	d, err := NewClient(NewKeychain(noDocker, r.creds())).Resolve(context.Background(), parsed)
	if err != nil {
		b.Fatal(err)
	}
	return d.DigestStr()
}
