package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	td := filepath.Join(dir, "taskdef.json")
	spec := filepath.Join(dir, "appspec.yml")
	out := filepath.Join(dir, "out")
	if err := os.WriteFile(td, []byte(`{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
"containerDefinitions":[{"name":"web","image":"<IMAGE1_NAME>","portMappings":[{"containerPort":8080}]},{"name":"envoy","image":"envoy:1"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte("version: 0.0 # kept\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("a", 64), "BG_TASKDEF_FILE=" + td, "BG_APPSPEC_FILE=" + spec, "BG_OUTPUT_DIR=" + out}
	code, stdout, stderr := run(t, env, "render")
	if code != ExitOK {
		t.Fatalf("render exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "web now runs registry.example/web@sha256:") {
		t.Errorf("render output: %s", stdout)
	}
	rendered, _ := os.ReadFile(filepath.Join(out, "taskdef.json"))
	if !strings.Contains(string(rendered), `"image": "registry.example/web@sha256:`) || !strings.Contains(string(rendered), `"image": "envoy:1"`) {
		t.Errorf("taskdef.json:\n%s", rendered)
	}
	renderedSpec, _ := os.ReadFile(filepath.Join(out, "appspec.yml"))
	if !strings.Contains(string(renderedSpec), "# kept") || !strings.Contains(string(renderedSpec), "<TASK_DEFINITION>") {
		t.Errorf("appspec.yml:\n%s", renderedSpec)
	}

	// Without an AppSpec one is generated from the task definition.
	code, _, stderr = run(t, append(env, "BG_APPSPEC_FILE="+filepath.Join(dir, "missing.yml")), "render")
	if code != ExitOK {
		t.Errorf("render without an AppSpec: exit %d\n%s", code, stderr)
	}
	for _, tt := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"missing_taskdef", []string{"BG_TASKDEF_FILE=" + filepath.Join(dir, "nope.json")}, "task definition file"},
		{"wrong_container", []string{"BG_CONTAINER_NAME=api"}, `no container is named "api"`},
		{"port_not_mapped", []string{"BG_CONTAINER_PORT=9090"}, "does not map port 9090"},
	} {
		code, _, stderr := run(t, append(append([]string{}, env...), tt.extra...), "render")
		if code != ExitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr:\n%s", tt.name, code, stderr)
		}
	}
}
