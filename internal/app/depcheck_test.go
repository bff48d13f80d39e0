package app

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "gitlab.com/ecs-bluegreen/ecs-bluegreen"

// layout is the README's Layout section as rules: for every package of the
// binary, the internal packages it may import directly. Data flows one way
// (settings → AWS clients → snapshot → decision → action → report): the
// leaves import no internal package, the deciders only the snapshot, the
// actors the deciders, and only app wires them all. A package missing here,
// or an import not listed, fails the test; change the README and this table
// together.
var layout = map[string][]string{
	"cmd/ecs-bluegreen":  {"internal/app"},
	"internal/app":       {"internal/awsclient", "internal/config", "internal/deploy", "internal/fleet", "internal/gitlab", "internal/image", "internal/migrate", "internal/monitor", "internal/render", "internal/report", "internal/sandbox", "internal/snapshot", "internal/verify", "internal/version"},
	"internal/config":    {},
	"internal/version":   {},
	"internal/awsclient": {},
	"internal/gitlab":    {},
	"internal/image":     {},
	"internal/render":    {},
	"internal/snapshot":  {},
	"internal/monitor":   {"internal/snapshot"},                                       // the follower reads the replacement through it
	"internal/fleet":     {"internal/gitlab", "internal/report", "internal/snapshot"}, // a service's reports read back, the overview written through report
	"internal/verify":    {"internal/snapshot"},
	"internal/deploy":    {"internal/config", "internal/monitor", "internal/render", "internal/snapshot", "internal/verify"},
	"internal/report":    {"internal/gitlab", "internal/snapshot"}, // gitlab: escaping of text from outside
	"internal/migrate":   {},
	"internal/sandbox":   {"internal/awssim", "internal/awssim/clock", "internal/awssim/seed"},
	// The simulator is its own world: it never reaches into the tool.
	"internal/awssim":       {"internal/awssim/clock", "internal/awssim/wire"},
	"internal/awssim/clock": {},
	"internal/awssim/wire":  {},
	"internal/awssim/seed":  {},
	// Test helpers and the component checks have no production importer.
	"internal/testutil":    {},
	"internal/component":   {},
	"internal/render/fuzz": {"internal/render"},
}

// neverIn are packages no package of the binary may depend on, even through
// others, except the ones named (the sandbox embeds the simulator).
var neverIn = []struct {
	dep    string
	except []string
}{
	{dep: module + "/internal/awssim", except: []string{"internal/awssim", "internal/sandbox", "internal/app", "cmd/ecs-bluegreen"}},
	{dep: module + "/internal/testutil"},
	{dep: module + "/internal/component"},
	{dep: "github.com/stretchr/testify"},
	{dep: "github.com/aws/aws-sdk-go/"}, // v1 of the SDK
	{dep: "testing", except: []string{"internal/testutil", "internal/component"}},
	// text/template calls methods by name, so wherever it is linked the
	// linker keeps every exported method of every type: 30.1 MB of binary
	// instead of 20.5 MB, most of it AWS SDK operations never called.
	// Pages are written with report's escaping builder instead.
	{dep: "text/template"},
	{dep: "html/template"},
}

type listed struct {
	imports, deps []string
}

func goList(t *testing.T) map[string]listed {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]listed{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkgs[strings.TrimPrefix(parts[0], module+"/")] = listed{imports: strings.Fields(parts[1]), deps: strings.Fields(parts[2])}
	}
	return pkgs
}

