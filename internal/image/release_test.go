package image

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

// testRegistry is go-containerregistry's in-memory registry behind basic
// auth, counting requests by method and path kind.
type testRegistry struct {
	host  string
	users map[string]string
	mu    sync.Mutex
	calls map[string]int
}

func newTestRegistry(t *testing.T, users map[string]string) *testRegistry {
	t.Helper()
	r := &testRegistry{users: users, calls: map[string]int{}}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if len(r.users) > 0 {
			u, p, ok := req.BasicAuth()
			if !ok || r.users[u] == "" || r.users[u] != p {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		r.mu.Lock()
		r.calls[req.Method+" "+kind(req.URL.Path)]++
		r.mu.Unlock()
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// kind names the part of the distribution API a path is for.
func kind(p string) string {
	switch {
	case strings.Contains(p, "/blobs/uploads"):
		return "upload"
	case strings.Contains(p, "/blobs/"):
		return "blob"
	case strings.Contains(p, "/manifests/"):
		return "manifest"
	}
	return p
}

func (r *testRegistry) reset() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = map[string]int{}
	return c
}

func (r *testRegistry) repo(t *testing.T, path string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(r.host + "/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func pushIndex(t *testing.T, ref name.Reference, idx v1.ImageIndex, auth authn.Authenticator) {
	t.Helper()
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
}

func pushImage(t *testing.T, ref name.Reference, img v1.Image, auth authn.Authenticator) {
	t.Helper()
	if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
}

func digestOf(t *testing.T, ref name.Reference, auth authn.Authenticator) v1.Hash {
	t.Helper()
	d, err := remote.Head(ref, remote.WithAuth(auth))
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

// noDocker keeps the tests off the machine's Docker config.
var noDocker = authn.NewMultiKeychain()

func TestReleaseToGitLabAndECR(t *testing.T) {
	ctx := context.Background()
	src := newTestRegistry(t, nil)
	dst := newTestRegistry(t, map[string]string{"gitlab-ci-token": "job-token"})
	sim := awssim.New(awssim.WithRegistryHost(dst.host))
	// The registry accepts the password the simulator's tokens carry, as ECR
	// does; set before the first request.
	_, ecrPass := sim.ECRCredentials()
	dst.users["AWS"] = ecrPass
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	api := ecr.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(simSrv.URL)})

	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(512, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, src.repo(t, "app").Tag("v1"), img, authn.Anonymous)
	pushIndex(t, src.repo(t, "multi").Tag("v1"), idx, authn.Anonymous)

	for _, tc := range []struct {
		name, src string
		want      v1.Hash
	}{
		{"image", "app:v1", mustDigest(t, img)},
		{"index keeps every platform", "multi:v1", mustDigest(t, idx)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ecrRepo, creds, err := ECR(ctx, api, "team/"+tc.name[:5], true)
			if err != nil {
				t.Fatal(err)
			}
			gl, _ := GitLabCredentials(dst.host, "", "", "job-token")
			c := NewClient(NewKeychain(noDocker, gl, creds))
			srcRef, err := name.ParseReference(src.host + "/" + tc.src)
			if err != nil {
				t.Fatal(err)
			}
			gitlab := dst.repo(t, "group/project/"+tc.name[:5])
			out, err := c.Release(ctx, srcRef, []name.Repository{gitlab, ecrRepo}, []string{"0123abcd", "candidate"})
			if err != nil {
				t.Fatal(err)
			}
			if out.Digest != tc.want {
				t.Errorf("digest %s, want %s (the copy must not rewrite the manifest)", out.Digest, tc.want)
			}
			wantPinned := []string{gitlab.Digest(tc.want.String()).String(), ecrRepo.Digest(tc.want.String()).String()}
			var gotPinned []string
			for _, p := range out.Pinned {
				gotPinned = append(gotPinned, p.String())
			}
			if diff := cmp.Diff(wantPinned, gotPinned); diff != "" {
				t.Errorf("pinned (-want +got):\n%s", diff)
			}
			auth := &authn.Basic{Username: "gitlab-ci-token", Password: "job-token"}
			for _, repo := range []name.Repository{gitlab, ecrRepo} {
				for _, tag := range []string{"0123abcd", "candidate"} {
					if got := digestOf(t, repo.Tag(tag), auth); got != tc.want {
						t.Errorf("%s:%s is %s, want %s", repo, tag, got, tc.want)
					}
				}
			}
			// A second release finds every blob and the manifest there: no
			// uploads, no blob reads.
			dst.reset()
			if _, err := c.Release(ctx, srcRef, []name.Repository{gitlab, ecrRepo}, []string{"0123abcd", "candidate"}); err != nil {
				t.Fatal(err)
			}
			calls := dst.reset()
			if calls["POST upload"]+calls["PUT upload"]+calls["PATCH upload"]+calls["GET blob"] != 0 {
				t.Errorf("second release moved blobs: %v", calls)
			}
		})
	}
}

func mustDigest(t *testing.T, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestReleaseErrors(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t, map[string]string{"ci-user": "right-password"})
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, reg.repo(t, "app").Tag("v1"), img, &authn.Basic{Username: "ci-user", Password: "right-password"})

	for _, tc := range []struct {
		name, src, password string
		want                error
		mention             []string
	}{
		{"wrong password", "app:v1", "wrong-password", ErrUnauthorized, []string{reg.host, "as ci-user"}},
		{"missing tag", "app:nope", "right-password", ErrNotFound, []string{"BG_IMAGE", reg.host}},
		{"missing repository", "other:v1", "right-password", ErrNotFound, []string{"BG_IMAGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClient(NewKeychain(noDocker, Credentials{Host: reg.host, User: "ci-user", Password: tc.password}))
			srcRef, err := name.ParseReference(reg.host + "/" + tc.src)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Release(ctx, srcRef, []name.Repository{reg.repo(t, "dest")}, []string{"candidate"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			for _, m := range tc.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if strings.Contains(err.Error(), tc.password) {
				t.Errorf("error shows the password: %q", err)
			}
		})
	}
}

func TestMoveTagIsOneManifestOperation(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t, nil)
	img, err := random.Image(4096, 4)
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.repo(t, "app")
	pushImage(t, repo.Tag("v1"), img, authn.Anonymous)
	dgst := repo.Digest(mustDigest(t, img).String())
	reg.reset()
	c := NewClient(NewKeychain(noDocker))
	if err := c.MoveTag(ctx, dgst, "live"); err != nil {
		t.Fatal(err)
	}
	calls := reg.reset()
	// Each remote call pings /v2/ once to learn the auth scheme; what scales
	// with the image is the rest, and there is none of it.
	delete(calls, "GET /v2/")
	if diff := cmp.Diff(map[string]int{"GET manifest": 1, "PUT manifest": 1}, calls); diff != "" {
		t.Errorf("registry calls (-want +got):\n%s", diff)
	}
	if got := digestOf(t, repo.Tag("live"), authn.Anonymous); got.String() != dgst.DigestStr() {
		t.Errorf("live is %s, want %s", got, dgst.DigestStr())
	}
}

func TestECRRepositoryMissing(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	api := ecr.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL)})
	_, _, err := ECR(ctx, api, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web", false)
	if !errors.Is(err, ErrECRRepositoryMissing) {
		t.Fatalf("error %v, want ErrECRRepositoryMissing", err)
	}
	for _, m := range []string{"team/web", "BG_ECR_CREATE=true"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
	repo, creds, err := ECR(ctx, api, "team/web", true)
	if err != nil {
		t.Fatal(err)
	}
	if creds.User != "AWS" || creds.Password == "" || creds.Host != repo.RegistryStr() {
		t.Errorf("credentials user %q host %q for repository %s", creds.User, creds.Host, repo)
	}
	if repo.RepositoryStr() != "team/web" {
		t.Errorf("repository %s, want team/web", repo.RepositoryStr())
	}
	// Created once: the second call finds it.
	if _, _, err := ECR(ctx, api, "team/web", true); err != nil {
		t.Fatal(err)
	}
}

// TestECRForReading: reading tags names the same repository, with the same
// login, as ECR does after DescribeRepositories, from the login alone.
func TestECRForReading(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	api := ecr.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL)})
	want, wantCreds, err := ECR(ctx, api, "team/web", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"team/web", want.String()} {
		got, creds, err := ECRForReading(ctx, countingECR{ECRAPI: api, t: t}, ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() || creds != wantCreds {
			t.Errorf("ECRForReading(%q) = %s %+v, want %s %+v", ref, got, creds, want, wantCreds)
		}
	}
}

