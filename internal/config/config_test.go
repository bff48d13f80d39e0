package config

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sethvargo/go-envconfig"
)

func load(t *testing.T, env map[string]string, targets ...any) []Problem {
	t.Helper()
	err := Load(context.Background(), EmptyAsUnset(envconfig.MapLookuper(env)), targets...)
	if err == nil {
		return nil
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load() error = %v, want *config.Error", err)
	}
	return ce.Problems
}

func vars(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Var)
	}
	return out
}

func TestEmptyAsUnset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		env       map[string]string
		wantDir   string
		wantImage string
		wantVars  []string
	}{
		{name: "unset_gets_default", env: map[string]string{"BG_IMAGE": "r.example/a:1"}, wantDir: ".ecs-bluegreen", wantImage: "r.example/a:1"},
		{name: "empty_gets_default", env: map[string]string{"BG_IMAGE": "r.example/a:1", "BG_OUTPUT_DIR": ""}, wantDir: ".ecs-bluegreen", wantImage: "r.example/a:1"},
		{name: "blank_gets_default", env: map[string]string{"BG_IMAGE": "r.example/a:1", "BG_OUTPUT_DIR": "  "}, wantDir: ".ecs-bluegreen", wantImage: "r.example/a:1"},
		{name: "set_wins", env: map[string]string{"BG_IMAGE": "r.example/a:1", "BG_OUTPUT_DIR": "out"}, wantDir: "out", wantImage: "r.example/a:1"},
		{name: "empty_required_fires", env: map[string]string{"BG_IMAGE": ""}, wantDir: ".ecs-bluegreen", wantVars: []string{"BG_IMAGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out Output
			var img Image
			got := load(t, tt.env, &out, &img)
			if diff := cmp.Diff(tt.wantVars, vars(got)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if out.Dir != tt.wantDir {
				t.Errorf("Dir = %q, want %q", out.Dir, tt.wantDir)
			}
			if img.Image.String() != tt.wantImage {
				t.Errorf("Image = %q, want %q", img.Image.String(), tt.wantImage)
			}
		})
	}
}

func TestRegistryImageDefaultsToCIRegistryImage(t *testing.T) {
	t.Parallel()
	var r Registries
	if ps := load(t, map[string]string{"CI_REGISTRY_IMAGE": "registry.gitlab.example/group/web", "BG_REGISTRY_IMAGE": ""}, &r); ps != nil {
		t.Fatalf("problems: %v", ps)
	}
	if got := r.RegistryImage.String(); got != "registry.gitlab.example/group/web" {
		t.Errorf("RegistryImage = %q", got)
	}
}

