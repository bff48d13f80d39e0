package component

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/app"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// root is the repository root, seen from this package's folder.
const root = "../.."

var templateNames = []string{"deploy", "switch", "verify"}

// shapeInputs are the inputs that shape the pipeline (job names, stages,
// environments, the tool's image, the ID token) instead of setting the tool;
// every other input sets exactly one of the tool's settings.
// output_dir is one of them: the tool's BG_OUTPUT_DIR is output_dir plus the
// job prefix, so two inclusions' artifacts never collide.
var shapeInputs = map[string][]string{
	"deploy": {"build", "build_stage", "deployment_tier", "environment", "id_token_aud", "job_prefix", "job_timeout", "output_dir", "run_on_tags", "stage", "tool_image"},
	"switch": {"build", "build_stage", "deployment_tier", "environment", "id_token_aud", "job_prefix", "job_timeout", "output_dir", "run_on_tags", "stage", "tool_image"},
	"verify": {"cleanup", "environment", "id_token_aud", "job_prefix", "job_timeout", "output_dir", "stage", "tool_image"},
}

// requiredInputs are the inputs without which nothing can work: GitLab
// refuses a pipeline that leaves one out, before any job runs.
var requiredInputs = map[string][]string{
	"deploy": {"cluster", "service"},
	"switch": {"cluster", "blue_service", "green_service", "listener_arn"},
	"verify": {"cluster"},
}

// requiredValues are values for the required inputs, for tests that expand
// a template with everything else left to its default.
var requiredValues = map[string]map[string]any{
	"deploy": {"cluster": "prod", "service": "web"},
	"switch": {"cluster": "prod", "blue_service": "shop-blue", "green_service": "shop-green", "listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/0123456789abcdef/0123456789abcdef"},
	"verify": {"cluster": "prod", "service": "web"},
}

// withRequired is given plus the required inputs given leaves out.
func withRequired(name string, given map[string]any) map[string]any {
	out := maps.Clone(requiredValues[name])
	maps.Copy(out, given)
	return out
}

// aliasVars are job variables that carry an input to a standard variable
// the job's before_script sets only when the input is given: an empty job
// variable of the standard name would hide the user's top-level one.
var aliasVars = map[string]string{"ECS_BLUEGREEN_AWS_REGION": "AWS_REGION"}

// defaultsOnPurpose are inputs whose default differs from the tool's, and why.
var defaultsOnPurpose = map[string]string{
	"registry_image":             "a repository per service keeps two inclusions' candidate, live and previous tags apart",
	"rollback_deployment_config": "the rollback button is the quick way back: all at once",
}

