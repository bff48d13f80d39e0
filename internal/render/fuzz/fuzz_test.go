package fuzz

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/render"
)

// maxInput bounds what the targets look at. Each new input the fuzzer
// finds is minimized, at a cost quadratic in its length; inputs grown from
// the 2 KB fixtures kept both workers minimizing for the whole run (0
// executions a second after the first few). Every check the parsers make
// fits in 512 bytes, and their linearity is the benchmark's job.
const maxInput = 512

// addFiles seeds f with every file matching the patterns under render's
// testdata (the hostile corpus and the small fixtures) that fits maxInput;
// testdata/fuzz holds more.
func addFiles(f *testing.F, patterns ...string) {
	f.Helper()
	n := 0
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join("..", "testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			if len(data) <= maxInput {
				f.Add(data)
				n++
			}
		}
	}
	if n == 0 {
		f.Fatalf("no seed files match %v", patterns)
	}
}

// FuzzParseTaskDef: any input is refused with an error naming the file, or
// accepted; an accepted definition renders, and its rendering parses back to
// the same rendering (nothing is lost or reinterpreted on the way), with
// every container named once.
func FuzzParseTaskDef(f *testing.F) {
	addFiles(f, "*.json", "hostile/td-*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		td, err := render.ParseTaskDef(data, "taskdef.json")
		if err != nil {
			var fe *render.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "taskdef.json") {
				t.Fatalf("error is not a *FieldError naming the file: %v", err)
			}
			logSafe(t, err)
			return
		}
		out, err := td.JSON()
		if err != nil {
			t.Fatalf("a parsed task definition does not render: %v", err)
		}
		again, err := render.ParseTaskDef(out, "rendered.json")
		if err != nil {
			t.Fatalf("the rendering of an accepted task definition is refused: %v\n%s", err, out)
		}
		out2, _ := again.JSON()
		if !bytes.Equal(out, out2) {
			t.Fatalf("rendering is not stable:\n%s\n---\n%s", out, out2)
		}
		seen := map[string]bool{}
		for _, c := range td.Containers() {
			if seen[c[0]] {
				t.Fatalf("container %q accepted twice", c[0])
			}
			seen[c[0]] = true
		}
		// The steps deploy takes next: substitution, then the image.
		if err := td.Substitute(func(string) (string, bool) { return "x", true }); err != nil {
			t.Fatalf("substituting every variable failed: %v", err)
		}
		if _, err := td.SetImage("registry.example/web@sha256:"+strings.Repeat("a", 64), render.ImageRule{}); err != nil {
			logSafe(t, err)
			return
		}
		if out, err = td.JSON(); err != nil {
			t.Fatal(err)
		}
		if _, err := render.ParseTaskDef(out, "rendered.json"); err != nil {
			t.Fatalf("the task definition deploy would register does not parse: %v\n%s", err, out)
		}
	})
}

// logSafe fails when an error would carry a raw control character (other
// than the newlines between joined errors) into the job log.
func logSafe(t *testing.T, err error) {
	t.Helper()
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
		t.Fatalf("the error carries a raw control character into the log: %q", err.Error())
	}
}

// FuzzParseAppSpec: an accepted AppSpec validates or says why, and once its
// task definition is set it renders to YAML that parses back to the same
// target.
func FuzzParseAppSpec(f *testing.F) {
	addFiles(f, "appspec*", "hostile/as-*")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxInput {
			return
		}
		a, err := render.ParseAppSpec(data, "appspec.yml")
		if err != nil {
			var fe *render.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "appspec.yml") {
				t.Fatalf("error is not a *FieldError naming the file: %v", err)
			}
			logSafe(t, err)
			return
		}
		if err := a.Validate(nil); err != nil {
			logSafe(t, err)
		}
		if a.Set("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1", "web", 8080) != nil {
			return
		}
		out, err := a.YAML()
		if err != nil {
			t.Fatalf("a set AppSpec does not render: %v", err)
		}
		back, err := render.ParseAppSpec(out, "rendered.yml")
		if err != nil {
			t.Fatalf("the rendering of an accepted AppSpec is refused: %v\n%s", err, out)
		}
		td, c, p, err := back.Target()
		if err != nil || td != "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1" || c != "web" || p != 8080 {
			t.Fatalf("round trip target = %q %q %d %v\n%s", td, c, p, err, out)
		}
	})
}
