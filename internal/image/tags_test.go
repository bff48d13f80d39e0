package image

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestMoveTagTo: an absent tag reads as "", a tag moves only when it names
// another digest (one manifest HEAD when it already names this one), and a
// registry that refuses the identity is an error, not an absent tag.
func TestMoveTagTo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := newTestRegistry(t, nil)
	repo := reg.repo(t, "app")
	a, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, repo.Tag("a"), a, authn.Anonymous)
	pushImage(t, repo.Tag("b"), b, authn.Anonymous)
	da, db := mustDigest(t, a).String(), mustDigest(t, b).String()
	c := NewClient(NewKeychain(noDocker))

	if d, err := c.TagDigest(ctx, repo, "blue"); err != nil || d != "" {
		t.Fatalf("TagDigest of an absent tag = %q, %v", d, err)
	}
	steps := []struct {
		digest string
		calls  map[string]int
	}{
		{digest: da, calls: map[string]int{"HEAD manifest": 1, "GET manifest": 1, "PUT manifest": 1}}, // absent: moved
		{digest: da, calls: map[string]int{"HEAD manifest": 1}},                                       // already there
		{digest: db, calls: map[string]int{"HEAD manifest": 1, "GET manifest": 1, "PUT manifest": 1}}, // elsewhere: moved
	}
	for i, st := range steps {
		reg.reset()
		if err := c.MoveTagTo(ctx, repo, "blue", st.digest); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		calls := reg.reset()
		delete(calls, "GET /v2/")
		if diff := cmp.Diff(st.calls, calls); diff != "" {
			t.Errorf("step %d: registry calls (-want +got):\n%s", i, diff)
		}
		if d, err := c.TagDigest(ctx, repo, "blue"); err != nil || d != st.digest {
			t.Errorf("step %d: blue is %q, %v; want %s", i, d, err, st.digest)
		}
	}

	locked := newTestRegistry(t, map[string]string{"ci": "pw"})
	if _, err := c.TagDigest(ctx, locked.repo(t, "app"), "blue"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("TagDigest without credentials = %v, want ErrUnauthorized", err)
	}
	if err := c.MoveTagTo(ctx, locked.repo(t, "app"), "blue", da); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("MoveTagTo without credentials = %v, want ErrUnauthorized", err)
	}
}
