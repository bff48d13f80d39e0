package render

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeLive is a live service: its task definition and AppSpec settings.
type fakeLive struct {
	taskDef    string
	launchType string
	reads      int
}

func (f *fakeLive) TaskDefinition(context.Context) (*TaskDef, error) {
	f.reads++
	return ParseTaskDef([]byte(f.taskDef), "live task definition web:1")
}

func (f *fakeLive) Spec(context.Context) (ServiceSpec, error) {
	return ServiceSpec{Container: "web", Port: 8080}, nil
}

func (f *fakeLive) LaunchType(context.Context) (string, error) { return f.launchType, nil }

const liveTaskDef = `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
"containerDefinitions":[{"name":"web","image":"registry.example/web:1","portMappings":[{"containerPort":8080}]}]}`

// TestFilesPrepare: the files when they are there, else the live service;
// every problem of the files is an InputError (exit 2) with a hint.
func TestFilesPrepare(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	taskdef := filepath.Join(dir, "taskdef.json")
	if err := os.WriteFile(taskdef, []byte(strings.Replace(liveTaskDef, "registry.example/web:1", "<IMAGE1_NAME>", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	bridge := filepath.Join(dir, "bridge.json")
	if err := os.WriteFile(bridge, []byte(`{"family":"web","networkMode":"bridge","containerDefinitions":[{"name":"web","image":"<IMAGE1_NAME>","memory":256,"portMappings":[{"containerPort":8080}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	const image = "registry.example/web@sha256:0000000000000000000000000000000000000000000000000000000000000001"
	tests := []struct {
		name       string
		files      Files
		live       *fakeLive
		wantErr    string // an InputError with this text
		wantDiff   string
		wantImages int
	}{
		{name: "files_alone", files: Files{TaskdefFile: taskdef, AppspecFile: missing, Placeholders: []string{"IMAGE1_NAME"}}},
		{name: "live_fallback", files: Files{TaskdefFile: missing, AppspecFile: missing}, live: &fakeLive{taskDef: liveTaskDef, launchType: "FARGATE"}, wantDiff: "Changes from the live task definition web:1"},
		{name: "no_file_no_live", files: Files{TaskdefFile: missing, AppspecFile: missing}, wantErr: "not found (BG_TASKDEF_FILE)"},
		{name: "launch_type", files: Files{TaskdefFile: bridge, AppspecFile: missing, Placeholders: []string{"IMAGE1_NAME"}}, live: &fakeLive{taskDef: liveTaskDef, launchType: "FARGATE"}, wantErr: `needs "awsvpc"`},
		{name: "no_such_container", files: Files{TaskdefFile: taskdef, AppspecFile: missing, ContainerName: "api"}, wantErr: `"api"`},
		{name: "substitute_fails", files: Files{TaskdefFile: taskdef, AppspecFile: missing, Substitute: func(*TaskDef) error { return errors.New("FOO is not set") }}, wantErr: "FOO is not set"},
		{name: "port_not_mapped", files: Files{TaskdefFile: taskdef, AppspecFile: missing, Placeholders: []string{"IMAGE1_NAME"}, ContainerPort: 9090}, wantErr: "9090"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var diff bytes.Buffer
			f := tt.files
			f.Image, f.Diff = image, &diff
			if tt.live != nil {
				f.Live = tt.live
			}
			r, err := f.Prepare(context.Background())
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(ie.Error(), tt.wantErr) || ie.ErrorHint() == "" || ie.ExitCode() != 2 {
					t.Fatalf("Prepare = %v, want an InputError with %q and a hint", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			js, err := r.TaskDef.JSON()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(js), image) || len(r.Receivers) != 1 || r.Receivers[0] != "web" {
				t.Errorf("task definition does not run the image in web (receivers %v):\n%s", r.Receivers, js)
			}
			spec, err := r.AppSpec.YAML()
			if err != nil || !strings.Contains(string(spec), "ContainerName: web") || !strings.Contains(string(spec), "ContainerPort: 8080") {
				t.Errorf("generated AppSpec = %s, %v", spec, err)
			}
			if tt.wantDiff != "" && !strings.Contains(diff.String(), tt.wantDiff) {
				t.Errorf("diff = %q, want %q", diff.String(), tt.wantDiff)
			}
		})
	}
}