func loadTemplates(t *testing.T) map[string]*Template {
	t.Helper()
	out := map[string]*Template{}
	for _, name := range templateNames {
		tmpl, err := Load(filepath.Join(root, "templates", name+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = tmpl
	}
	return out
}

func settingsByVar() map[string]config.Setting {
	out := map[string]config.Setting{}
	for _, s := range config.Reference() {
		out[s.Var] = s
	}
	return out
}

// TestTemplates_headers checks what GitLab checks lazily or not at all and
// what the catalog page shows: every input described and valid by its own
// rules, every block declared, every declared input used, no block in a
// script.
func TestTemplates_headers(t *testing.T) {
	t.Parallel()
	for name, tmpl := range loadTemplates(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if len(tmpl.Inputs) == 0 {
				t.Fatal("no inputs")
			}
			if len(tmpl.Inputs) > 100 {
				t.Errorf("%d inputs", len(tmpl.Inputs))
			}
			for _, in := range tmpl.Inputs {
				if len(in.Description) < 10 {
					t.Errorf("input %s has no real description", in.Name)
				}
				if in.Mandatory != slices.Contains(requiredInputs[name], in.Name) {
					t.Errorf("input %s: mandatory %v, want it mandatory only if it is one of %v", in.Name, in.Mandatory, requiredInputs[name])
				}
				if in.Mandatory && !strings.Contains(in.Description, "Required.") {
					t.Errorf("input %s is required, and its description should say so", in.Name)
				}
				if len(in.Options) > 50 {
					t.Errorf("input %s has %d options, GitLab allows 50", in.Name, len(in.Options))
				}
				if err := in.Check(in.Default); err != nil && !in.Mandatory {
					t.Errorf("default: %v", err)
				}
			}
			uses, err := tmpl.Blocks()
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]bool{}
			for _, u := range uses {
				switch {
				case strings.HasPrefix(u.Expr, "inputs."):
					n := strings.TrimPrefix(u.Expr, "inputs.")
					used[n] = true
					if _, ok := tmpl.Input(n); !ok {
						t.Errorf("%s at %v is not declared", u.Expr, u.Path)
					}
				case strings.HasPrefix(u.Expr, "component."):
					if !slices.Contains(tmpl.Context, strings.TrimPrefix(u.Expr, "component.")) {
						t.Errorf("%s is not listed in spec:component", u.Expr)
					}
				default:
					t.Errorf("unknown block %q", u.Expr)
				}
				if strings.Contains(u.Expr, "|") {
					t.Errorf("%s uses a function, which gitlab-ci-local ignores", u.Expr)
				}
				for _, k := range u.Path {
					if k == "script" || k == "before_script" || k == "after_script" {
						t.Errorf("%s is interpolated into %v: inputs reach the tool only through variables", u.Expr, u.Path)
					}
				}
			}
			for _, in := range tmpl.Inputs {
				if !used[in.Name] {
					t.Errorf("input %s is declared but never used", in.Name)
				}
			}
		})
	}
}

// TestTemplates_inputsAreSettings checks that each input sets one of the
// tool's settings, with the tool's own default, and that every variable the
// templates set is a setting the tool knows (it refuses unknown BG_ names).
func TestTemplates_inputsAreSettings(t *testing.T) {
	t.Parallel()
	settings := settingsByVar()
	for name, tmpl := range loadTemplates(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fromInput, fixed, err := tmpl.Variables()
			if err != nil {
				t.Fatal(err)
			}
			var shape []string
			for _, in := range tmpl.Inputs {
				// ECS_BLUEGREEN_* variables that are no alias exist for a
				// job's rules; the tool never reads them.
				vars := slices.DeleteFunc(slices.Clone(fromInput[in.Name]), func(v string) bool {
					_, alias := aliasVars[v]
					return strings.HasPrefix(v, "ECS_BLUEGREEN_") && !alias
				})
				switch len(vars) {
				case 0:
					shape = append(shape, in.Name)
					continue
				case 1:
				default:
					t.Errorf("input %s sets %v: one input, one setting", in.Name, vars)
					continue
				}
				v := vars[0]
				if std, ok := aliasVars[v]; ok {
					v = std
				}
				s, ok := settings[v]
				if !ok {
					t.Errorf("input %s sets %s, which is not a setting of ecs-bluegreen", in.Name, vars[0])
					continue
				}
				if s.Secret {
					t.Errorf("input %s sets the secret %s: secrets belong in masked CI/CD variables", in.Name, s.Var)
				}
				want := s.Default
				got := text(in.Default)
				if in.Type == "boolean" && s.Default == "" {
					want = "false"
				}
				if _, onPurpose := defaultsOnPurpose[in.Name]; got != want && !onPurpose && !in.Mandatory {
					t.Errorf("input %s defaults to %q, but %s defaults to %q", in.Name, got, s.Var, want)
				}
				if !strings.Contains(in.Description, "("+s.Var+")") {
					t.Errorf("input %s: the description should name (%s)", in.Name, s.Var)
				}
			}
			sort.Strings(shape)
			if diff := cmp.Diff(shapeInputs[name], shape); diff != "" {
				t.Errorf("inputs that set no setting (-want +got):\n%s", diff)
			}
			for _, v := range fixed {
				if _, ok := settings[v]; !ok && strings.HasPrefix(v, "BG_") {
					t.Errorf("the template sets %s, which is not a setting of ecs-bluegreen", v)
				}
			}
		})
	}
}

