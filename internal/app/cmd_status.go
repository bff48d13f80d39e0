package app

import (
	"context"
	"fmt"
	"path/filepath"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// runStatus reads the snapshot, prints it as Markdown and writes
// status.json, status.md and status.html to the output folder.
func runStatus(ctx context.Context, inv *invocation) error {
	s, err := inv.snapshot(ctx)
	if err != nil {
		return err
	}
	inv.readRegistryTags(ctx, s)
	if err := writeStatus(inv.settings.Output.Dir, s); err != nil {
		return err
	}
	_, err = fmt.Fprint(inv.env.Stdout, report.StatusMarkdown(s))
	return err
}

// writeStatus writes status.json, status.md, status.html and GitLab's
// annotations.json (the live commit, pipeline and console links on the job
// page).
func writeStatus(dir string, s *snapshot.Snapshot) error {
	js, err := report.StatusJSON(s)
	if err != nil {
		return err
	}
	page, err := report.StatusHTML(s)
	if err != nil {
		return err
	}
	notes, err := report.Annotations(s)
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"status.json": js, "status.md": []byte(report.StatusMarkdown(s)), "status.html": page, report.AnnotationsFile: notes} {
		if err := report.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// snapshot reads the service's snapshot for the configured model.
func (inv *invocation) snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	m, err := inv.model(ctx)
	if err != nil {
		return nil, err
	}
	return m.Snapshot(ctx)
}

// readRegistryTags adds the registries' live, previous and colour tags to
// the snapshot, what each colour's image says about itself (commit,
// version) and the links to GitLab and the AWS console. A tag that cannot
// be read is recorded with the reason: status shows it, verify fails on it.
func (inv *invocation) readRegistryTags(ctx context.Context, s *snapshot.Snapshot) {
	inv.registryAfter(ctx, s, false)
}

// registryAfter reads the registry for the snapshot (readRegistryTags);
// after a command changed what a colour runs (move), it first moves the
// colour tags to match, with the same client.
func (inv *invocation) registryAfter(ctx context.Context, s *snapshot.Snapshot, move bool) {
	defer snapshot.AddLinks(s, inv.region())
	s.StatusPage = inv.statusPageURL()
	if move {
		defer inv.recordLive(s)
	}
	regs := inv.settings.Registries
	if regs == nil || regs.RegistryImage.IsZero() && regs.ECRRepository == "" {
		return
	}
	tags := []string{regs.LiveTag, regs.PreviousTag, string(snapshot.Blue), string(snapshot.Green)}
	client, repos, err := inv.registryRepos(ctx)
	if err != nil {
		for _, tag := range tags {
			s.Registry = append(s.Registry, snapshot.RegistryTag{Repository: orString(regs.RegistryImage.String(), regs.ECRRepository), Tag: tag, Error: err.Error()})
		}
		return
	}
	if move {
		inv.moveColourTagsWith(ctx, client, repos, s)
	}
	for _, repo := range repos {
		for _, tag := range tags {
			rt := snapshot.RegistryTag{Repository: repo.String(), Tag: tag}
			if d, err := client.TagDigest(ctx, repo, tag); err != nil {
				rt.Error = err.Error()
			} else {
				rt.Digest = d
			}
			s.Registry = append(s.Registry, rt)
		}
	}
	snapshot.ReadReleases(ctx, releasedImages{inv: inv, client: client}, s)
}
