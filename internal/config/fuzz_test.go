package config

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"
)

// FuzzDecoders feeds arbitrary text to every typed setting: a decoder may
// reject a value, but must never panic, and a value it accepts must print back
// without the userinfo password of a URL.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		"arn:aws:iam::123456789012:role/deploy", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/a/1/2",
		"arn:::::", "registry.gitlab.com/g/p:tag", "r.example/a@sha256:" + strings.Repeat("a", 64), "Not A Ref!",
		"http://user:pw@alb.example:8080/health", "ftp://x", "/health", "8080", "0", "65536", "auto", "LISTENER", "",
		"10,50,100", "10%, 100%", "50,20,100", "0,100", "green",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var a ARN
		if a.EnvDecode(v) == nil && v != "" && a.String() != v {
			t.Errorf("ARN %q printed back as %q", v, a.String())
		}
		var r ImageRef
		_ = r.EnvDecode(v)
		var repo Repository
		_ = repo.EnvDecode(v)
		var u URL
		if u.EnvDecode(v) == nil && u.URL != nil {
			if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(u.String(), ":"+pw+"@") {
				t.Errorf("URL %q prints its password: %q", v, u.String())
			}
		}
		var p Port
		if p.EnvDecode(v) == nil && v != "" && (p < 1 || p > 65535) {
			t.Errorf("Port accepted %q as %d", v, p)
		}
		var m Mode
		_ = m.EnvDecode(v)
		var steps Steps
		if steps.EnvDecode(v) == nil {
			for i, n := range steps {
				if n < 1 || n > 100 || i > 0 && n <= steps[i-1] || i == len(steps)-1 && n != 100 {
					t.Errorf("Steps accepted %q as %v", v, steps)
				}
			}
		}
		var c Colour
		if c.EnvDecode(v) == nil && c != "" && c != "blue" && c != "green" {
			t.Errorf("Colour accepted %q", v)
		}
	})
}

// FuzzSettings gives one setting (chosen by index among ours and the AWS_*
// ones the SDK reads) an arbitrary value over a valid deploy configuration.
// Load never panics; a refusal is an *Error whose problems name known
// variables and whose text carries no raw control character; and a value
// with a control character is never accepted where it would reach AWS or
// the log.
func FuzzSettings(f *testing.F) {
	vars := fuzzVars()
	for i, v := range []string{"lots", "prod\nx", "web\x1b[31m", "r.example:99999/w:1", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "true", "adaptive", "http://x:0/", "10,50,100", "g\u200bx", ""} {
		f.Add(uint16(i*7), v)
	}
	f.Fuzz(func(t *testing.T, idx uint16, v string) {
		name := vars[int(idx)%len(vars)]
		env := map[string]string{"AWS_REGION": "eu-west-1", "BG_CLUSTER": "prod", "BG_SERVICE": "web", "BG_IMAGE": "registry.example/web:1", "BG_OUTPUT_DIR": fuzzOutDir, name: v}
		err := Load(context.Background(), EmptyAsUnset(envconfig.MapLookuper(env)), deployFamilies()...)
		refused := false
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load() = %v (%T), want *config.Error", err, err)
			}
			for _, p := range ce.Problems {
				if !slices.Contains(vars, p.Var) && !strings.HasPrefix(p.Var, "AWS_ENDPOINT_URL_") {
					t.Fatalf("a problem names %q, which is no variable", p.Var)
				}
				refused = refused || p.Var == name
			}
			if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
				t.Fatalf("the report carries a raw control character: %q", err.Error())
			}
		}
		if _, clean := controlFree(v); !clean && !refused && strings.TrimSpace(v) != "" && !controlAllowed[name] {
			t.Fatalf("%s=%q was accepted although it holds a control character", name, v)
		}
	})
}

// fuzzOutDir is an existing folder for BG_OUTPUT_DIR, which FuzzSettings
// never varies: the folder check writes a probe file where it points.
var fuzzOutDir = os.TempDir()

// controlAllowed are the settings whose values may hold control characters
// (a regular expression, build arguments) or are secrets, never shown.
var controlAllowed = map[string]bool{"BG_SMOKE_BODY": true, "BG_BUILD_ARGS": true, "BG_ID_TOKEN": true, "BG_REGISTRY_PASSWORD": true, "BG_JOB_TOKEN": true}

func fuzzVars() []string {
	var out []string
	for _, s := range Reference() {
		if s.Var != "BG_OUTPUT_DIR" && s.Family != "sandbox" && s.Family != "development" {
			out = append(out, s.Var)
		}
	}
	for _, s := range sdkVars {
		out = append(out, s.name)
	}
	return append(out, "AWS_PROFILE")
}
