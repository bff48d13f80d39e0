package report

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// hostileText is what someone else can write into AWS (a deployment
// description, a tag value, a target health reason, a registry error) and
// the reports show.
var hostileText = []struct{ name, text string }{
	{"html", `<img src=x onerror=alert(1)><script>alert(1)</script>`},
	{"ansi", "\x1b[31mred\x1b[0m\x1b[2J"},
	{"section_marker", "\x1b[0Ksection_start:1764000000:fake[collapsed=true]\r\x1b[0Kfake"},
	{"pipe", "a | b | c"},
	{"newline_row", "x\n| forged | row |"},
	{"link", "[click](https://evil.example/)"},
	{"backtick", "`code` ``"},
}

// controlFree reports whether s has no control character but newline and tab.
func controlFree(s string) bool {
	for _, r := range s {
		if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// tableCells is the cell count of every table row of a Markdown document.
func tableCells(md string) []int {
	var cells []int
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			cells = append(cells, strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"))
		}
	}
	return cells
}

func TestStatusMarkdownEscapesTextFromAWS(t *testing.T) {
	t.Parallel()
	plain := sampleSnapshots()["canary"]
	wantCells := tableCells(StatusMarkdown(plain))
	for _, tt := range hostileText {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := sampleSnapshots()["canary"]
			s.InFlight.Description = tt.text
			s.InFlight.Status = tt.text
			s.Colours[1].Unhealthy[0].Reason = tt.text
			s.Colours[0].TargetGroup = tt.text
			s.Colours[0].Containers[0].Image = tt.text
			s.Colours[0].IsProduction = tt.text
			s.Registry = []snapshot.RegistryTag{{Repository: tt.text, Tag: "live", Error: tt.text}}
			page, err := StatusHTML(s)
			if err != nil || !controlFree(string(page)) || strings.Contains(string(page), "<script>") || strings.Contains(string(page), "<img") {
				t.Errorf("status.html keeps control characters or markup (%v):\n%q", err, page)
			}
			md := StatusMarkdown(s)
			if !controlFree(md) {
				t.Errorf("status.md keeps control characters:\n%q", md)
			}
			if strings.ContainsAny(stripCode(md), "<>") || strings.Contains(stripCode(md), "](") {
				t.Errorf("status.md carries HTML or a link outside code:\n%s", md)
			}
			if got := tableCells(md); len(got) != len(wantCells) {
				t.Errorf("the table has %d rows, want %d:\n%s", len(got), len(wantCells), md)
			} else {
				for i := range got {
					if got[i] != wantCells[i] {
						t.Errorf("row %d has %d cell borders, want %d:\n%s", i, got[i], wantCells[i], md)
					}
				}
			}
		})
	}
}

// stripCode removes inline code spans, whose text Markdown shows literally.
func stripCode(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := 0
		for i+n < len(md) && md[i+n] == '`' {
			n++
		}
		fence := md[i : i+n]
		end := strings.Index(md[i+n:], fence)
		if end < 0 {
			b.WriteString(md[i:])
			break
		}
		i += n + end + n
	}
	return b.String()
}

func TestJUnitAndDotenvEscapeTextFromAWS(t *testing.T) {
	t.Parallel()
	for _, tt := range hostileText {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := JUnit(tt.text, time.Time{}, []Case{{Name: tt.text, Message: tt.text}, {Name: "ok", Passed: true, Message: tt.text}})
			if err != nil {
				t.Fatal(err)
			}
			var back junitSuites
			if err := xml.Unmarshal(b, &back); err != nil {
				t.Fatalf("junit.xml does not parse: %v\n%s", err, b)
			}
			if !controlFree(string(b)) || strings.Contains(string(b), "\ufffd") {
				t.Errorf("junit.xml keeps or garbles control characters:\n%q", b)
			}
			if f := back.Suites[0].Cases[0].Failure; f == nil || !controlFree(f.Message) {
				t.Errorf("failure message = %+v", f)
			}
			path := filepath.Join(t.TempDir(), DotenvFile)
			if err := MergeDotenv(path, map[string]string{"ECS_BLUEGREEN_DESCRIPTION": tt.text}); err != nil {
				t.Fatal(err)
			}
			env, _ := os.ReadFile(path)
			if strings.Count(string(env), "\n") != 1 || !controlFree(string(env)) {
				t.Errorf("deploy.env is not one clean line: %q", env)
			}
			vars, err := ParseDotenv(env)
			if err != nil || len(vars) != 1 {
				t.Errorf("deploy.env does not parse back: %v %v", vars, err)
			}
		})
	}
}
