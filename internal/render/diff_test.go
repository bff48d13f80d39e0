package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	live, err := ReadTaskDef("testdata/describe-output.json")
	if err != nil {
		t.Fatal(err)
	}
	// The same definition as a user writes it: no echoed defaults.
	written := `{"family": "web", "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
	 "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
	 "tags": [{"key": "app", "value": "web"}],
	 "containerDefinitions": [{"name": "web",
	   "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
	   "portMappings": [{"containerPort": 80}],
	   "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"}}}]}`
	for _, tt := range []struct {
		name string
		edit func(string) string
		want []string
	}{
		{name: "defaults_only", edit: func(s string) string { return s }},
		{
			name: "image_memory_env_sidecar",
			edit: func(s string) string {
				s = strings.Replace(s, "sha256:1111111111111111111111111111111111111111111111111111111111111111", "sha256:2222222222222222222222222222222222222222222222222222222222222222", 1)
				s = strings.Replace(s, `"memory": "512"`, `"memory": "1024"`, 1)
				s = strings.Replace(s, `"portMappings"`, `"environment": [{"name": "LOG_LEVEL", "value": "debug"}], "portMappings"`, 1)
				s = strings.Replace(s, `"tags": [{"key": "app", "value": "web"}]`, `"tags": [{"key": "app", "value": "shop"}]`, 1)
				return strings.Replace(s, `"containerDefinitions": [`, `"containerDefinitions": [{"name": "envoy", "image": "envoyproxy/envoy:v1.31", "essential": false},`, 1)
			},
			want: []string{
				`+ containerDefinitions[envoy]: {"essential":false,"image":"envoyproxy/envoy:v1.31","name":"envoy"}`,
				`+ containerDefinitions[web].environment: [{"name":"LOG_LEVEL","value":"debug"}]`,
				`~ containerDefinitions[web].image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:1111111111111111111111111111111111111111111111111111111111111111" -> "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:2222222222222222222222222222222222222222222222222222222222222222"`,
				`~ memory: "512" -> "1024"`,
				`~ tags[app].value: "web" -> "shop"`,
			},
		},
		{
			name: "removed_log_configuration",
			edit: func(s string) string {
				return strings.Replace(s, `"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"}}`, `"readonlyRootFilesystem": true`, 1)
			},
			want: []string{
				`- containerDefinitions[web].logConfiguration: {"logDriver":"awslogs","options":{"awslogs-group":"/ecs/web","awslogs-region":"eu-west-1","awslogs-stream-prefix":"web"}}`,
				`+ containerDefinitions[web].readonlyRootFilesystem: true`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td, err := ParseTaskDef([]byte(tt.edit(written)), "taskdef.json")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range Diff(live, td) {
				got = append(got, c.String())
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Diff (-want +got):\n%s", d)
			}
		})
	}
}
