package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Client copies and tags images with one keychain and one set of remote
// options (user agent, parallel jobs, transport).
type Client struct {
	keychain *Keychain
	opts     []remote.Option
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithTransport sends every registry request through rt (tests count
// requests with it; the default is remote.DefaultTransport).
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(c *Client) { c.opts = append(c.opts, remote.WithTransport(rt)) }
}

// WithUserAgent names the tool in registry logs.
func WithUserAgent(ua string) ClientOption {
	return func(c *Client) { c.opts = append(c.opts, remote.WithUserAgent(ua)) }
}

// WithJobs sets how many blobs move at once (go-containerregistry's default
// is 4).
func WithJobs(n int) ClientOption {
	return func(c *Client) { c.opts = append(c.opts, remote.WithJobs(n)) }
}

// NewClient returns a client that authenticates with keychain.
func NewClient(keychain *Keychain, opts ...ClientOption) *Client {
	c := &Client{keychain: keychain, opts: []remote.Option{remote.WithAuthFromKeychain(keychain)}}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *Client) remote(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, c.opts...)
}

// Released is where an image now is.
type Released struct {
	// Digest is the digest of the manifest or index, the same everywhere.
	Digest v1.Hash
	// Pinned are the digest references, one per destination, in order.
	Pinned []name.Digest
	// Tags are the tags written, in every destination.
	Tags []string
}

// Resolve pins src: the digest of the manifest (or multi-platform index) it
// names now.
func (c *Client) Resolve(ctx context.Context, src name.Reference) (name.Digest, error) {
	desc, err := remote.Head(src, c.remote(ctx)...)
	if err != nil {
		return name.Digest{}, c.explain(err, src.Context(), "reading", src.String())
	}
	return src.Context().Digest(desc.Digest.String()), nil
}

// Release copies src to every destination repository by digest, then adds
// tags there. Blobs a destination already has are not sent again, blobs in
// another repository of the same registry are mounted, and an index is copied
// whole with every platform. The digest never changes: a registry that would
// rewrite the manifest is reported as an error rather than deployed.
func (c *Client) Release(ctx context.Context, src name.Reference, dests []name.Repository, tags []string) (*Released, error) {
	desc, err := remote.Get(src, c.remote(ctx)...)
	if err != nil {
		return nil, c.explain(err, src.Context(), "reading", src.String())
	}
	out := &Released{Digest: desc.Digest, Tags: tags}
	for _, repo := range dests {
		pinned := repo.Digest(desc.Digest.String())
		if err := c.copy(ctx, desc, pinned); err != nil {
			return nil, c.explain(err, repo, "copying to", repo.String())
		}
		for _, t := range tags {
			if err := remote.Tag(repo.Tag(t), desc, c.remote(ctx)...); err != nil {
				return nil, c.explain(err, repo, "tagging", repo.Tag(t).String())
			}
		}
		out.Pinned = append(out.Pinned, pinned)
	}
	return out, nil
}

// copy writes the image or index desc names to dst by digest.
func (c *Client) copy(ctx context.Context, desc *remote.Descriptor, dst name.Digest) error {
	// A manifest already there means every blob it needs is there too
	// (registries refuse manifests with missing blobs), so the copy is one
	// HEAD request.
	if d, err := remote.Head(dst, c.remote(ctx)...); err == nil && d.Digest == desc.Digest {
		return nil
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return err
		}
		return remote.WriteIndex(dst, idx, c.remote(ctx)...)
	}
	if desc.MediaType.IsImage() {
		img, err := desc.Image()
		if err != nil {
			return err
		}
		return remote.Write(dst, img, c.remote(ctx)...)
	}
	return fmt.Errorf("%s is a %s, not an image or an image index", dst, desc.MediaType)
}

// MoveTag points tag at the image already in the registry at digest: one
// manifest read and one manifest write, whatever the image's size. The deploy
// commands call it to move the live and previous tags when a deployment ends.
func (c *Client) MoveTag(ctx context.Context, digest name.Digest, tag string) error {
	desc, err := remote.Get(digest, c.remote(ctx)...)
	if err != nil {
		return c.explain(err, digest.Context(), "reading", digest.String())
	}
	t := digest.Context().Tag(tag)
	if err := remote.Tag(t, desc, c.remote(ctx)...); err != nil {
		return c.explain(err, digest.Context(), "tagging", t.String())
	}
	return nil
}

// Errors a caller can tell apart with errors.Is.
var (
	ErrNotFound     = errors.New("image not found")
	ErrUnauthorized = errors.New("unauthorised")
)

// explain turns a registry error into one a person can act on: which
// registry, which identity, what to do. The transport error is kept wrapped
// for errors.As; it never holds credentials (go-containerregistry does not
// echo the Authorization header).
func (c *Client) explain(err error, repo name.Repository, doing, what string) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("%s %s: %w", doing, what, err)
	}
	host := repo.RegistryStr()
	switch {
	case te.StatusCode == http.StatusUnauthorized || hasCode(te, transport.UnauthorizedErrorCode):
		return fmt.Errorf("%w: %s %s: registry %s refused us %s; check the credentials for it (CI_REGISTRY_USER/CI_REGISTRY_PASSWORD or CI_JOB_TOKEN for the GitLab registry, the role's ecr:GetAuthorizationToken for ECR, the Docker config otherwise): %w",
			ErrUnauthorized, doing, what, host, c.keychain.identity(host), err)
	case te.StatusCode == http.StatusForbidden || hasCode(te, transport.DeniedErrorCode):
		return fmt.Errorf("%w: %s %s: registry %s denied access %s to %s; the identity needs push and pull rights there: %w",
			ErrUnauthorized, doing, what, host, c.keychain.identity(host), repo.RepositoryStr(), err)
	case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode) || hasCode(te, transport.NameUnknownErrorCode):
		switch doing {
		case "reading":
			return fmt.Errorf("%w: %s %s: registry %s has no such image; check BG_IMAGE and that the job that builds it ran: %w", ErrNotFound, doing, what, host, err)
		case readingBase:
			return fmt.Errorf("%w: %s %s: registry %s has no such image; check FROM in the Dockerfile: %w", ErrNotFound, doing, what, host, err)
		}
		return fmt.Errorf("%w: %s %s: registry %s has no repository %s; create it there first: %w", ErrNotFound, doing, what, host, repo.RepositoryStr(), err)
	}
	return fmt.Errorf("%s %s: %w", doing, what, err)
}

// readingBase is what Build is doing when it fetches FROM's image.
const readingBase = "reading the base image"

func hasCode(te *transport.Error, code transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

var _ authn.Keychain = (*Keychain)(nil)

// MoveLive records that the image at digest now serves production: the tag
// previous moves to what live named (when live existed and named another
// image), then live moves to digest. Each move is one manifest read and one
// write. Re-running it after a success changes nothing, so a retried job is
// safe.
func (c *Client) MoveLive(ctx context.Context, digest name.Digest, live, previous string) error {
	repo := digest.Context()
	cur, err := remote.Head(repo.Tag(live), c.remote(ctx)...)
	var te *transport.Error
	switch {
	case err == nil && cur.Digest.String() != digest.DigestStr():
		if err := c.MoveTag(ctx, repo.Digest(cur.Digest.String()), previous); err != nil {
			return err
		}
	case err == nil:
		return nil // already live
	case errors.As(err, &te) && te.StatusCode == http.StatusNotFound:
		// The first deployment: nothing was live before.
	default:
		return c.explain(err, repo, "reading", repo.Tag(live).String())
	}
	return c.MoveTag(ctx, digest, live)
}