// layoutProblems lists every way pkgs break the layout and neverIn rules.
func layoutProblems(pkgs map[string]listed) []string {
	var out []string
	for pkg, l := range pkgs {
		allowed, ok := layout[pkg]
		if !ok {
			out = append(out, "package "+pkg+" is not in the layout: add it to the README's Layout section and to this table")
			continue
		}
		for _, imp := range l.imports {
			rel, internal := strings.CutPrefix(imp, module+"/")
			if internal && rel != pkg && !slices.Contains(allowed, rel) {
				out = append(out, pkg+" imports "+rel+", which the layout does not allow")
			}
		}
		for _, rule := range neverIn {
			self := module + "/" + pkg
			if slices.Contains(rule.except, pkg) || self == rule.dep || strings.HasPrefix(self, rule.dep+"/") {
				continue
			}
			for _, dep := range l.deps {
				if dep == rule.dep || strings.HasPrefix(dep, strings.TrimSuffix(rule.dep, "/")+"/") {
					out = append(out, pkg+" depends on "+dep)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestLayout enforces the README layout and the never-depend rules on the
// code, as go-containerregistry's cmd/crane/depcheck_test.go does for crane.
func TestLayout(t *testing.T) {
	t.Parallel()
	pkgs := goList(t)
	for _, p := range layoutProblems(pkgs) {
		t.Error(p)
	}
	for pkg := range layout {
		if _, ok := pkgs[pkg]; !ok {
			t.Errorf("the layout names %s, which no longer exists", pkg)
		}
	}
}

// TestLayoutMatchesREADME: the README's Layout section names every package
// of the table (a package under a named one, such as internal/awssim/wire,
// is described by it), and names no package the table lacks.
func TestLayoutMatchesREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### Layout\n\n```\n")
	if !ok {
		t.Fatal("README.md has no Layout section with a code block")
	}
	section, _, _ = strings.Cut(section, "```")
	var named []string
	for line := range strings.SplitSeq(section, "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(line, " ") {
			named = append(named, f[0])
		}
	}
	for _, pkg := range named {
		if _, ok := layout[pkg]; !ok {
			t.Errorf("the README's Layout names %s, which the layout table lacks", pkg)
		}
	}
	for pkg := range layout {
		described := slices.ContainsFunc(named, func(n string) bool { return pkg == n || strings.HasPrefix(pkg, n+"/") })
		if !described {
			t.Errorf("the README's Layout does not name %s (nor a package it is under)", pkg)
		}
	}
}

// TestLayout_rules: each kind of breach is found.
func TestLayout_rules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		pkgs map[string]listed
		want int
	}{
		{name: "as_laid_out", pkgs: map[string]listed{"internal/deploy": {imports: []string{module + "/internal/snapshot", "context"}}}, want: 0},
		{name: "upward_import", pkgs: map[string]listed{"internal/snapshot": {imports: []string{module + "/internal/deploy"}}}, want: 1},
		{name: "unknown_package", pkgs: map[string]listed{"internal/util": {}}, want: 1},
		{name: "simulator_through_another", pkgs: map[string]listed{"internal/report": {deps: []string{module + "/internal/awssim/wire"}}}, want: 1},
		{name: "sandbox_may_embed_it", pkgs: map[string]listed{"internal/sandbox": {deps: []string{module + "/internal/awssim"}}}, want: 0},
		{name: "testify", pkgs: map[string]listed{"internal/verify": {deps: []string{"github.com/stretchr/testify/assert"}}}, want: 1},
		{name: "sdk_v1", pkgs: map[string]listed{"internal/awsclient": {deps: []string{"github.com/aws/aws-sdk-go/aws"}}}, want: 1},
		{name: "sdk_v2_is_fine", pkgs: map[string]listed{"internal/awsclient": {deps: []string{"github.com/aws/aws-sdk-go-v2/aws"}}}, want: 0},
		{name: "templates_keep_every_method", pkgs: map[string]listed{"internal/report": {deps: []string{"html/template", "text/template/parse"}}}, want: 2},
		{name: "testing_in_the_binary", pkgs: map[string]listed{"internal/app": {deps: []string{"testing"}}}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := layoutProblems(tt.pkgs); len(got) != tt.want {
				t.Errorf("layoutProblems = %q, want %d problems", got, tt.want)
			}
		})
	}
}
