package component

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readmeSection returns the README's section with the given heading, up to
// the next section of the same level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	text := readFile(t, "README.md")
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

var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// docFiles are the README and every page under docs/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// includedComponent matches a release include of one of our components.
var includedComponent = regexp.MustCompile(`/ecs-bluegreen/ecs-bluegreen/([a-z]+)@`)

// TestDocs_examplesResolve checks every YAML example of the README and the
// docs that includes a component the way GitLab would: each input declared,
// every required one given, each value of the input's type and pattern.
func TestDocs_examplesResolve(t *testing.T) {
	t.Parallel()
	tmpls := loadTemplates(t)
	examples := 0
	for _, file := range docFiles(t) {
		for _, m := range yamlBlock.FindAllStringSubmatch(readFile(t, file), -1) {
			var doc struct {
				Include []struct {
					Component string         `yaml:"component"`
					Inputs    map[string]any `yaml:"inputs"`
				} `yaml:"include"`
			}
			if err := yaml.Unmarshal([]byte(m[1]), &doc); err != nil {
				t.Errorf("%s: a YAML example does not parse: %v\n%s", file, err, m[1])
				continue
			}
			for _, inc := range doc.Include {
				c := includedComponent.FindStringSubmatch(inc.Component)
				if c == nil {
					continue
				}
				examples++
				tmpl, ok := tmpls[c[1]]
				if !ok {
					t.Errorf("%s includes %s, which is no component", file, inc.Component)
					continue
				}
				if _, err := tmpl.Resolve(inc.Inputs); err != nil {
					t.Errorf("%s: GitLab would refuse this include of %s: %v", file, c[1], err)
				}
			}
		}
	}
	if examples < 6 {
		t.Errorf("only %d examples include a component", examples)
	}
}

// TestREADME_frontPage checks what a newcomer reads first: the quick start
// with at most ten lines to include, the screenshot, a section with an
// example for each component, the minimum GitLab version, the licence, and
// no table of inputs, which the Catalog renders from the templates.
func TestREADME_frontPage(t *testing.T) {
	t.Parallel()
	quick := readmeSection(t, "## Quick start")
	m := yamlBlock.FindStringSubmatch(quick)
	if m == nil {
		t.Fatal("the quick start has no YAML to include")
	}
	if n := strings.Count(m[1], "\n"); n > 10 {
		t.Errorf("the quick start asks for %d lines of YAML, want at most 10:\n%s", n, m[1])
	}
	if !strings.Contains(quick, "](docs/status.png)") {
		t.Error("the quick start has no screenshot of status.html")
	}
	if _, err := os.Stat(filepath.Join(root, "docs", "status.png")); err != nil {
		t.Error(err)
	}
	components := readmeSection(t, "## Components")
	for _, name := range templateNames {
		sub := "\n### " + name + "\n"
		i := strings.Index(components, sub)
		if i < 0 {
			t.Errorf("the Components section has no ### %s", name)
			continue
		}
		rest := components[i+len(sub):]
		if j := strings.Index(rest, "\n### "); j >= 0 {
			rest = rest[:j]
		}
		if !strings.Contains(rest, "```yaml") || !strings.Contains(rest, "](docs/components/"+name+".md)") {
			t.Errorf("### %s needs a YAML example and a link to docs/components/%s.md", name, name)
		}
	}
	readme := readFile(t, "README.md")
	if !strings.Contains(readme, "GitLab 18.7 or later") {
		t.Error("the README does not state the minimum GitLab version (spec:component needs 18.7)")
	}
	if _, err := os.Stat(filepath.Join(root, "LICENSE")); err != nil || !strings.Contains(readme, "](LICENSE)") {
		t.Errorf("no LICENSE, or the README does not link it: %v", err)
	}
	for _, file := range docFiles(t) {
		if strings.Contains(readFile(t, file), "| input | type |") {
			t.Errorf("%s has a table of inputs: the Catalog renders them from the templates", file)
		}
	}
	if deploy := readFile(t, "docs/components/deploy.md"); !strings.Contains(deploy, "```yaml\n"+readFile(t, "component.yml")+"```\n") {
		t.Error("docs/components/deploy.md does not quote component.yml as it is")
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocs_links checks that every relative link of the README and the docs
// leads to a file, and every #anchor to a heading of it.
func TestDocs_links(t *testing.T) {
	t.Parallel()
	for _, file := range docFiles(t) {
		for _, m := range mdLink.FindAllStringSubmatch(readFile(t, file), -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(link, "#")
			target := file
			if path != "" {
				target = filepath.Join(filepath.Dir(file), path)
			}
			info, err := os.Stat(filepath.Join(root, target))
			if err != nil {
				t.Errorf("%s links to %s, which does not exist", file, link)
				continue
			}
			if anchor != "" && !info.IsDir() && !headingAnchors(readFile(t, target))[anchor] {
				t.Errorf("%s links to %s, but %s has no such heading", file, link, target)
			}
		}
	}
}

// headingAnchors are the anchors GitLab and GitHub make of Markdown headings.
func headingAnchors(text string) map[string]bool {
	out := map[string]bool{}
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		h = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(h, "")
		out[strings.ReplaceAll(h, " ", "-")] = true
	}
	return out
}
