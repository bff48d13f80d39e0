package snapshot

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ImageMetadata is an image's OCI annotations (on its manifest or index)
// and its config's labels.
type ImageMetadata struct {
	Annotations map[string]string
	Labels      map[string]string
}

// ImageReader reads an image's metadata by reference (app supplies one
// from internal/image).
type ImageReader interface {
	ImageMetadata(ctx context.Context, ref string) (ImageMetadata, error)
}

// The OCI keys build writes (org.opencontainers.image.*), and the commit
// title, which build writes when the pipeline gives it.
const (
	KeyRevision    = "org.opencontainers.image.revision"
	KeyVersion     = "org.opencontainers.image.version"
	KeySource      = "org.opencontainers.image.source"
	KeyCreated     = "org.opencontainers.image.created"
	KeyCommitTitle = "io.gitlab.ecs-bluegreen.commit.title"
)

// get is an annotation, else the label of the same key.
func (m ImageMetadata) get(key string) string {
	if v := m.Annotations[key]; v != "" {
		return v
	}
	return m.Labels[key]
}

// ReadReleases reads the image of each colour's first container (an image
// both colours run is read once) and fills the colours' Release with its
// commit, title, version, source and build time. An image that cannot be
// read leaves the reason in Release.Error: status still shows the rest.
func ReadReleases(ctx context.Context, r ImageReader, s *Snapshot) {
	seen := map[string]ImageMetadata{}
	failed := map[string]error{}
	for i := range s.Colours {
		c := &s.Colours[i]
		if len(c.Containers) == 0 || c.Containers[0].Image == "" {
			continue
		}
		ref := c.Containers[0].Image
		m, ok := seen[ref]
		err := failed[ref]
		if !ok && err == nil {
			m, err = r.ImageMetadata(ctx, ref)
			if err != nil {
				failed[ref] = err
			} else {
				seen[ref] = m
			}
		}
		if c.Release == nil {
			c.Release = &Release{}
		}
		rel := c.Release
		rel.Image = ref
		if err != nil {
			rel.Error = err.Error()
			continue
		}
		if v := m.get(KeyRevision); v != "" {
			rel.Commit = v
		}
		rel.Title, rel.Version, rel.Source = m.get(KeyCommitTitle), m.get(KeyVersion), m.get(KeySource)
		if t, err := time.Parse(time.RFC3339, m.get(KeyCreated)); err == nil {
			rel.Built = t.UTC()
		}
	}
}

// AddLinks fills the links a person follows from the reports: the GitLab
// commit (from the image's source, a GitLab project URL) and the AWS
// console's page of each deployment.
func AddLinks(s *Snapshot, region string) {
	console := func(id string) string {
		if id == "" || region == "" {
			return ""
		}
		return fmt.Sprintf("https://%s.console.aws.amazon.com/codesuite/codedeploy/deployments/%s?region=%s", url.PathEscape(region), url.PathEscape(id), url.QueryEscape(region))
	}
	for i := range s.History {
		s.History[i].ConsoleURL = console(s.History[i].ID)
	}
	for i := range s.Colours {
		rel := s.Colours[i].Release
		if rel == nil {
			continue
		}
		rel.ConsoleURL = console(rel.DeploymentID)
		if rel.Commit != "" && isWebURL(rel.Source) && shaPattern.MatchString(rel.Commit) {
			rel.CommitURL = strings.TrimSuffix(rel.Source, "/") + "/-/commit/" + rel.Commit
		}
	}
}

// ServiceConsoleURL is the ECS console's page of a service.
func ServiceConsoleURL(region, cluster, service string) string {
	if region == "" {
		return ""
	}
	if i := strings.LastIndex(cluster, "/"); i >= 0 {
		cluster = cluster[i+1:]
	}
	return fmt.Sprintf("https://%s.console.aws.amazon.com/ecs/v2/clusters/%s/services/%s/health?region=%s",
		url.PathEscape(region), url.PathEscape(cluster), url.PathEscape(service), url.QueryEscape(region))
}
