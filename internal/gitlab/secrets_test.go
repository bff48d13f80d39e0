package gitlab

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindSecrets(t *testing.T) {
	t.Parallel()
	const jobToken = "glcbt-64_abcdefghijklmnop"
	environ := []string{
		"CI_JOB_TOKEN=" + jobToken,
		"CI_REGISTRY_PASSWORD=registry-pass-1",
		"CI_JOB_JWT_V2=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
		"CI_REPOSITORY_URL=https://gitlab-ci-token:" + jobToken + "@gitlab.example.com/g/web.git",
		"MY_ID_TOKEN_NAME_IS_FREE=eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln", // id_tokens under any name, by value
		"DB_PASSWORD=hunter2hunter2",
		"STRIPE_API_KEY=sk_live_1234567890",
		"deploy_token=lowercase-name-too",
		"SOME_VALUE=glpat-abcdefghijklmnopqrst", // GitLab token prefix
		"CUSTOM=myco-tok-1234567890abcdef",      // CI_TOKEN_MASK_PREFIXES
		"CI_TOKEN_MASK_PREFIXES=myco-tok-,x",
		"DSN=postgres://app:hunter2hunter2@db/app", // embeds another secret
		"KEY_PEM=-----BEGIN RSA PRIVATE KEY-----abc",
		"BG_JOB_TOKEN=", // empty: named, no value
		// Not secrets: pointers to secrets, public ids, ordinary settings.
		"AWS_ACCESS_KEY_ID=AKIAEXAMPLE123", "SSH_AUTH_SOCK=/tmp/agent.1", "TOKEN_FILE=/run/token",
		"BG_CLUSTER=prod", "CI_COMMIT_AUTHOR=A <a@example.com>", "CI_PROJECT_PATH=g/web", "HOME=/root",
		"BG_AWS_ROLE_ARN=arn:aws:iam::1:role/x", "CI_REGISTRY_USER=gitlab-ci-token", "AUTH_URL=https://auth.example.com/token",
	}
	s := FindSecrets(environ, "MY_SETTING")
	want := []string{
		"BG_JOB_TOKEN", "CI_JOB_JWT_V2", "CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_REPOSITORY_URL", "CUSTOM", "DB_PASSWORD", "DSN",
		"KEY_PEM", "MY_ID_TOKEN_NAME_IS_FREE", "SOME_VALUE", "STRIPE_API_KEY", "deploy_token",
	}
	if diff := cmp.Diff(want, s.Names()); diff != "" {
		t.Errorf("secret variables (-want +got):\n%s", diff)
	}
	for _, v := range s.Values() {
		if v == "" || v == "prod" {
			t.Errorf("value %q listed as a secret", v)
		}
	}
	if s.Why("DSN") != "its value contains DB_PASSWORD" {
		t.Errorf("Why(DSN) = %q", s.Why("DSN"))
	}
}

// taskDef stands in for render.TaskDef.Substitute: it substitutes ${VAR} in
// one string, as the real one does in every string of the file.
func substituteInto(text *string) func(func(string) (string, bool)) error {
	return func(lookup func(string) (string, bool)) error {
		var errs []error
		for {
			i := strings.Index(*text, "${")
			if i < 0 {
				return errors.Join(errs...)
			}
			j := strings.Index((*text)[i:], "}") + i
			name := (*text)[i+2 : j]
			v, ok := lookup(name)
			if !ok {
				errs = append(errs, fmt.Errorf("${%s} is not set", name))
				v = ""
			}
			*text = (*text)[:i] + v + (*text)[j+1:]
		}
	}
}

