package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/deploy"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/verify"
)

func run(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Env{Environ: environ, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestRun(t *testing.T) {
	t.Parallel()
	full := []string{"AWS_REGION=eu-west-1", "BG_CLUSTER=prod", "BG_SERVICE=web", "BG_IMAGE=registry.example/web:1"}
	tests := []struct {
		name       string
		environ    []string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		notStderr  []string
	}{
		{name: "no_args", wantCode: ExitUsage, wantStderr: []string{"Usage: ecs-bluegreen <command>"}},
		{name: "unknown_command", args: []string{"deplyo"}, wantCode: ExitUsage, wantStderr: []string{`unknown command "deplyo"`, "hint:"}},
		{name: "help_lists_every_command", args: []string{"help"}, wantStdout: []string{"build", "release", "render", "deploy", "promote", "rollback", "finish", "switch", "status", "verify", "cleanup", "sandbox", "version", "env", "help"}},
		{name: "help_flag", args: []string{"--help"}, wantStdout: []string{"Commands:"}},
		{name: "help_command", args: []string{"help", "deploy"}, wantStdout: []string{"Usage: ecs-bluegreen deploy", "BG_CLUSTER", "BG_TASKDEF_FILE", "default taskdef.json", "BG_IMAGE", "(required)"}},
		{name: "command_help_flag", args: []string{"switch", "--help"}, wantStdout: []string{"switch [--to blue|green]", "BG_LISTENER_ARN"}},
		{name: "help_unknown", args: []string{"help", "nope"}, wantCode: ExitUsage, wantStderr: []string{`unknown command "nope"`}},
		{name: "version", args: []string{"version"}, wantStdout: []string{"ecs-bluegreen ", "commit ", "go1."}},
		{name: "version_json", args: []string{"version", "--json"}, wantStdout: []string{`"goVersion": "go1.`}},
		{
			name: "deploy_with_nothing_set_names_every_missing_variable", args: []string{"deploy"}, wantCode: ExitUsage,
			wantStderr: []string{"4 settings need attention", "AWS_REGION", "BG_CLUSTER", "BG_SERVICE", "BG_IMAGE", "hint:"},
		},
		{
			name: "empty_values_count_as_unset", args: []string{"deploy"}, environ: []string{"AWS_REGION=", "BG_CLUSTER=", "BG_SERVICE=", "BG_IMAGE="},
			wantCode: ExitUsage, wantStderr: []string{"AWS_REGION", "BG_CLUSTER", "BG_SERVICE", "BG_IMAGE"},
		},
		{
			name: "malformed_values_named", args: []string{"deploy"}, wantCode: ExitUsage,
			environ:    append([]string{"BG_TIMEOUT=soon", "BG_TEST_URL=alb:8080", "BG_AWS_ROLE_ARN=role/deploy", "BG_ID_TOKEN=super-secret-jwt-value"}, full...),
			wantStderr: []string{"BG_TIMEOUT is not a duration", `"soon"`, "BG_TEST_URL", "BG_AWS_ROLE_ARN is not an ARN"},
			notStderr:  []string{"super-secret-jwt-value"},
		},
		{
			name: "unknown_bg_variable_is_an_error", args: []string{"deploy"}, wantCode: ExitUsage,
			environ:    append([]string{"BG_CLUSTR=prod"}, full...),
			wantStderr: []string{"BG_CLUSTR is not a setting of ecs-bluegreen: did you mean BG_CLUSTER?"},
		},
		{
			name: "switch_needs_the_listener_model", args: []string{"switch"}, environ: full, wantCode: ExitUsage,
			wantStderr: []string{"switch moves production between two services", "promote moves production traffic"},
		},
		{
			name: "env_lists_settings", args: []string{"env"}, environ: []string{"BG_CLUSTER=prod", "BG_ID_TOKEN=super-secret-jwt-value"},
			wantStdout: []string{"BG_CLUSTER", `"prod"`, "BG_ID_TOKEN", "(set, secret)", "BG_OUTPUT_DIR", "(unset)", "default .ecs-bluegreen"},
		},
		{name: "env_markdown", args: []string{"env", "--markdown"}, wantStdout: []string{"| `BG_CLUSTER` |", "| `BG_TASKDEF_FILE` | `taskdef.json` |"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tt.environ, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, stdout)
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			for _, bad := range tt.notStderr {
				if strings.Contains(stderr+stdout, bad) {
					t.Errorf("output contains %q:\n%s%s", bad, stdout, stderr)
				}
			}
		})
	}
}

func TestEveryCommandIsDocumented(t *testing.T) {
	t.Parallel()
	// DESIGN §3 lists these; the component templates call them by name.
	for _, name := range []string{"build", "release", "render", "deploy", "promote", "rollback", "finish", "switch", "status", "verify", "cleanup", "sandbox", "version", "help", "env"} {
		c := lookup(name)
		if c == nil {
			t.Errorf("command %q is not registered", name)
			continue
		}
		if c.summary == "" {
			t.Errorf("command %q has no summary", name)
		}
	}
}

func TestReportExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{name: "nil", err: nil, want: ExitOK},
		{name: "sigint", err: Interrupted{Signal: os.Interrupt}, want: 130},
		{name: "sigterm", err: Interrupted{Signal: syscall.SIGTERM}, want: 143},
		{name: "usage", err: &usageError{msg: "x"}, want: ExitUsage},
		{name: "other", err: os.ErrNotExist, want: ExitFailed},
		{name: "service_not_found", err: &deploy.ResolveError{Msg: "x", Hint: "y"}, want: ExitUsage},
		{name: "rolled_back", err: &deploy.DeploymentError{ID: "d-A1B2C3D4E", Status: "Stopped", RollbackID: "d-B1B2C3D4E", RollbackStatus: "Succeeded"}, want: ExitFailed},
		{name: "timeout", err: &deploy.TimeoutError{ID: "d-A1B2C3D4E"}, want: ExitTimeout},
		{name: "verify_failed", err: &verify.FailedError{}, want: ExitVerify},
		{name: "busy", err: &deploy.BusyError{DeploymentID: "d-A1B2C3D4E"}, want: ExitFailed},
		{name: "interrupted_while_deploying", err: &deploy.InterruptedError{ID: "d-A1B2C3D4E", Cause: Interrupted{Signal: syscall.SIGTERM}, Applied: "rollback"}, want: 143},
		{name: "switch_refused", err: &deploy.SwitchError{Msg: "refusing", Err: errors.New("no healthy targets")}, want: ExitFailed},
		{name: "switch_undone_by_a_signal", err: &deploy.SwitchError{Msg: "sent back", Err: Interrupted{Signal: syscall.SIGTERM}, Returned: true}, want: 143},
		{name: "wrapped_timeout", err: fmt.Errorf("deploying web: %w", &deploy.TimeoutError{ID: "d-A1B2C3D4E"}), want: ExitTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := exitCode(&bytes.Buffer{}, tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestReportExitCodes_explain: the lines under the error come from the
// error itself, and errors.As sees through a SwitchError to its cause.
func TestReportExitCodes_explain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{name: "resolve", err: &deploy.ResolveError{Msg: "ECS service web not found", Hint: "check BG_SERVICE"}, want: []string{"error: ECS service web not found", "hint: check BG_SERVICE"}},
		{name: "deployment", err: &deploy.DeploymentError{ID: "d-A1B2C3D4E", Status: "Failed", Details: []string{"task stopped"}, ConsoleURL: "https://console"}, want: []string{"  - task stopped", "see: https://console"}},
		{name: "busy", err: &deploy.BusyError{DeploymentID: "d-A1B2C3D4E"}, want: []string{"hint: set BG_ON_BUSY=wait"}},
		{name: "usage", err: &usageError{msg: "bad", hint: "fix it"}, want: []string{"error: bad", "hint: fix it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			exitCode(&b, tt.err)
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
	smoke := &verify.SmokeError{Reason: "3 requests in a row failed"}
	var got *verify.SmokeError
	if !errors.As(&deploy.SwitchError{Msg: "refusing", Err: fmt.Errorf("gate: %w", smoke)}, &got) || got != smoke {
		t.Error("errors.As does not see the SmokeError inside a SwitchError")
	}
}

var update = flag.Bool("update", false, "rewrite golden files and the README settings table")

func TestReadmeSettingsMatchEnv(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("reading README: %v", err)
	}
	const begin, end = "<!-- BEGIN settings (generated by `ecs-bluegreen env --markdown`) -->\n", "<!-- END settings -->"
	text := string(readme)
	i, j := strings.Index(text, begin), strings.Index(text, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no settings section between %q and %q", begin, end)
	}
	got, want := text[i+len(begin):j], MarkdownReference()
	if *update {
		if err := os.WriteFile("../../README.md", []byte(text[:i+len(begin)]+want+text[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("README settings section is out of date: run\n  go test ./internal/app -run TestReadmeSettingsMatchEnv -update\nWant:\n%s", want)
	}
}

func TestOutputIsMasked(t *testing.T) {
	t.Parallel()
	const token = "eyJhbGciOiJSUzI1NiJ9.the-id-token"
	var out, errb bytes.Buffer
	env, flush := masked(Env{Environ: []string{"BG_ID_TOKEN=" + token, "CI_JOB_TOKEN=glcbt-64_job_token_value"}, Stdout: &out, Stderr: &errb})
	fmt.Fprintf(env.Stderr, "error: calling with %s and glcbt-64_job_token_value\n", token)
	fmt.Fprintf(env.Stdout, "partial %s", token[:10])
	fmt.Fprintf(env.Stdout, "%s done", token[10:])
	flush()
	if strings.Contains(out.String()+errb.String(), "the-id-token") || strings.Contains(errb.String(), "job_token_value") {
		t.Errorf("secret in output: %q / %q", out.String(), errb.String())
	}
	if !strings.Contains(errb.String(), "[MASKED]") || out.String() != "partial [MASKED] done" {
		t.Errorf("output = %q / %q", out.String(), errb.String())
	}
}

// TestSettingsCoverEveryFamily: every config family a command can read has
// its typed field (settings.set panics on one it does not know).
func TestSettingsCoverEveryFamily(t *testing.T) {
	t.Parallel()
	var s settings
	for _, f := range config.Families() {
		if f.Name == "development" { // read by tests only, never by a command
			continue
		}
		s.set(f.New())
	}
	if s.AWS == nil || s.Sandbox == nil || s.Watch == nil {
		t.Errorf("settings after setting every family: %+v", s)
	}
}

// TestOutputsMustBeWritable: a command that changes what is live refuses to
// start (exit 2, nothing changed) when its outputs cannot be written.
func TestOutputsMustBeWritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := dir + "/not-a-folder"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"AWS_REGION=eu-west-1", "BG_CLUSTER=prod", "BG_SERVICE=web", "BG_OUTPUT_DIR=" + file + "/out", "BG_IMAGE=r.example/web@sha256:" + strings.Repeat("a", 64)}
	for _, cmd := range []string{"deploy", "promote", "rollback", "finish"} {
		code, _, stderr := run(t, environ, cmd)
		if code != ExitUsage || !strings.Contains(stderr, "BG_OUTPUT_DIR") || !strings.Contains(stderr, "not-a-folder is a file, so the folder cannot be created") {
			t.Errorf("%s with an unwritable output folder: exit %d\n%s", cmd, code, stderr)
		}
	}
}
