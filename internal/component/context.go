package component

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Project is what GitLab knows of a component project when it resolves an
// include's `@reference`: whether it is a CI/CD Catalog resource, its Catalog
// releases (semver tag to commit) and its other refs (branches and tags to
// commit).
type Project struct {
	Catalog  bool
	Releases map[string]string
	Refs     map[string]string
}

var shorthandSemver = regexp.MustCompile(`^\d+(\.\d+)?$`)

// Context returns the spec:component values GitLab 18.7 interpolates for an
// include of component name at reference, following
// Gitlab::Ci::Components::InstancePath: sha is the commit the reference
// resolved to (a Catalog version, else a release tag, else any ref or commit);
// version is the Catalog version's semver, and nil (null) for a SHA, a branch,
// a tag that is no Catalog release, or a project outside the Catalog;
// reference is the text after the @. gitlab-ci-local differs: it gives the
// SHA as the version of a SHA pin, and leaves the block of an exact version
// pin uninterpolated.
func (p Project) Context(name, reference string) (map[string]any, error) {
	version, sha := p.catalogVersion(reference)
	if sha == "" {
		sha = p.Releases[reference]
	}
	if sha == "" {
		sha = p.Refs[reference]
	}
	if sha == "" && regexp.MustCompile(`^[0-9a-f]{7,40}$`).MatchString(reference) {
		for _, commit := range p.commits() {
			if strings.HasPrefix(commit, reference) {
				sha = commit
			}
		}
	}
	if sha == "" {
		return nil, fmt.Errorf("component %s@%s: no release, ref or commit of that name", name, reference)
	}
	ctx := map[string]any{"name": name, "sha": sha, "reference": reference, "version": nil}
	if version != "" {
		ctx["version"] = version
	}
	return ctx, nil
}

// catalogVersion resolves ~latest, N, N.M and exact versions among the
// Catalog releases; pre-releases are never picked by ~latest or a shorthand.
func (p Project) catalogVersion(reference string) (version, sha string) {
	if !p.Catalog {
		return "", ""
	}
	if commit, ok := p.Releases[reference]; ok {
		return reference, commit
	}
	var best []int
	for tag, commit := range p.Releases {
		v, ok := semver(tag)
		if !ok {
			continue
		}
		switch {
		case reference == "~latest":
		case shorthandSemver.MatchString(reference):
			want := strings.Split(reference, ".")
			if strconv.Itoa(v[0]) != want[0] || len(want) == 2 && strconv.Itoa(v[1]) != want[1] {
				continue
			}
		default:
			continue
		}
		if best == nil || slices.Compare(v, best) > 0 {
			best, version, sha = v, tag, commit
		}
	}
	return version, sha
}

func semver(tag string) ([]int, bool) {
	parts := strings.Split(tag, ".")
	if len(parts) != 3 {
		return nil, false // pre-releases (1.0.1-rc) and anything else
	}
	v := make([]int, 3)
	for i, s := range parts {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, false
		}
		v[i] = n
	}
	return v, true
}

func (p Project) commits() []string {
	var out []string
	for _, m := range []map[string]string{p.Releases, p.Refs} {
		for _, c := range m {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}