func TestValidationRules(t *testing.T) {
	t.Parallel()
	base := map[string]string{"AWS_REGION": "eu-west-1", "BG_CLUSTER": "prod", "BG_SERVICE": "web"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantVars []string
		wantText string
	}{
		{name: "valid", env: base},
		{name: "default_region_is_enough", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", "us-east-1")},
		{name: "no_region", env: with("AWS_REGION", ""), wantVars: []string{"AWS_REGION"}, wantText: "AWS_DEFAULT_REGION"},
		{name: "bad_region", env: with("AWS_REGION", "Europe"), wantVars: []string{"AWS_REGION"}, wantText: `"Europe"`},
		{name: "bad_default_region", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", "x"), wantVars: []string{"AWS_DEFAULT_REGION"}},
		{name: "role_without_token", env: with("BG_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/deploy"), wantVars: []string{"BG_ID_TOKEN"}, wantText: "id_tokens"},
		{name: "token_without_role_is_ignored", env: with("BG_ID_TOKEN", "eyJhbGciOi.secret-token-value")},
		{name: "role_and_token", env: with("BG_AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/deploy", "BG_ID_TOKEN", "eyJhbGciOi.secret-token-value")},
		{name: "malformed_role_arn", env: with("BG_AWS_ROLE_ARN", "deploy-role", "BG_ID_TOKEN", "eyJhbGciOi.secret-token-value"), wantVars: []string{"BG_AWS_ROLE_ARN"}, wantText: "not an ARN"},
		{name: "role_arn_not_a_role", env: with("BG_AWS_ROLE_ARN", "arn:aws:iam::123456789012:user/bob", "BG_ID_TOKEN", "eyJhbGciOi.secret-token-value"), wantVars: []string{"BG_AWS_ROLE_ARN"}, wantText: "IAM role"},
		{name: "arn_bad_account", env: with("BG_AWS_ROLE_ARN", "arn:aws:iam::12:role/x", "BG_ID_TOKEN", "eyJhbGciOi.secret-token-value"), wantVars: []string{"BG_AWS_ROLE_ARN"}, wantText: "12 digits"},
		{name: "no_cluster", env: with("BG_CLUSTER", ""), wantVars: []string{"BG_CLUSTER"}},
		{name: "no_service", env: with("BG_SERVICE", ""), wantVars: []string{"BG_SERVICE"}, wantText: "BG_BLUE_SERVICE"},
		{name: "bad_mode", env: with("BG_MODE", "rolling"), wantVars: []string{"BG_MODE"}, wantText: "auto, codedeploy, listener, ecs"},
		{name: "listener_model_needs_both_colours_and_listener", env: with("BG_SERVICE", "", "BG_MODE", "listener"), wantVars: []string{"BG_BLUE_SERVICE", "BG_GREEN_SERVICE", "BG_LISTENER_ARN"}},
		{name: "listener_model_complete", env: with("BG_SERVICE", "", "BG_BLUE_SERVICE", "web-blue", "BG_GREEN_SERVICE", "web-green", "BG_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2")},
		{name: "test_route_is_production", env: with("BG_SERVICE", "", "BG_BLUE_SERVICE", "web-blue", "BG_GREEN_SERVICE", "web-green", "BG_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2", "BG_TEST_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2"), wantVars: []string{"BG_TEST_LISTENER_ARN"}},
		{name: "same_colour_twice", env: with("BG_BLUE_SERVICE", "web", "BG_GREEN_SERVICE", "web", "BG_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2"), wantVars: []string{"BG_GREEN_SERVICE"}},
		{name: "colours_contradict_mode", env: with("BG_MODE", "codedeploy", "BG_BLUE_SERVICE", "a", "BG_GREEN_SERVICE", "b", "BG_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/alb/1/2"), wantVars: []string{"BG_MODE"}},
		{name: "listener_arn_wrong_service", env: with("BG_TEST_LISTENER_ARN", "arn:aws:ecs:eu-west-1:123456789012:service/x"), wantVars: []string{"BG_TEST_LISTENER_ARN"}},
		{name: "listener_rule_arn_ok", env: with("BG_TEST_LISTENER_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/alb/1/2/3")},
		{name: "group_without_application", env: with("BG_CODEDEPLOY_DEPLOYMENT_GROUP", "dg"), wantVars: []string{"BG_CODEDEPLOY_APPLICATION"}},
		{name: "bad_duration", env: with("BG_TIMEOUT", "5 minutes"), wantVars: []string{"BG_TIMEOUT"}, wantText: "1h30m"},
		{name: "negative_duration", env: with("BG_TIMEOUT", "-5m"), wantVars: []string{"BG_TIMEOUT"}, wantText: "negative"},
		{name: "bad_timeout_action", env: with("BG_ON_TIMEOUT", "panic"), wantVars: []string{"BG_ON_TIMEOUT"}, wantText: "leave, rollback, stop"},
		{name: "bad_url_scheme", env: with("BG_TEST_URL", "ftp://alb.example/health"), wantVars: []string{"BG_TEST_URL"}, wantText: "http://"},
		{name: "relative_url", env: with("BG_PROD_URL", "/health"), wantVars: []string{"BG_PROD_URL"}, wantText: "absolute"},
		{name: "bad_port", env: with("BG_CONTAINER_PORT", "80000"), wantVars: []string{"BG_CONTAINER_PORT"}, wantText: "65535"},
		{name: "bad_image", env: with("BG_IMAGE", "Not A Ref!"), wantVars: []string{"BG_IMAGE"}, wantText: "image reference"},
		{name: "bad_registry_image", env: with("BG_REGISTRY_IMAGE", "r.example/x:tag"), wantVars: []string{"BG_REGISTRY_IMAGE"}, wantText: "without tag"},
		{name: "bad_smoke_status", env: with("BG_SMOKE_STATUS", "ok"), wantVars: []string{"BG_SMOKE_STATUS"}, wantText: "2xx"},
		{name: "smoke_status_out_of_range", env: with("BG_SMOKE_STATUS", "200,700"), wantVars: []string{"BG_SMOKE_STATUS"}},
		{name: "bad_smoke_body", env: with("BG_SMOKE_BODY", "ok("), wantVars: []string{"BG_SMOKE_BODY"}, wantText: "RE2"},
		{name: "zero_successes", env: with("BG_SMOKE_SUCCESSES", "0"), wantVars: []string{"BG_SMOKE_SUCCESSES"}},
		{name: "non_numeric_failures", env: with("BG_SMOKE_MAX_FAILURES", "many"), wantVars: []string{"BG_SMOKE_MAX_FAILURES"}, wantText: "whole number"},
		{name: "zero_interval", env: with("BG_SMOKE_INTERVAL", "0s"), wantVars: []string{"BG_SMOKE_INTERVAL"}},
		{name: "zero_smoke_timeout", env: with("BG_SMOKE_TIMEOUT", "0s"), wantVars: []string{"BG_SMOKE_TIMEOUT"}},
		{name: "bad_deployment_id", env: with("BG_DEPLOYMENT_ID", "d-123"), wantVars: []string{"BG_DEPLOYMENT_ID"}, wantText: "d-A1B2C3D4E"},
		{name: "good_deployment_id", env: with("BG_DEPLOYMENT_ID", "d-A1B2C3D4E")},
		{name: "service_deployment_arn", env: with("BG_DEPLOYMENT_ID", "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/orders/2GV1H7T1X3ZYEVXT4XP5N")},
		{name: "bad_service_deployment_arn", env: with("BG_DEPLOYMENT_ID", "arn:aws:ecs:eu-west-1:123456789012:service/prod/orders"), wantVars: []string{"BG_DEPLOYMENT_ID"}, wantText: "ECS service deployment ARN"},
		{name: "bad_promote", env: with("BG_PROMOTE", "yes"), wantVars: []string{"BG_PROMOTE"}, wantText: "auto, manual"},
		{name: "bad_wait_for", env: with("BG_WAIT_FOR", "forever"), wantVars: []string{"BG_WAIT_FOR"}},
		{name: "bad_on_busy", env: with("BG_ON_BUSY", "queue"), wantVars: []string{"BG_ON_BUSY"}},
		{name: "bad_on_interrupt", env: with("BG_ON_INTERRUPT", "ignore"), wantVars: []string{"BG_ON_INTERRUPT"}},
		{name: "bad_log_level", env: with("BG_LOG_LEVEL", "loud"), wantVars: []string{"BG_LOG_LEVEL"}},
		{name: "everything_missing_at_once", env: map[string]string{"BG_IMAGE": ""}, wantVars: []string{"AWS_REGION", "BG_CLUSTER", "BG_SERVICE", "BG_IMAGE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env
			if _, ok := env["BG_IMAGE"]; !ok {
				env["BG_IMAGE"] = "registry.example/web:1"
			}
			targets := []any{&AWS{}, &Target{}, &CodeDeploy{}, &Render{}, &Image{}, &Registries{}, &Checks{}, &Deployment{}, &Watch{}, &Output{}, &Log{}}
			got := load(t, env, targets...)
			if diff := cmp.Diff(tt.wantVars, vars(got)); diff != "" {
				t.Fatalf("problems (-want +got):\n%s\nall: %v", diff, got)
			}
			if tt.wantText != "" {
				err := &Error{Problems: got}
				if !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("error %q does not mention %q", err.Error(), tt.wantText)
				}
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJSUzI1NiJ9.very-secret-payload"
	a := AWS{IDToken: token}
	if strings.Contains(a.IDToken.String(), "secret") {
		t.Errorf("Secret.String() leaks the value: %q", a.IDToken.String())
	}
	// A bad role next to a good token: the error names the role, never the token.
	ps := load(t, map[string]string{"AWS_REGION": "eu-west-1", "BG_AWS_ROLE_ARN": "nope", "BG_ID_TOKEN": token}, &AWS{})
	if err := (&Error{Problems: ps}); strings.Contains(err.Error(), "very-secret") {
		t.Errorf("error leaks the token: %v", err)
	}
}

func TestSecretDecodeErrorHidesValue(t *testing.T) {
	t.Parallel()
	type secretPort struct {
		P Port `env:"BG_SECRET_PORT" secret:"true"`
	}
	ps := load(t, map[string]string{"BG_SECRET_PORT": "hunter2-is-my-password"}, &secretPort{})
	if len(ps) != 1 || ps[0].Value != "" || strings.Contains(ps[0].String(), "hunter2") {
		t.Errorf("problem for a secret shows its value: %+v", ps)
	}
}

func TestTypedValues(t *testing.T) {
	t.Parallel()
	var w Watch
	var c Checks
	var r Render
	var a AWS
	ps := load(t, map[string]string{
		"AWS_REGION": "eu-west-1", "BG_TIMEOUT": "1h30m", "BG_ON_TIMEOUT": "rollback",
		"BG_TEST_URL": "http://user:pw@alb.example:8080/health", "BG_CONTAINER_PORT": "8080",
		"BG_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/deploy", "BG_ID_TOKEN": "abcdefghijkl",
	}, &w, &c, &r, &a)
	if ps != nil {
		t.Fatalf("problems: %v", ps)
	}
	if w.Timeout != 90*time.Minute || w.OnTimeout != TimeoutRollback {
		t.Errorf("Watch = %+v", w)
	}
	if c.TestURL.Host != "alb.example:8080" || strings.Contains(c.TestURL.String(), "pw") {
		t.Errorf("TestURL = %q (host %q): want host kept and password redacted", c.TestURL.String(), c.TestURL.Host)
	}
	if r.ContainerPort != 8080 || r.TaskdefFile != "taskdef.json" || r.AppspecFile != "appspec.yml" {
		t.Errorf("Render = %+v", r)
	}
	if a.RoleARN.Account != "123456789012" || a.RoleARN.Resource != "role/deploy" || a.RoleARN.String() != "arn:aws:iam::123456789012:role/deploy" {
		t.Errorf("RoleARN = %+v", a.RoleARN)
	}
	if a.IDToken.Value() != "abcdefghijkl" {
		t.Errorf("IDToken.Value() = %q", a.IDToken.Value())
	}
}

func TestUnknown(t *testing.T) {
	t.Parallel()
	got := Unknown([]string{"BG_SERIVCE=web", "BG_CLUSTER=prod", "PATH=/bin", "BG_TOTALLY_DIFFERENT_THING=1", "CI_JOB_ID=1"})
	want := []Problem{
		{Var: "BG_SERIVCE", Message: "is not a setting of ecs-bluegreen: did you mean BG_SERVICE?"},
		{Var: "BG_TOTALLY_DIFFERENT_THING", Message: "is not a setting of ecs-bluegreen (see `ecs-bluegreen env`)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unknown() (-want +got):\n%s", diff)
	}
}

func TestReferenceIsComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range Reference() {
		if seen[s.Var] {
			t.Errorf("%s is described twice", s.Var)
		}
		seen[s.Var] = true
		if s.Description == "" {
			t.Errorf("%s has no description", s.Var)
		}
		// Our settings are BG_*; the standard AWS_* and GitLab CI_* ones are read too.
		if !strings.HasPrefix(s.Var, "BG_") && !strings.HasPrefix(s.Var, "AWS_") && !strings.HasPrefix(s.Var, "CI_") {
			t.Errorf("%s has none of the BG_, AWS_ and CI_ prefixes", s.Var)
		}
	}
	// The issue fixes these names; later checks (templates, docs) depend on them.
	for _, name := range []string{
		"BG_CLUSTER", "BG_SERVICE", "BG_CODEDEPLOY_APPLICATION", "BG_CODEDEPLOY_DEPLOYMENT_GROUP",
		"BG_DEPLOYMENT_CONFIG", "BG_TASKDEF_FILE", "BG_APPSPEC_FILE", "BG_CONTAINER_NAME",
		"BG_CONTAINER_PORT", "BG_IMAGE", "BG_REGISTRY_IMAGE", "BG_ECR_REPOSITORY", "BG_TEST_URL",
		"BG_PROD_URL", "BG_OUTPUT_DIR", "BG_TIMEOUT", "BG_MODE", "BG_AWS_ROLE_ARN", "BG_ID_TOKEN",
		"BG_BLUE_SERVICE", "BG_GREEN_SERVICE", "BG_LISTENER_ARN", "BG_TEST_LISTENER_ARN",
	} {
		if !seen[name] {
			t.Errorf("%s is missing from the reference", name)
		}
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"BG_SERIVCE", "BG_SERVICE", 2}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestStatusSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec   string
		pass   []int
		reject []int
	}{
		{spec: "", pass: []int{200}, reject: []int{204, 500}},
		{spec: "200", pass: []int{200}, reject: []int{201, 301}},
		{spec: "200,204", pass: []int{200, 204}, reject: []int{201}},
		{spec: "2xx, 301", pass: []int{200, 201, 299, 301}, reject: []int{302, 404, 503}},
		{spec: "5XX", pass: []int{500, 503}, reject: []int{200}},
	}
	for _, tt := range tests {
		var s StatusSet
		if err := s.EnvDecode(tt.spec); err != nil {
			t.Fatalf("EnvDecode(%q): %v", tt.spec, err)
		}
		for _, c := range tt.pass {
			if !s.Contains(c) {
				t.Errorf("%q does not contain %d", tt.spec, c)
			}
		}
		for _, c := range tt.reject {
			if s.Contains(c) {
				t.Errorf("%q contains %d", tt.spec, c)
			}
		}
	}
	for _, bad := range []string{"ok", "6xx", "99", "200,", "xx"} {
		var s StatusSet
		if s.EnvDecode(bad) == nil {
			t.Errorf("EnvDecode(%q) accepted it", bad)
		}
	}
}
