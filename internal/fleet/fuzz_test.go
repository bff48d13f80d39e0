package fleet

import (
	"strings"
	"testing"
)

// FuzzParse: any services file either is refused or gives entries that keep
// Parse's promises (named as folders can be, each name once, only BG_ and
// AWS_ settings, none the run sets itself).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"services:\n  - name: web\n    env: {BG_CLUSTER: prod, BG_SERVICE: web}\n",
		`{"services": [{"name": "web", "env": {"AWS_REGION": "eu-west-1"}}]}`,
		"services: []\n",
		"services:\n  - name: a\n  - name: a\n",
		"services:\n  - names: web\n",
		"services:\n  - name: web\n---\nservices: []\n",
		"services:\n  - name: ../etc\n    env: {BG_OUTPUT_DIR: x}\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil {
			return
		}
		if len(entries) == 0 || len(entries) > maxServices {
			t.Fatalf("accepted %d services", len(entries))
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if !namePattern.MatchString(e.Name) || seen[e.Name] || strings.Contains(e.Name, "/") {
				t.Fatalf("accepted the name %q (seen before: %v)", e.Name, seen[e.Name])
			}
			seen[e.Name] = true
			for k := range e.Env {
				if !varPattern.MatchString(k) || reserved[k] != "" {
					t.Fatalf("accepted the setting %q for %s", k, e.Name)
				}
			}
		}
	})
}
