package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"golang.org/x/crypto/bcrypt"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// dockerRegistry is Debian's docker-registry (the CNCF distribution server)
// on a loopback port with htpasswd basic auth: a real registry, not the
// in-memory one the other tests use.
type dockerRegistry struct {
	host, user, password string
}

func startDockerRegistry(tb testing.TB) *dockerRegistry {
	tb.Helper()
	bin := testutil.RequirePeer(tb, "docker-registry")
	dir := tb.TempDir()
	r := &dockerRegistry{user: "ci-user", password: "registry-password"}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(r.user+":"+string(hash)+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	// A free port: listen, note it, close; the registry binds it next.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.host = ln.Addr().String()
	_ = ln.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: test
    path: %s
`, filepath.Join(dir, "data"), r.host, filepath.Join(dir, "htpasswd"))
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	// Its access log is noise unless the test fails.
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if tb.Failed() {
			tb.Logf("docker-registry log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + r.host + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return r
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("docker-registry did not answer on %s: %v", r.host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *dockerRegistry) creds() Credentials {
	return Credentials{Host: r.host, User: r.user, Password: r.password}
}

// skopeoDigest reads ref's manifest with skopeo, an independent client, and
// returns its digest.
func skopeoDigest(t *testing.T, r *dockerRegistry, ref string) string {
	t.Helper()
	skopeo := testutil.RequirePeer(t, "skopeo")
	out, err := exec.Command(skopeo, "inspect", "--raw", "--tls-verify=false", "--creds", r.user+":"+r.password, "docker://"+ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect %s: %v", ref, err)
	}
	sum := sha256.Sum256(out)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestReleaseToDockerRegistry(t *testing.T) {
	ctx := context.Background()
	dst := startDockerRegistry(t)
	src := newTestRegistry(t, nil)
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(1024, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, src.repo(t, "app").Tag("v1"), img, authn.Anonymous)
	pushIndex(t, src.repo(t, "multi").Tag("v1"), idx, authn.Anonymous)
	c := NewClient(NewKeychain(noDocker, dst.creds()))
	for _, tc := range []struct {
		repo string
		want v1.Hash
	}{{"app", mustDigest(t, img)}, {"multi", mustDigest(t, idx)}} {
		t.Run(tc.repo, func(t *testing.T) {
			srcRef, err := name.ParseReference(src.host + "/" + tc.repo + ":v1")
			if err != nil {
				t.Fatal(err)
			}
			repo, err := name.NewRepository(dst.host + "/group/" + tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.Release(ctx, srcRef, []name.Repository{repo}, []string{"abc123", "candidate"})
			if err != nil {
				t.Fatal(err)
			}
			if out.Digest != tc.want {
				t.Errorf("digest %s, want %s", out.Digest, tc.want)
			}
			for _, ref := range []string{repo.Tag("abc123").String(), repo.Tag("candidate").String(), out.Pinned[0].String()} {
				if got := skopeoDigest(t, dst, ref); got != tc.want.String() {
					t.Errorf("skopeo sees %s as %s, want %s", ref, got, tc.want)
				}
			}
			if err := c.MoveTag(ctx, out.Pinned[0], "live"); err != nil {
				t.Fatal(err)
			}
			if got := skopeoDigest(t, dst, repo.Tag("live").String()); got != tc.want.String() {
				t.Errorf("live is %s, want %s", got, tc.want)
			}
		})
	}
	// The wrong password is refused, named, and not shown.
	bad := NewClient(NewKeychain(noDocker, Credentials{Host: dst.host, User: dst.user, Password: "wrong-one"}))
	srcRef, err := name.ParseReference(src.host + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(dst.host + "/group/app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Release(ctx, srcRef, []name.Repository{repo}, []string{"x"}); err == nil || !errorsIsUnauthorized(err) {
		t.Errorf("wrong password: %v, want ErrUnauthorized", err)
	}
}

func errorsIsUnauthorized(err error) bool { return errors.Is(err, ErrUnauthorized) }

// TestBuildPushToDockerRegistry pushes a build by digest to a real registry
// and reads it back with skopeo: the digest and the config it sees are ours.
func TestBuildPushToDockerRegistry(t *testing.T) {
	ctx := context.Background()
	dst := startDockerRegistry(t)
	dir := writeContext(t, map[string]string{"Dockerfile": appDockerfile, "app/main.js": "x\n", "start.sh": "#!/bin/sh\n", "secret.conf": "k=v\n"})
	c := NewClient(NewKeychain(noDocker, dst.creds()))
	built, err := c.Build(ctx, buildOpts(dir))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(dst.host + "/group/app")
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := c.Push(ctx, built, repo, "0123abcd")
	if err != nil {
		t.Fatal(err)
	}
	if got := skopeoDigest(t, dst, pinned.String()); got != pinned.DigestStr() {
		t.Errorf("skopeo sees %s, pushed %s", got, pinned.DigestStr())
	}
	// Tagged too, so the registry's garbage collection keeps it.
	if got := skopeoDigest(t, dst, repo.Tag("0123abcd").String()); got != pinned.DigestStr() {
		t.Errorf("skopeo sees %s under the commit tag, pushed %s", got, pinned.DigestStr())
	}
	skopeo := testutil.RequirePeer(t, "skopeo")
	out, err := exec.Command(skopeo, "inspect", "--config", "--tls-verify=false", "--creds", dst.user+":"+dst.password, "docker://"+pinned.String()).Output()
	if err != nil {
		t.Fatalf("skopeo inspect --config: %v", err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(out, &cf); err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "1000" || cf.Config.Labels["version"] != "1.2.3" || len(cf.RootFS.DiffIDs) != 3 {
		t.Errorf("skopeo reads config user %q labels %v layers %d", cf.Config.User, cf.Config.Labels, len(cf.RootFS.DiffIDs))
	}
}

// countingTransport records each request as "METHOD kind[+mount]".
type countingTransport struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	k := r.Method + " " + kind(r.URL.Path)
	if r.URL.Query().Get("mount") != "" {
		k += "+mount"
	}
	c.mu.Lock()
	c.calls[k]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestReleaseMountsWithinARegistry copies between two repositories of one
// real registry (which keeps blobs per repository, unlike the in-memory one):
// every blob is mounted, none is sent.
func TestReleaseMountsWithinARegistry(t *testing.T) {
	reg := startDockerRegistry(t)
	img, err := random.Image(8192, 3)
	if err != nil {
		t.Fatal(err)
	}
	from, err := name.NewTag(reg.host + "/group/app:main")
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, from, img, &authn.Basic{Username: reg.user, Password: reg.password})
	to, err := name.NewRepository(reg.host + "/deploy/app")
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{calls: map[string]int{}}
	c := NewClient(NewKeychain(noDocker, reg.creds()), WithTransport(ct))
	if _, err := c.Release(context.Background(), from, []name.Repository{to}, []string{"candidate"}); err != nil {
		t.Fatal(err)
	}
	// 3 layers and the config blob.
	if ct.calls["POST upload+mount"] != 4 || ct.calls["PATCH upload"]+ct.calls["PUT upload"]+ct.calls["GET blob"] != 0 {
		t.Errorf("want 4 mounts and no blob sent, got %v", ct.calls)
	}
}
