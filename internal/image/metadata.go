package image

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Metadata is what an image says about itself: the annotations of its
// manifest (or index) and the labels of its config.
type Metadata struct {
	Annotations map[string]string
	Labels      map[string]string
}

// Metadata reads ref's annotations and labels: for a multi-platform index,
// the index's annotations and the labels of its linux/amd64 image (else its
// first), which build makes the same on every platform. Three registry
// reads at most (manifest, child manifest, config), nothing else.
func (c *Client) Metadata(ctx context.Context, ref name.Reference) (Metadata, error) {
	desc, err := remote.Get(ref, c.remote(ctx)...)
	if err != nil {
		return Metadata{}, c.explain(err, ref.Context(), "reading", ref.String())
	}
	var m Metadata
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return Metadata{}, c.explain(err, ref.Context(), "reading", ref.String())
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return Metadata{}, c.explain(err, ref.Context(), "reading", ref.String())
		}
		m.Annotations = im.Annotations
		if len(im.Manifests) == 0 {
			return m, nil
		}
		pick := im.Manifests[0]
		for _, d := range im.Manifests {
			if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64" {
				pick = d
				break
			}
		}
		if img, err = idx.Image(pick.Digest); err != nil {
			return Metadata{}, c.explain(err, ref.Context(), "reading", ref.Context().Digest(pick.Digest.String()).String())
		}
	} else {
		if img, err = desc.Image(); err != nil {
			return Metadata{}, c.explain(err, ref.Context(), "reading", ref.String())
		}
		mf, err := img.Manifest()
		if err != nil {
			return Metadata{}, c.explain(err, ref.Context(), "reading", ref.String())
		}
		m.Annotations = mf.Annotations
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return Metadata{}, c.explain(err, ref.Context(), "reading the config of", ref.String())
	}
	m.Labels = cf.Config.Labels
	return m, nil
}
