package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeployPathCannotReachSimulator enforces DESIGN §5: only the sandbox (and
// tests) import the AWS simulator, so no deploy, render or report code can
// quietly start talking to a fake AWS.
func TestDeployPathCannotReachSimulator(t *testing.T) {
	t.Parallel()
	const module = "gitlab.com/ecs-bluegreen/ecs-bluegreen"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := func(pkg string) bool {
		// The simulator itself, the sandbox that embeds it, and the two that
		// wire the sandbox command into the binary.
		for _, p := range []string{"/internal/awssim", "/internal/sandbox", "/internal/app", "/cmd/ecs-bluegreen"} {
			if pkg == module+p || strings.HasPrefix(pkg, module+p+"/") {
				return true
			}
		}
		return false
	}
	checked := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || allowed(fields[0]) {
			continue
		}
		checked++
		for _, dep := range fields[1:] {
			if dep == module+"/internal/awssim" || strings.HasPrefix(dep, module+"/internal/awssim/") {
				t.Errorf("%s imports %s: only the sandbox and tests may use the simulator", fields[0], dep)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no packages checked: the go list pattern is wrong")
	}
}
