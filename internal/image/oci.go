package image

import "time"

// KeyCommitTitle is the label and annotation that carries the commit's title.
const KeyCommitTitle = "io.gitlab.ecs-bluegreen.commit.title"

// OCIMetadata is the OCI annotations (and labels) build writes, which
// GitLab's registry UI and scanners read: created, and from the pipeline
// (getenv reads CI_*) the source, the revision, the version (the commit's
// tag, else its short SHA) and the commit's title. They come from the
// pipeline, so the digest still depends only on the commit.
func OCIMetadata(created time.Time, getenv func(string) string) map[string]string {
	meta := map[string]string{"org.opencontainers.image.created": created.Format(time.RFC3339)}
	for key, env := range map[string]string{
		"org.opencontainers.image.source":   "CI_PROJECT_URL",
		"org.opencontainers.image.revision": "CI_COMMIT_SHA",
		"org.opencontainers.image.version":  "CI_COMMIT_TAG",
		// Not an OCI key: the commit's title, which status shows per colour
		// (snapshot reads it under the same name; TestBuildRecordsTheCommitTitle
		// in internal/app holds the two together).
		KeyCommitTitle: "CI_COMMIT_TITLE",
	} {
		if v := getenv(env); v != "" {
			meta[key] = v
		}
	}
	if _, ok := meta["org.opencontainers.image.version"]; !ok {
		if v := getenv("CI_COMMIT_SHORT_SHA"); v != "" {
			meta["org.opencontainers.image.version"] = v
		}
	}
	return meta
}
