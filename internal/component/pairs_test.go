package component

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestTemplates_pairsWithDefaults includes every pair of components (and all
// three) with only their required inputs, as a newcomer would, and checks
// that no job or hidden job of one has the name of another's: GitLab would
// merge them silently.
func TestTemplates_pairsWithDefaults(t *testing.T) {
	t.Parallel()
	tmpls := loadTemplates(t)
	sets := [][]string{{"deploy", "switch"}, {"deploy", "verify"}, {"switch", "verify"}, {"deploy", "switch", "verify"}}
	for _, set := range sets {
		t.Run(strings.Join(set, "+"), func(t *testing.T) {
			t.Parallel()
			owner := map[string]string{}
			for _, name := range set {
				for job := range expandDefaults(t, tmpls[name], nil) {
					if other, ok := owner[job]; ok {
						t.Errorf("%s and %s both define %s with their defaults", other, name, job)
					}
					owner[job] = name
				}
			}
		})
	}
}

// TestTemplates_ownArtifactsOnly checks that every job of every component
// takes artifacts only from jobs of its own inclusion (needs or
// dependencies naming its prefix, or none): GitLab gives dotenv variables
// precedence over job variables, so a job that took every earlier job's
// artifacts would deploy another service's BG_IMAGE. It also checks that no
// job variable has a standard AWS name, which an empty input would turn into
// an empty value hiding the user's own.
func TestTemplates_ownArtifactsOnly(t *testing.T) {
	t.Parallel()
	for name, tmpl := range loadTemplates(t) {
		body := expandDefaults(t, tmpl, map[string]any{"job_prefix": "web"})
		for job := range body {
			if strings.HasPrefix(job, ".") {
				continue
			}
			j := resolveExtends(t, body, job)
			needs, hasNeeds := j["needs"].([]any)
			deps, hasDeps := j["dependencies"].([]any)
			if !hasNeeds && !hasDeps {
				t.Errorf("%s %s has neither needs nor dependencies: it would take every earlier job's dotenv", name, job)
			}
			for _, n := range slices.Concat(needs, deps) {
				ref := fmt.Sprint(n)
				if m, ok := n.(map[string]any); ok {
					ref = fmt.Sprint(m["job"])
				}
				if !strings.HasPrefix(ref, "web-") {
					t.Errorf("%s %s takes artifacts from %s, a job of another inclusion", name, job, ref)
				}
			}
			vars, _ := j["variables"].(map[string]any)
			for v := range vars {
				if strings.HasPrefix(v, "AWS_") {
					t.Errorf("%s %s sets %s: an empty input would hide the user's own", name, job, v)
				}
			}
			art, _ := j["artifacts"].(map[string]any)
			if art != nil && art["expose_as"] != nil {
				t.Errorf("%s %s uses expose_as, but it never runs in a merge request pipeline, where GitLab shows it", name, job)
			}
		}
	}
}