// TestTemplates_wrongInputsRejected runs GitLab's input rules over values
// a user could get wrong.
func TestTemplates_wrongInputsRejected(t *testing.T) {
	t.Parallel()
	tmpls := loadTemplates(t)
	tests := []struct {
		name     string
		template string
		inputs   map[string]any
		bare     bool   // only these inputs, not the required ones too
		want     string // in the error; empty: accepted
	}{
		{name: "defaults", template: "deploy", inputs: map[string]any{}},
		{name: "no_service", template: "deploy", inputs: map[string]any{"cluster": "prod"}, bare: true, want: "input service: a value is required"},
		{name: "no_cluster", template: "verify", inputs: map[string]any{"service": "web"}, bare: true, want: "input cluster: a value is required"},
		{name: "no_green", template: "switch", inputs: map[string]any{"cluster": "prod", "blue_service": "a"}, bare: true, want: "input green_service: a value is required"},
		{name: "role_from_variable", template: "deploy", inputs: map[string]any{"aws_role_arn": "$DEPLOY_ROLE_ARN", "environment": "review/$CI_COMMIT_REF_SLUG", "test_url": "${TEST_URL}/health"}},
		{name: "region_from_variable", template: "switch", inputs: map[string]any{"aws_region": "$REGION", "listener_arn": "$LISTENER"}},
		{name: "bad_job_timeout", template: "deploy", inputs: map[string]any{"job_timeout": "long"}, want: "does not match"},
		{name: "bad_tier", template: "switch", inputs: map[string]any{"deployment_tier": "prod"}, want: "not one of the options"},
		{name: "realistic", template: "deploy", inputs: map[string]any{
			"cluster": "prod", "service": "web", "aws_region": "eu-west-1", "aws_role_arn": "arn:aws:iam::123456789012:role/deploy",
			"build": true, "smoke_successes": 2, "promote": "manual", "test_url": "http://alb:8080/", "container_port": "8080",
		}},
		{name: "unknown_input", template: "deploy", inputs: map[string]any{"clustr": "prod"}, want: `unknown input "clustr"`},
		{name: "option_not_offered", template: "deploy", inputs: map[string]any{"promote": "sometimes"}, want: "not one of the options"},
		{name: "number_as_text", template: "deploy", inputs: map[string]any{"smoke_successes": "three"}, want: "not a number"},
		{name: "boolean_as_text", template: "deploy", inputs: map[string]any{"build": "yes"}, want: "not a boolean"},
		{name: "string_as_number", template: "deploy", inputs: map[string]any{"cluster": 5}, want: "not a string"},
		{name: "bad_region", template: "deploy", inputs: map[string]any{"aws_region": "Europe"}, want: "does not match"},
		{name: "bad_role", template: "deploy", inputs: map[string]any{"aws_role_arn": "gitlab-deploy"}, want: "does not match"},
		{name: "bad_tag", template: "deploy", inputs: map[string]any{"live_tag": "-live"}, want: "does not match"},
		{name: "bad_duration", template: "deploy", inputs: map[string]any{"smoke_interval": "2 seconds"}, want: "does not match"},
		{name: "bad_prefix", template: "deploy", inputs: map[string]any{"job_prefix": "Web Deploy"}, want: "does not match"},
		{name: "bad_url", template: "deploy", inputs: map[string]any{"test_url": "alb:8080"}, want: "does not match"},
		{name: "output_dir_escapes", template: "deploy", inputs: map[string]any{"output_dir": "../out"}, want: "does not match"},
		{name: "bad_colour", template: "switch", inputs: map[string]any{"switch_to": "purple"}, want: "does not match"},
		{name: "bad_listener", template: "switch", inputs: map[string]any{"listener_arn": "arn:aws:iam::123456789012:role/x"}, want: "does not match"},
		{name: "switch_realistic", template: "switch", inputs: map[string]any{
			"blue_service": "web-blue", "green_service": "web-green", "switch_steps": "10,50,100", "switch_to": "green",
			"listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/0123456789abcdef",
		}},
		{name: "keep_as_text", template: "verify", inputs: map[string]any{"keep": "ten"}, want: "not a number"},
		{name: "cleanup_as_text", template: "verify", inputs: map[string]any{"cleanup": "no"}, want: "not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			given := tt.inputs
			if !tt.bare {
				given = withRequired(tt.template, given)
			}
			_, err := tmpls[tt.template].Resolve(given)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want %q in it", err, tt.want)
			}
		})
	}
}