func TestSubstituteRefusesSecrets(t *testing.T) {
	t.Parallel()
	environ := []string{"CI_JOB_TOKEN=glcbt-64_abcdefghijklmnop", "API_TOKEN=t0ps3cret-value", "REGION=eu-west-1", "EMPTY=", "ID=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}
	for _, tt := range []struct {
		name, text, want, wantErr string
		refused                   []string
	}{
		{name: "plain", text: "region ${REGION}", want: "region eu-west-1"},
		{name: "unset", text: "${NOPE} ${EMPTY}", wantErr: "${NOPE} is not set"},
		{name: "job_token", text: "token=${CI_JOB_TOKEN}", refused: []string{"CI_JOB_TOKEN"}, wantErr: "valueFrom"},
		{name: "several", text: "${API_TOKEN} ${REGION} ${ID}", refused: []string{"API_TOKEN", "ID"}, wantErr: "Secrets Manager"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := tt.text
			err := Substitute(substituteInto(&text), environ)
			if tt.wantErr == "" {
				if err != nil || text != tt.want {
					t.Fatalf("Substitute = %q, %v; want %q", text, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
			var se *SubstitutionError
			if len(tt.refused) > 0 {
				if !errors.As(err, &se) || !cmp.Equal(se.Vars, tt.refused) {
					t.Fatalf("error %v does not refuse %v", err, tt.refused)
				}
				for _, v := range environ {
					if _, val, _ := strings.Cut(v, "="); len(val) >= 8 && strings.Contains(err.Error(), val) {
						t.Errorf("the error shows a value: %v", err)
					}
				}
				for _, name := range tt.refused {
					if !strings.Contains(err.Error(), "${"+name+"}") {
						t.Errorf("the error does not name %s: %v", name, err)
					}
				}
			}
		})
	}
}

// TestMaskEveryEncoding: a secret with quotes, backslashes, HTML and URL
// characters is hidden however the output encodes it.
func TestMaskEveryEncoding(t *testing.T) {
	t.Parallel()
	const sec = `p"a\ss<w>&rd/+ü|x`
	var m Masker
	m.Add(sec)
	jsonOf := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, tt := range []struct{ name, text string }{
		{"raw", "x " + sec + " y"},
		{"go_quoted", fmt.Sprintf("got %q", sec)},
		{"go_quoted_ascii", fmt.Sprintf("got %+q", sec)},
		{"json", jsonOf(map[string]string{"password": sec})},
		{"query", "https://x/?p=" + url.QueryEscape(sec)},
		{"path", "https://x/" + url.PathEscape(sec)},
		{"base64", base64.StdEncoding.EncodeToString([]byte(sec))},
		{"base64_url", base64.URLEncoding.EncodeToString([]byte(sec))},
		{"docker_auth_offset_0", base64.StdEncoding.EncodeToString([]byte("abc:" + sec))},
		{"docker_auth_offset_1", base64.StdEncoding.EncodeToString([]byte("user:" + sec + "tail"))},
		{"docker_auth_offset_2", base64.StdEncoding.EncodeToString([]byte("us:" + sec))},
		{"html", "<td>" + strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;", `"`, "&#34;").Replace(sec) + "</td>"},
		{"markdown", "| " + EscapeMarkdown(sec) + " |"},
	} {
		got := m.String(tt.text)
		if !strings.Contains(got, Masked) {
			t.Errorf("%s: %q was not masked: %q", tt.name, tt.text, got)
		}
		for _, f := range Forms(sec) {
			if len(f) >= MinSecretLength && strings.Contains(got, f) {
				t.Errorf("%s: form %q of the secret survives in %q", tt.name, f, got)
			}
		}
	}
}

// FuzzMaskEncodings: a secret of any characters is masked in the encodings
// output gives it, each computed here independently of Forms.
func FuzzMaskEncodings(f *testing.F) {
	f.Add(`p"a\ss<w>&rd`)
	f.Add("glpat-0123456789abcdef")
	f.Add("ü\x00\x1b[31m-secret")
	f.Fuzz(func(t *testing.T, sec string) {
		if len(sec) < MinSecretLength {
			return
		}
		var m Masker
		m.Add(sec)
		js, _ := json.Marshal(sec)
		for _, enc := range []string{sec, fmt.Sprintf("%q", sec), string(js), url.QueryEscape(sec), base64.StdEncoding.EncodeToString([]byte(sec))} {
			text := "before " + enc + " after"
			if got := m.String(text); strings.Contains(got, enc) {
				t.Errorf("secret %q: %q survives masking: %q", sec, enc, got)
			}
		}
	})
}
