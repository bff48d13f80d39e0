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

// addFiles seeds f with every file matching the patterns (the fixtures and
// the hostile corpus of package render); testdata/fuzz holds more.
func addFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		files, err := filepath.Glob(filepath.Join("..", "testdata", p))
		if err != nil || len(files) == 0 {
			f.Fatalf("no seed files match %s", p)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

// FuzzParseTaskDef: any input is refused with an error naming the file, or
// accepted; an accepted definition renders, and its rendering parses back to
// the same rendering (nothing is lost or reinterpreted on the way), with
// every container named once.
func FuzzParseTaskDef(f *testing.F) {
	addFiles(f, "*.json", "hostile/td-*.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := render.ParseTaskDef(data, "taskdef.json")
		if err != nil {
			var fe *render.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "taskdef.json") {
				t.Fatalf("error is not a *FieldError naming the file: %v", err)
			}
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
	})
}

// FuzzParseAppSpec: an accepted AppSpec validates or says why, and once its
// task definition is set it renders to YAML that parses back to the same
// target.
func FuzzParseAppSpec(f *testing.F) {
	addFiles(f, "appspec*", "hostile/as-*")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := render.ParseAppSpec(data, "appspec.yml")
		if err != nil {
			var fe *render.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), "appspec.yml") {
				t.Fatalf("error is not a *FieldError naming the file: %v", err)
			}
			return
		}
		_ = a.Validate(nil)
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
