package component

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeSection returns the README's section with the given heading, up to
// the next section of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	rest := text[start+1+len(heading):]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

// TestREADME_inputTables checks that the README's component section lists
// every input of every template as the template declares it, and quotes
// component.yml as it is.
func TestREADME_inputTables(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## The GitLab component")
	for name, tmpl := range loadTemplates(t) {
		want, err := tmpl.InputTable()
		if err != nil {
			t.Fatal(err)
		}
		sub := "\n### " + name + "\n\n"
		i := strings.Index(section, sub)
		if i < 0 {
			t.Errorf("the component section has no ### %s", name)
			continue
		}
		if !strings.HasPrefix(section[i+len(sub):], want) {
			t.Errorf("README's table of %s's inputs differs from templates/%s.yml; it should be:\n%s", name, name, want)
		}
	}
	example, err := os.ReadFile(filepath.Join(root, "component.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(section, "```yaml\n"+string(example)+"```\n") {
		t.Error("README's component section does not quote component.yml as it is")
	}
}
