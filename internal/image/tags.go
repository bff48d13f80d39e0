package image

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
)

// TagDigest is the digest repo:tag names, or "" when the registry has no
// such tag (an identity the registry refuses is an error, not an absent
// tag): one manifest HEAD.
func (c *Client) TagDigest(ctx context.Context, repo name.Repository, tag string) (string, error) {
	d, err := c.Resolve(ctx, repo.Tag(tag))
	switch {
	case errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnauthorized):
		return "", nil
	case err != nil:
		return "", err
	}
	return d.DigestStr(), nil
}

// MoveTagTo points repo:tag at digest unless it already names it: one
// manifest HEAD when nothing changes, and then the move (MoveTag).
func (c *Client) MoveTagTo(ctx context.Context, repo name.Repository, tag, digest string) error {
	cur, err := c.TagDigest(ctx, repo, tag)
	if err != nil {
		return err
	}
	if cur == digest {
		return nil
	}
	if err := c.MoveTag(ctx, repo.Digest(digest), tag); err != nil {
		return fmt.Errorf("moving %s:%s to %s: %w", repo, tag, digest, err)
	}
	return nil
}
