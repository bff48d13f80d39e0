package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

// registryImages is the sandbox registry as ECR's image store: ECR's
// DescribeImages, ListImages, BatchGetImage and PutImage read and write the
// manifests a push put there, over the registry's own API.
type registryImages struct {
	host string
	auth authn.Authenticator
}

var _ awssim.ImageStore = (*registryImages)(nil)

func newRegistryImages(host string) *registryImages {
	return &registryImages{host: host, auth: &authn.Basic{Username: gitlabUser, Password: gitlabPassword}}
}

func (r *registryImages) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(r.auth)}
}

func (r *registryImages) ref(repo, ref string) (name.Reference, error) {
	return name.ParseReference(r.host+"/"+repo+refSeparator(ref)+ref, name.Insecure, name.StrictValidation)
}

func refSeparator(ref string) string {
	if len(ref) > 7 && ref[:7] == "sha256:" {
		return "@"
	}
	return ":"
}

// notFound tells a registry's 404 (NAME_UNKNOWN, MANIFEST_UNKNOWN) from
// other failures.
func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

func (r *registryImages) Tags(ctx context.Context, repo string) ([]string, error) {
	rp, err := name.NewRepository(r.host+"/"+repo, name.Insecure)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(rp, r.options(ctx)...)
	if notFound(err) {
		return nil, nil
	}
	return tags, err
}

func (r *registryImages) Manifest(ctx context.Context, repo, ref string) ([]byte, string, error) {
	rf, err := r.ref(repo, ref)
	if err != nil {
		return nil, "", awssim.ErrImageNotFound
	}
	d, err := remote.Get(rf, r.options(ctx)...)
	if notFound(err) {
		return nil, "", awssim.ErrImageNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return d.Manifest, string(d.MediaType), nil
}

// rawManifest is a manifest to put as it is, with its media type.
type rawManifest struct {
	body      []byte
	mediaType string
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(m.mediaType), nil }

func (r *registryImages) PutManifest(ctx context.Context, repo, ref string, body []byte, mediaType string) error {
	rf, err := r.ref(repo, ref)
	if err != nil {
		return fmt.Errorf("the reference %s:%s is not valid: %w", repo, ref, err)
	}
	err = remote.Put(rf, rawManifest{body: body, mediaType: mediaType}, r.options(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			if d.Code == transport.ManifestBlobUnknownErrorCode || d.Code == transport.BlobUnknownErrorCode {
				return awssim.ErrLayersNotFound
			}
		}
	}
	return err
}
