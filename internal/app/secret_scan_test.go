package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"html/template"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// Secrets as a job can hold them, each with characters that escape a naive
// mask once quoted, JSON-encoded, URL-encoded or HTML-escaped.
var scanSecrets = map[string]string{
	"CI_JOB_TOKEN":          `glcbt-64_"job\token/with+odd=chars`,
	"CI_JOB_JWT_V2":         "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcm9qZWN0X3BhdGg6ZyJ9.c2lnbmF0dXJlX3Zh",
	"BG_ID_TOKEN":           "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dpdGxhYiJ9.aWQtdG9rZW4tc2ln",
	"AWS_SECRET_ACCESS_KEY": `wJalr"XUtn\FEMI/K7MDENG+bPxRfiCY`,
	"MY_API_TOKEN":          `tok"en\with<html>&stuff`,
	"DB_PASSWORD":           `p@ss"w0rd\%20x`,
}

func scanEnv() []string {
	env := []string{"DATABASE_URL=postgres://app:" + scanSecrets["DB_PASSWORD"] + "@db.internal/app"}
	for k, v := range scanSecrets {
		env = append(env, k+"="+v)
	}
	return env
}

// TestNoSecretInAnyLogOrArtifact runs every command of both models with
// secrets in the environment, then the runs that put secrets in harm's way
// (a setting whose value is a secret, BG_TASKDEF_SUBSTITUTE naming secrets,
// env), and scans every log line and every file left in the output folder
// for each secret in each encoding the output could give it.
func TestNoSecretInAnyLogOrArtifact(t *testing.T) {
	t.Parallel()
	runs := everyCommand(t, scanEnv())
	// The sandbox's registry password is a secret too.
	secrets := map[string]string{"CI_REGISTRY_PASSWORD": "sandbox-job-token"}
	for k, v := range scanSecrets {
		secrets[k] = v
	}

	// Runs that tempt a leak: each must refuse, naming the variable only.
	dir := t.TempDir()
	taskdef := filepath.Join(dir, "taskdef.json")
	if err := os.WriteFile(taskdef, []byte(`{"family":"web","containerDefinitions":[{"name":"web","image":"<IMAGE1_NAME>","essential":true,`+
		`"environment":[{"name":"TOKEN","value":"${CI_JOB_TOKEN}"},{"name":"API","value":"${MY_API_TOKEN}"},{"name":"DB","value":"${DATABASE_URL}"},{"name":"ID","value":"${CI_JOB_JWT_V2}"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing here may reach AWS: the endpoint is a closed port.
	base := append([]string{"AWS_ENDPOINT_URL=http://127.0.0.1:9", "AWS_ACCESS_KEY_ID=AKID", "AWS_REGION=eu-west-1", "BG_CLUSTER=prod", "BG_SERVICE=web", "BG_OUTPUT_DIR=" + runs.outDir, "BG_IMAGE=registry.example/web@sha256:" + strings.Repeat("a", 64)}, scanEnv()...)
	for _, tt := range []struct {
		name     string
		args     []string
		env      []string
		wantCode int
		want     []string
	}{
		{
			name: "substitute_secrets", args: []string{"render"}, env: []string{"BG_CLUSTER=", "BG_TASKDEF_FILE=" + taskdef, "BG_TASKDEF_SUBSTITUTE=true", "BG_APPSPEC_FILE=" + filepath.Join(dir, "none.yml")},
			wantCode: ExitUsage, want: []string{"${CI_JOB_TOKEN}", "${MY_API_TOKEN}", "${DATABASE_URL}", "${CI_JOB_JWT_V2}", "valueFrom", "Secrets Manager", "SSM Parameter Store"},
		},
		{name: "secret_as_a_bad_setting", args: []string{"verify"}, env: []string{"BG_SMOKE_STATUS=" + scanSecrets["CI_JOB_TOKEN"], "BG_SMOKE_TIMEOUT=" + scanSecrets["MY_API_TOKEN"]}, wantCode: ExitUsage, want: []string{"BG_SMOKE_STATUS", "BG_SMOKE_TIMEOUT", gitlab.Masked}},
		{name: "secret_in_an_unknown_variable", args: []string{"status"}, env: []string{"BG_SMOKE_STATU=" + scanSecrets["MY_API_TOKEN"]}, wantCode: ExitUsage, want: []string{"BG_SMOKE_STATU"}},
		{name: "env", args: []string{"env"}, env: []string{"BG_SMOKE_HOST=" + scanSecrets["MY_API_TOKEN"]}, wantCode: ExitOK}, // env shows values Go-quoted
		{name: "env_markdown", args: []string{"env", "--markdown"}, wantCode: ExitOK},
		{name: "help", args: []string{"help", "deploy"}, wantCode: ExitOK},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code := Run(ctx, tt.args, Env{Environ: append(append([]string{}, base...), tt.env...), Stdout: &out, Stderr: &errb})
		cancel()
		if code != tt.wantCode {
			t.Errorf("%s: exit %d, want %d\n%s", tt.name, code, tt.wantCode, errb.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%s: the error does not say %q:\n%s", tt.name, w, errb.String())
			}
		}
		runs.outputs[tt.name+" stdout"], runs.outputs[tt.name+" stderr"] = out.String(), errb.String()
		t.Logf("%s: exit %d: %s", tt.name, code, strings.SplitN(errb.String(), "\n", 2)[0])
	}

	// Every file the runs left behind.
	err := filepath.WalkDir(runs.outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		runs.outputs[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	leaks, scanned := 0, 0
	for where, text := range runs.outputs {
		scanned += len(text)
		for name, value := range secrets {
			for _, form := range encodings(value) {
				if strings.Contains(text, form) {
					leaks++
					t.Errorf("%s shows %s (as %q)", where, name, form)
				}
			}
		}
	}
	t.Logf("scanned %d logs and artifacts (%d bytes) for %d secrets in every encoding: %d leaks", len(runs.outputs), scanned, len(secrets), leaks)
	if len(runs.outputs) < 40 {
		t.Errorf("only %d logs and artifacts: the commands did not run", len(runs.outputs))
	}
}

// encodings are the forms a value takes in output, listed here rather than
// taken from the masker, so the scan checks the masker instead of trusting it.
func encodings(v string) []string {
	unquote := func(s string) string { return s[1 : len(s)-1] }
	js, _ := json.Marshal(v)
	var noHTML bytes.Buffer
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return []string{
		v, unquote(strconv.Quote(v)), unquote(strconv.QuoteToASCII(v)), unquote(string(js)), unquote(strings.TrimSpace(noHTML.String())),
		url.QueryEscape(v), url.PathEscape(v), html.EscapeString(v), template.HTMLEscapeString(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		// v inside a registry auth (user:password), base64-encoded.
		base64.StdEncoding.EncodeToString([]byte("gitlab-ci-token:" + v))[24:36],
	}
}