// TestTemplates_expand interpolates each template with its defaults, as GitLab
// would for a released version, and checks the jobs it creates.
func TestTemplates_expand(t *testing.T) {
	t.Parallel()
	wantJobs := map[string][]string{
		"deploy": {"ecs-build", "ecs-deploy", "ecs-finish", "ecs-preview", "ecs-promote", "ecs-release", "ecs-rollback"},
		"switch": {"ecs-listener-build", "ecs-listener-chat-switch", "ecs-listener-deploy", "ecs-listener-release", "ecs-listener-switch", "ecs-listener-switch-to-blue", "ecs-listener-switch-to-green"},
		"verify": {"ecs-live-cleanup", "ecs-live-status", "ecs-live-verify"},
	}
	prefix := map[string]string{"deploy": "ecs", "switch": "ecs-listener", "verify": "ecs-live"}
	for name, tmpl := range loadTemplates(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := expandDefaults(t, tmpl, nil)
			var jobs []string
			for k, v := range body {
				if strings.HasPrefix(k, ".") {
					continue
				}
				if _, ok := v.(map[string]any); ok {
					jobs = append(jobs, k)
				}
			}
			sort.Strings(jobs)
			if diff := cmp.Diff(wantJobs[name], jobs); diff != "" {
				t.Errorf("jobs (-want +got):\n%s", diff)
			}
			base := body["."+prefix[name]+"-"+name+"-base"].(map[string]any)
			if got, want := base["image"], "registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:0123456789abcdef0123456789abcdef01234567"; got != want {
				t.Errorf("image %v, want %v", got, want)
			}
			for _, job := range jobs {
				j := resolveExtends(t, body, job)
				env, _ := j["environment"].(map[string]any)
				if env == nil {
					if !strings.HasSuffix(job, "-build") && !strings.HasSuffix(job, "-release") {
						t.Errorf("%s has no environment", job)
					}
					continue
				}
				action := fmt.Sprint(env["action"])
				changesLive := strings.Contains(job, "switch") || strings.HasSuffix(job, "-promote") || strings.HasSuffix(job, "-rollback") ||
					name == "deploy" && strings.HasSuffix(job, "-deploy")
				if changesLive != (action == "start") {
					t.Errorf("%s: environment action %s, but it changes production: %v", job, action, changesLive)
				}
				if changesLive && j["resource_group"] == nil {
					t.Errorf("%s changes production without a resource_group", job)
				}
			}
		})
	}
}

