package render

import (
	"context"
	"errors"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

var update = flag.Bool("update", false, "rewrite golden files")

const billingImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/billing@sha256:3333333333333333333333333333333333333333333333333333333333333333"

const newImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-web@sha256:2222222222222222222222222222222222222222222222222222222222222222"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		_ = os.MkdirAll(filepath.Dir(path), 0o750)
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestRenderTaskDefinitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		rule      ImageRule
		image     string // newImage when empty
		env       map[string]string
		wantNames []string
	}{
		{file: "fargate-sidecars.json", rule: ImageRule{Container: "web"}, wantNames: []string{"web"}},
		{file: "fargate-sidecars.json", rule: ImageRule{}, wantNames: []string{"web"}}, // same repository as the new image
		{file: "describe-output.json", rule: ImageRule{}, wantNames: []string{"web"}},  // the only container
		{file: "codepipeline-placeholder.json", rule: ImageRule{}, env: map[string]string{"STAGE": "prod"}, wantNames: []string{"orders"}},
		// EC2, bridge networking, secrets, a migration container on the same image.
		{file: "ec2-bridge-secrets.json", rule: ImageRule{Container: "api"}, wantNames: []string{"api"}},
		{file: "ec2-bridge-secrets.json", rule: ImageRule{}, image: billingImage, wantNames: []string{"api", "migrate"}},
		// Fargate on ARM with a FireLens log router, an X-Ray sidecar and the placeholder style.
		{file: "fargate-firelens-arm.json", rule: ImageRule{Placeholders: []string{"IMAGE1_NAME"}}, env: map[string]string{"STAGE": "staging"}, wantNames: []string{"catalog"}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.rule.Container, func(t *testing.T) {
			t.Parallel()
			td, err := ReadTaskDef(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if tt.env != nil {
				if err := td.Substitute(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }); err != nil {
					t.Fatal(err)
				}
			}
			image := newImage
			if tt.image != "" {
				image = tt.image
			}
			names, err := td.SetImage(image, tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("containers given the image (-want +got):\n%s", diff)
			}
			out, err := td.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(tt.file, ".json")+"-"+orAll(tt.rule.Container)+".json", out)
		})
	}
}

func orAll(s string) string {
	if s == "" {
		return "auto"
	}
	return s
}

