package image

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// streamLayer is an uncompressed layer of size pseudo-random bytes from a
// seed, generated on every read: a 1 GiB layer never sits in memory. The
// bytes are not a valid tar, which registries do not check.
type streamLayer struct {
	seed uint64
	size int64
	hash v1.Hash
}

func newStreamLayer(tb testing.TB, seed uint64, size int64) *streamLayer {
	tb.Helper()
	l := &streamLayer{seed: seed, size: size}
	h := sha256.New()
	if _, err := io.Copy(h, l.reader()); err != nil {
		tb.Fatal(err)
	}
	l.hash = v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	return l
}

func (l *streamLayer) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], l.seed)
	return io.LimitReader(rand.NewChaCha8(key), l.size)
}

func (l *streamLayer) Digest() (v1.Hash, error)             { return l.hash, nil }
func (l *streamLayer) DiffID() (v1.Hash, error)             { return l.hash, nil }
func (l *streamLayer) Compressed() (io.ReadCloser, error)   { return io.NopCloser(l.reader()), nil }
func (l *streamLayer) Uncompressed() (io.ReadCloser, error) { return io.NopCloser(l.reader()), nil }
func (l *streamLayer) Size() (int64, error)                 { return l.size, nil }
func (l *streamLayer) MediaType() (types.MediaType, error)  { return types.OCIUncompressedLayer, nil }

// streamImage is an image of n stream layers of size bytes each.
func streamImage(tb testing.TB, seed uint64, n int, size int64) v1.Image {
	tb.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for i := range n {
		var err error
		img, err = mutate.AppendLayers(img, newStreamLayer(tb, seed+uint64(i), size))
		if err != nil {
			tb.Fatal(err)
		}
	}
	return img
}

// benchSize is size, or 1/64 of it unless BG_BENCH_FULL=1: the full sizes
// (1 GiB, 200 MiB) are for scripts/bench-image, the small ones keep
// `go test -bench` quick.
func benchSize(size int64) int64 {
	if os.Getenv("BG_BENCH_FULL") == "1" {
		return size
	}
	return size / 64
}

// BenchmarkTag moves a tag on an image already in a registry (docker-registry
// on disk, so the large image is not held in memory): the cost must not
// depend on the image's size.
func BenchmarkTag(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int64
	}{{"Small", 1 << 20}, {"Large", 1 << 30}} {
		b.Run(tc.name, func(b *testing.B) {
			reg := startDockerRegistry(b)
			repo, err := name.NewRepository(reg.host + "/bench/tag")
			if err != nil {
				b.Fatal(err)
			}
			img := streamImage(b, 1, 1, benchSize(tc.size))
			d, err := img.Digest()
			if err != nil {
				b.Fatal(err)
			}
			auth := &authn.Basic{Username: reg.user, Password: reg.password}
			if err := remote.Write(repo.Digest(d.String()), img, remote.WithAuth(auth)); err != nil {
				b.Fatal(err)
			}
			c := NewClient(NewKeychain(noDocker, reg.creds()))
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if err := c.MoveTag(ctx, repo.Digest(d.String()), "t"+strconv.Itoa(i%8)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCopy copies a 5-layer image (200 MiB in all with BG_BENCH_FULL=1)
// between two docker-registry servers: with Release, with `skopeo copy` on the
// same data, and a second Release when every blob is already there. Each
// fresh copy goes to a new destination server, so neither tool finds blobs
// from an earlier round (skopeo's blob cache would otherwise mount them).
func BenchmarkCopy(b *testing.B) {
	src := startDockerRegistry(b)
	srcRepo, err := name.NewRepository(src.host + "/bench/app")
	if err != nil {
		b.Fatal(err)
	}
	img := streamImage(b, 100, 5, benchSize(40<<20))
	d, err := img.Digest()
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(srcRepo.Tag("v1"), img, remote.WithAuth(&authn.Basic{Username: src.user, Password: src.password})); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	release := func(b *testing.B, dst *dockerRegistry) {
		b.Helper()
		c := NewClient(NewKeychain(noDocker, src.creds(), dst.creds()))
		repo, err := name.NewRepository(dst.host + "/bench/app")
		if err != nil {
			b.Fatal(err)
		}
		out, err := c.Release(ctx, srcRepo.Tag("v1"), []name.Repository{repo}, []string{"candidate"})
		if err != nil {
			b.Fatal(err)
		}
		if out.Digest != d {
			b.Fatalf("digest %s, want %s", out.Digest, d)
		}
	}
	b.Run("Release", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			dst := startDockerRegistry(b)
			b.StartTimer()
			release(b, dst)
		}
	})
	b.Run("Skopeo", func(b *testing.B) {
		skopeo := testutil.RequirePeer(b, "skopeo")
		for range b.N {
			b.StopTimer()
			dst := startDockerRegistry(b)
			b.StartTimer()
			cmd := exec.Command(skopeo, "copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false",
				"--src-creds", src.user+":"+src.password, "--dest-creds", dst.user+":"+dst.password,
				"docker://"+srcRepo.Tag("v1").String(), "docker://"+dst.host+"/bench/app:candidate")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("skopeo copy: %v\n%s", err, out)
			}
		}
	})
	b.Run("ReleaseAgain", func(b *testing.B) {
		dst := startDockerRegistry(b)
		release(b, dst)
		b.ResetTimer()
		for range b.N {
			release(b, dst)
		}
	})
}