// expandDefaults interpolates tmpl with its defaults plus given and returns the
// body as plain values.
func expandDefaults(t *testing.T, tmpl *Template, given map[string]any) map[string]any {
	t.Helper()
	values, err := tmpl.Resolve(withRequired(tmpl.Name, given))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := tmpl.Expand(values, map[string]any{"version": "1.2.3", "sha": "0123456789abcdef0123456789abcdef01234567", "name": tmpl.Name, "reference": "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := doc.Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

// resolveExtends merges a job with what it extends, as GitLab does: hashes
// merge deeply, everything else the job sets wins.
func resolveExtends(t *testing.T, body map[string]any, job string) map[string]any {
	t.Helper()
	j, ok := body[job].(map[string]any)
	if !ok {
		t.Fatalf("%s is not a job", job)
	}
	parent, ok := j["extends"].(string)
	if !ok {
		return j
	}
	return merge(resolveExtends(t, body, parent), j)
}

func merge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		b, bok := out[k].(map[string]any)
		o, ook := v.(map[string]any)
		if bok && ook {
			out[k] = merge(b, o)
			continue
		}
		out[k] = v
	}
	delete(out, "extends")
	return out
}

// TestTemplates_scripts checks that every job runs one command of the tool
// that exists: the settings come in through variables, so a script has
// nothing else to do (the ChatOps job also shapes its reply).
func TestTemplates_scripts(t *testing.T) {
	t.Parallel()
	for name, tmpl := range loadTemplates(t) {
		body := expandDefaults(t, tmpl, nil)
		for job := range body {
			if strings.HasPrefix(job, ".") {
				continue
			}
			j := resolveExtends(t, body, job)
			script, _ := j["script"].([]any)
			if strings.HasSuffix(job, "-chat-switch") {
				// ChatOps replies with a chat_reply section, which the
				// script prints around the tool's result.
				text := fmt.Sprint(script...)
				if !strings.Contains(text, "ecs-bluegreen switch >") || !strings.Contains(text, ":chat_reply") || !strings.Contains(text, `exit "${code:-0}"`) {
					t.Errorf("%s %s: the chat job must run switch, reply in a chat_reply section and exit with switch's code: %q", name, job, script)
				}
				continue
			}
			if len(script) != 1 {
				t.Errorf("%s %s: script %q, want one command", name, job, script)
				continue
			}
			cmd, ok := script[0].(string)
			fields := strings.Fields(cmd)
			if !ok || len(fields) != 2 || fields[0] != "ecs-bluegreen" {
				t.Errorf("%s %s: %q is not `ecs-bluegreen <command>`", name, job, script[0])
				continue
			}
			if code := app.Run(context.Background(), []string{"help", fields[1]}, app.Env{Stdout: io.Discard, Stderr: io.Discard}); code != 0 {
				t.Errorf("%s %s runs %q, which ecs-bluegreen does not know (help exits %d)", name, job, cmd, code)
			}
		}
	}
}

// TestTemplates_inputNames checks ECS_BLUEGREEN_INPUTS, the map from each
// variable to the input that sets it, which the tool uses to name the input
// in its errors: every variable an input sets is there with that input (a
// variable two inputs set, in different jobs, is left out), and nothing else.
func TestTemplates_inputNames(t *testing.T) {
	t.Parallel()
	for name, tmpl := range loadTemplates(t) {
		fromInput, _, err := tmpl.Variables()
		if err != nil {
			t.Fatal(err)
		}
		byVar := map[string][]string{}
		for in, vars := range fromInput {
			for _, v := range vars {
				if std, ok := aliasVars[v]; ok {
					v = std
				} else if strings.HasPrefix(v, "ECS_BLUEGREEN_") {
					continue
				}
				byVar[v] = append(byVar[v], in)
			}
		}
		want := []string{"BG_OUTPUT_DIR=output_dir", "CI_JOB_TIMEOUT=job_timeout"}
		for v, ins := range byVar {
			if len(ins) == 1 {
				want = append(want, v+"="+ins[0])
			}
		}
		sort.Strings(want)
		body := expandDefaults(t, tmpl, nil)
		var got []string
		for job, j := range body {
			if !strings.HasPrefix(job, ".") {
				continue
			}
			vars, _ := j.(map[string]any)["variables"].(map[string]any)
			got = strings.Split(fmt.Sprint(vars["ECS_BLUEGREEN_INPUTS"]), ",")
		}
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: ECS_BLUEGREEN_INPUTS (-want +got):\n%s\nwant it to be %s", name, diff, strings.Join(want, ","))
		}
	}
}
