package image

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOCIMetadata(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{name: "outside_ci", want: map[string]string{"org.opencontainers.image.created": "2026-12-06T12:00:00Z"}},
		{
			name: "branch_pipeline", env: map[string]string{"CI_PROJECT_URL": "https://gl.example/g/web", "CI_COMMIT_SHA": "abc123def", "CI_COMMIT_SHORT_SHA": "abc123"},
			want: map[string]string{"org.opencontainers.image.created": "2026-12-06T12:00:00Z", "org.opencontainers.image.source": "https://gl.example/g/web", "org.opencontainers.image.revision": "abc123def", "org.opencontainers.image.version": "abc123"},
		},
		{
			name: "tag_pipeline", env: map[string]string{"CI_COMMIT_TAG": "v1.2.0", "CI_COMMIT_SHORT_SHA": "abc123"},
			want: map[string]string{"org.opencontainers.image.created": "2026-12-06T12:00:00Z", "org.opencontainers.image.version": "v1.2.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := OCIMetadata(created, func(k string) string { return tt.env[k] })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
