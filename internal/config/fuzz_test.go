package config

import (
	"strings"
	"testing"
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