func TestParseErrorsPointIntoTheFile(t *testing.T) {
	t.Parallel()
	_, err := ReadTaskDef("testdata/unknown-field.json")
	if err == nil {
		t.Fatal("unknown fields were accepted")
	}
	for _, want := range []string{
		`testdata/unknown-field.json:7: containerDefinitions[0].portMapings: unknown member "portMapings"`,
		`testdata/unknown-field.json:10: cpuUnits: unknown member "cpuUnits"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, tt := range []struct{ name, data, want string }{
		{"not_json", `{"family": "web",`, "not valid JSON"},
		{"wrong_type", "{\n\"family\": \"web\",\n\"containerDefinitions\": [{\"name\": \"web\", \"image\": \"x\", \"memory\": \"lots\"}]}", "expected"},
		{"no_family", `{"containerDefinitions": [{"name": "web", "image": "x"}]}`, "family: is required"},
		{"no_containers", `{"family": "web"}`, "containerDefinitions: must list at least one container"},
		{"array", `[]`, "must be a JSON object"},
		{"empty", ``, "empty"},
	} {
		_, err := ParseTaskDef([]byte(tt.data), "taskdef.json")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestSetImageNeedsAContainerWhenAmbiguous(t *testing.T) {
	t.Parallel()
	td, err := ReadTaskDef("testdata/fargate-sidecars.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := td.SetImage("registry.example/other:1", ImageRule{}); err == nil || !strings.Contains(err.Error(), "BG_CONTAINER_NAME") {
		t.Errorf("ambiguous image target: %v", err)
	}
	if _, err := td.SetImage("registry.example/other:1", ImageRule{Container: "api"}); err == nil || !strings.Contains(err.Error(), `no container is named "api"`) {
		t.Errorf("missing container: %v", err)
	}
}

func TestSubstituteNamesUndefinedVariables(t *testing.T) {
	t.Parallel()
	td, _ := ReadTaskDef("testdata/codepipeline-placeholder.json")
	err := td.Substitute(func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "containerDefinitions[0].environment[0].value: ${STAGE} is not set") {
		t.Errorf("Substitute() = %v", err)
	}
}

func TestAppSpecKeepsCommentsAndHooks(t *testing.T) {
	t.Parallel()
	data, _ := os.ReadFile("testdata/appspec-hooks.yml")
	a, err := ParseAppSpec(data, "appspec.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Set("arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-web:42", "", 0); err != nil {
		t.Fatal(err)
	}
	td, _ := ReadTaskDef("testdata/fargate-sidecars.json")
	if err := a.Validate(td); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	out, err := a.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "appspec-hooks.yml", out)
	for _, want := range []string{"# Smoke tests against the test listener", "AfterAllowTestTraffic: \"shop-smoke-tests\"", "task-definition/shop-web:42", "ContainerPort: 8080"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rendered AppSpec lacks %q", want)
		}
	}
}

// TestAppSpecWithNetworking renders an AppSpec that pins networking, the
// platform version and capacity providers: all of it survives, in order.
func TestAppSpecWithNetworking(t *testing.T) {
	t.Parallel()
	data, _ := os.ReadFile("testdata/appspec-network.yaml")
	a, err := ParseAppSpec(data, "appspec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Set("arn:aws:ecs:eu-west-1:123456789012:task-definition/catalog-staging:7", "", 0); err != nil {
		t.Fatal(err)
	}
	td, err := ReadTaskDef("testdata/fargate-firelens-arm.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(td); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	out, err := a.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "appspec-network.yml", out)
}

func TestAppSpecJSONAndGenerated(t *testing.T) {
	t.Parallel()
	data, _ := os.ReadFile("testdata/appspec.json")
	a, err := ParseAppSpec(data, "appspec.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Set("arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:4", "orders", 3000); err != nil {
		t.Fatal(err)
	}
	td, _ := ReadTaskDef("testdata/codepipeline-placeholder.json")
	if err := a.Validate(td); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if tdARN, c, p, err := a.Target(); err != nil || !strings.HasSuffix(tdARN, "orders:4") || c != "orders" || p != 3000 {
		t.Errorf("Target() = %s %s %d %v", tdARN, c, p, err)
	}
}

// TestNewAppSpec generates AppSpecs from services of each shape; every one
// validates and parses back to the same target.
func TestNewAppSpec(t *testing.T) {
	t.Parallel()
	td, _ := ReadTaskDef("testdata/codepipeline-placeholder.json")
	const arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders:4"
	for _, tt := range []struct {
		name string
		svc  ServiceSpec
	}{
		{"ec2-bridge", ServiceSpec{Container: "orders", Port: 3000}},
		{"fargate", ServiceSpec{
			Container: "orders", Port: 3000, PlatformVersion: "1.4.0",
			Subnets: []string{"subnet-0a1b2c3d", "subnet-0e4f5a6b"}, SecurityGroups: []string{"sg-0123456789abcdef0"}, AssignPublicIP: "DISABLED",
		}},
		{"capacity-providers", ServiceSpec{
			Container: "orders", Port: 3000, PlatformVersion: "LATEST",
			Subnets:           []string{"subnet-0a1b2c3d"},
			CapacityProviders: []CapacityProvider{{Name: "FARGATE", Base: 1, Weight: 1}, {Name: "FARGATE_SPOT", Weight: 3}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewAppSpec(arn, tt.svc)
			if err := g.Validate(td); err != nil {
				t.Errorf("generated AppSpec does not validate: %v", err)
			}
			out, err := g.YAML()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "generated-"+tt.name+".yml", out)
			back, err := ParseAppSpec(out, "appspec.yml")
			if err != nil {
				t.Fatal(err)
			}
			if tdARN, c, p, err := back.Target(); err != nil || tdARN != arn || c != "orders" || p != 3000 {
				t.Errorf("Target() after a round trip = %s %s %d %v", tdARN, c, p, err)
			}
		})
	}
}

func TestAppSpecValidation(t *testing.T) {
	t.Parallel()
	td, _ := ReadTaskDef("testdata/fargate-sidecars.json")
	base := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: x\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	for _, tt := range []struct{ name, doc, want string }{
		{"valid", base, ""},
		{"bad_version", strings.Replace(base, "0.0", "1.0", 1), "appspec.yml:1: version: must be 0.0"},
		{"port_as_string", strings.Replace(base, "8080", `"8080"`, 1), "must be a number"},
		{"unknown_container", strings.Replace(base, "ContainerName: web", "ContainerName: api", 1), `container "api" is not in task definition shop-web`},
		{"unmapped_port", strings.Replace(base, "8080", "9090", 1), "does not map port 9090"},
		{"wrong_type", strings.Replace(base, "AWS::ECS::Service", "AWS::Lambda::Function", 1), "must be AWS::ECS::Service"},
		{"bad_hook", base + "Hooks:\n  - AfterInstal: fn\n", `"AfterInstal" is not an ECS lifecycle hook`},
		{"partial_network", strings.Replace(base, "        LoadBalancerInfo:", "        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [a]\n        LoadBalancerInfo:", 1), "give Subnets, SecurityGroups and AssignPublicIp together"},
		{"extra_section", base + "Files: []\n", `appspec.yml:10: Files: unknown member "Files"`},
	} {
		a, err := ParseAppSpec([]byte(tt.doc), "appspec.yml")
		if err == nil {
			err = a.Validate(td)
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestRegisterAgainstSimulator(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	api := ecs.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1})
	ctx := context.Background()
	// RegisterTaskDefinition accepts every rendered fixture.
	for _, f := range []string{"fargate-sidecars.json", "describe-output.json", "codepipeline-placeholder.json", "ec2-bridge-secrets.json", "fargate-firelens-arm.json"} {
		td, err := ReadTaskDef(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		_ = td.Substitute(func(string) (string, bool) { return "prod", true })
		if _, err := td.SetImage(newImage, ImageRule{Container: td.Containers()[0][0]}); err != nil {
			t.Fatal(err)
		}
		first, err := Register(ctx, api, td)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if first.Reused {
			t.Errorf("%s: the first registration was reused", f)
		}
		// A rerun renders the same definition: no new revision.
		again, err := Register(ctx, api, td)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Reused || again.ARN != first.ARN {
			t.Errorf("%s: rerun = %+v, want the revision %s reused", f, again, first.ARN)
		}
	}
	// A different image is a new revision.
	td, _ := ReadTaskDef("testdata/describe-output.json")
	_, _ = td.SetImage("registry.example/web:other", ImageRule{})
	r, err := Register(ctx, api, td)
	if err != nil || r.Reused || !strings.HasSuffix(r.ARN, "web:2") {
		t.Errorf("changed image: %+v, %v; want revision 2", r, err)
	}
	var fe *FieldError
	if _, err := ParseTaskDef([]byte(`{"family":"x","containerDefinitions":[{"name":"a","image":"b","bogus":1}]}`), "t.json"); !errors.As(err, &fe) {
		t.Errorf("unknown nested field error type = %T", err)
	}
}

func TestFromDescribeRoundTrips(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	api := ecs.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1})
	td, err := ReadTaskDef("testdata/fargate-sidecars.json")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := Register(context.Background(), api, td)
	if err != nil {
		t.Fatal(err)
	}
	out, err := api.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(reg.ARN), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	live, err := FromDescribe(out, "live task definition")
	if err != nil {
		t.Fatalf("FromDescribe: %v", err)
	}
	// Registering the live definition again changes nothing.
	again, err := Register(context.Background(), api, live)
	if err != nil || !again.Reused {
		t.Errorf("re-registering the live definition = %+v, %v; want it reused", again, err)
	}
	js, _ := live.JSON()
	if !strings.Contains(string(js), `"Name": "datadog"`) || strings.Contains(string(js), `"taskDefinitionArn"`) {
		t.Errorf("live JSON lost a map key's case or kept a read-only member:\n%s", js)
	}
}

func TestCheckLaunchType(t *testing.T) {
	t.Parallel()
	fargate, _ := ReadTaskDef("testdata/fargate-sidecars.json")
	if err := fargate.CheckLaunchType("FARGATE"); err != nil {
		t.Errorf("a Fargate task definition: %v", err)
	}
	ec2, _ := ReadTaskDef("testdata/codepipeline-placeholder.json")
	if err := ec2.CheckLaunchType("EC2"); err != nil {
		t.Errorf("EC2: %v", err)
	}
	err := ec2.CheckLaunchType("FARGATE")
	for _, want := range []string{`networkMode: is "bridge"`, "cpu: is required", "memory: is required", "requiresCompatibilities: must include FARGATE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bridge task definition on Fargate: %v, want %q", err, want)
		}
	}
}
