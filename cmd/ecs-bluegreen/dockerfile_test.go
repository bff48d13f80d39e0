package main

import (
	"os"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// TestDockerfileContract checks the image's Dockerfile for what the component
// relies on (DESIGN §4): no Docker engine runs in CI, so the rules are read
// from the file itself.
func TestDockerfileContract(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parsing the Dockerfile: %v", err)
	}
	type instr struct {
		cmd  string
		text string
	}
	var stages [][]instr
	for _, n := range res.AST.Children {
		cmd := strings.ToLower(n.Value)
		if cmd == "from" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			continue
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], instr{cmd: cmd, text: n.Original})
	}
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	var buildRun string
	for _, in := range build {
		if in.cmd == "run" && strings.Contains(in.text, "go build") {
			buildRun = in.text
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "internal/version.version=", "internal/version.commit=", "./cmd/ecs-bluegreen"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("the build step lacks %q: %s", want, buildRun)
		}
	}
	base := strings.Fields(final[0].text)[1]
	hasShell := false
	for _, b := range []string{"busybox", "alpine", "debian", "ubuntu", "distroless/static-debian12:debug", "distroless/base-debian12:debug"} {
		if strings.Contains(base, b) {
			hasShell = true
		}
	}
	if !hasShell {
		t.Errorf("the runtime base %s has no /bin/sh: GitLab runs job scripts through a shell in this image", base)
	}
	var labels, user string
	certs, binary := false, false
	for _, in := range final {
		switch in.cmd {
		case "entrypoint":
			t.Errorf("the runtime stage sets an ENTRYPOINT, which would swallow the job script: %s", in.text)
		case "label":
			labels += in.text
		case "user":
			user = strings.Fields(in.text)[1]
		case "copy":
			certs = certs || strings.Contains(in.text, "ca-certificates")
			binary = binary || strings.Contains(in.text, "/usr/local/bin/ecs-bluegreen")
		case "run":
			t.Errorf("the runtime stage runs a command (%s): keep it to files, so the image is reproducible", in.text)
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("the runtime stage runs as %q, want a non-root user", user)
	}
	for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.revision", "org.opencontainers.image.version", "org.opencontainers.image.created"} {
		if !strings.Contains(labels, l) {
			t.Errorf("the image lacks the label %s", l)
		}
	}
	if !certs || !binary {
		t.Errorf("the runtime stage must copy the CA certificates (%v) and the binary (%v)", certs, binary)
	}
}