// countingECR fails the test on any ECR call but the login.
type countingECR struct {
	ECRAPI
	t *testing.T
}

func (c countingECR) DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error) {
	c.t.Error("ECRForReading called DescribeRepositories")
	return nil, errors.New("not allowed")
}

func TestECRRepositoryName(t *testing.T) {
	for in, want := range map[string]string{
		"web":      "web",
		"team/web": "team/web",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web":    "team/web",
		"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/web": "web",
		"127.0.0.1:5000/web": "web",
		"localhost/web":      "web",
	} {
		if got := ECRRepositoryName(in); got != want {
			t.Errorf("ECRRepositoryName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGitLabCredentials(t *testing.T) {
	for _, tc := range []struct {
		name, host, user, pass, token string
		want                          Credentials
		ok                            bool
	}{
		{"user and password", "reg", "u", "p", "t", Credentials{"reg", "u", "p"}, true},
		{"job token", "reg", "", "", "t", Credentials{"reg", "gitlab-ci-token", "t"}, true},
		{"user without password uses the job token", "reg", "u", "", "t", Credentials{"reg", "gitlab-ci-token", "t"}, true},
		{"nothing", "reg", "", "", "", Credentials{}, false},
		{"no host", "", "u", "p", "t", Credentials{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := GitLabCredentials(tc.host, tc.user, tc.pass, tc.token)
			if ok != tc.ok || got != tc.want {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestMoveLive(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t, nil)
	repo := reg.repo(t, "app")
	c := NewClient(NewKeychain(noDocker))
	var digests []name.Digest
	for range 2 {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		pushImage(t, repo.Tag("tmp"), img, authn.Anonymous)
		digests = append(digests, repo.Digest(mustDigest(t, img).String()))
	}
	tagOf := func(tag string) string {
		d, err := remote.Head(repo.Tag(tag))
		if err != nil {
			return "none"
		}
		return d.Digest.String()
	}
	steps := []struct {
		to             name.Digest
		live, previous string
	}{
		{digests[0], digests[0].DigestStr(), "none"},                 // first deployment
		{digests[1], digests[1].DigestStr(), digests[0].DigestStr()}, // second
		{digests[1], digests[1].DigestStr(), digests[0].DigestStr()}, // retried job: no change
		{digests[0], digests[0].DigestStr(), digests[1].DigestStr()}, // rollback to the first
	}
	for i, s := range steps {
		if err := c.MoveLive(ctx, s.to, "live", "previous"); err != nil {
			t.Fatal(err)
		}
		if got, gotPrev := tagOf("live"), tagOf("previous"); got != s.live || gotPrev != s.previous {
			t.Errorf("step %d: live %s previous %s, want %s and %s", i, got, gotPrev, s.live, s.previous)
		}
	}
}
