package image

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestMetadata reads annotations and labels from an image and from a
// multi-platform index (whose linux/amd64 image gives the labels), as
// build writes them.
func TestMetadata(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t, nil)
	repo := reg.repo(t, "group/web")
	labelled := func(arch, rev string) v1.Image {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.Config.Labels = map[string]string{"org.opencontainers.image.revision": rev, "arch": arch}
		cf.Architecture, cf.OS = arch, "linux"
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return mutate.Annotations(img, map[string]string{"org.opencontainers.image.version": "1.0-" + arch}).(v1.Image)
	}
	pushImage(t, repo.Tag("one"), labelled("amd64", "aaa"), authn.Anonymous)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: labelled("arm64", "arm"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: labelled("amd64", "bbb"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	idx = mutate.Annotations(idx, map[string]string{"org.opencontainers.image.version": "2.0"}).(v1.ImageIndex)
	pushIndex(t, repo.Tag("multi"), idx, authn.Anonymous)

	c := NewClient(NewKeychain(noDocker))
	ctx := context.Background()
	tests := []struct {
		name, tag string
		want      Metadata
	}{
		{name: "image", tag: "one", want: Metadata{
			Annotations: map[string]string{"org.opencontainers.image.version": "1.0-amd64"},
			Labels:      map[string]string{"org.opencontainers.image.revision": "aaa", "arch": "amd64"},
		}},
		{name: "index", tag: "multi", want: Metadata{
			Annotations: map[string]string{"org.opencontainers.image.version": "2.0"},
			Labels:      map[string]string{"org.opencontainers.image.revision": "bbb", "arch": "amd64"},
		}},
	}
	for _, tt := range tests {
		got, err := c.Metadata(ctx, repo.Tag(tt.tag))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	if _, err := c.Metadata(ctx, repo.Tag("missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing tag: %v, want ErrNotFound", err)
	}
}
