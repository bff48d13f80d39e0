package gitlab

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestReadContext(t *testing.T) {
	t.Parallel()
	c, err := ReadContext(envOf(map[string]string{
		"GITLAB_CI": "true", "CI_JOB_TIMEOUT": "3600", "CI_PIPELINE_ID": "1234", "CI_JOB_ID": "987",
		"CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567", "CI_PROJECT_PATH": "group/web",
		"CI_COMMIT_TIMESTAMP": "2026-11-24T16:00:00+01:00", "CI_REGISTRY_IMAGE": "registry.example.com/group/web",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.InCI || c.JobTimeout != time.Hour || c.PipelineID != "1234" || c.JobID != "987" || c.ProjectPath != "group/web" {
		t.Errorf("context = %+v", c)
	}
	if c.CommitShortSHA != "01234567" {
		t.Errorf("CommitShortSHA = %q, want the first 8 of the SHA", c.CommitShortSHA)
	}
	if !c.CommitTime.Equal(time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("CommitTime = %v", c.CommitTime)
	}
	if c2, _ := ReadContext(envOf(nil)); c2.InCI {
		t.Error("an empty environment counts as CI")
	}
}

func TestReadContextErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	_, err := ReadContext(envOf(map[string]string{"CI_JOB_TIMEOUT": "1h", "CI_COMMIT_TIMESTAMP": "yesterday"}))
	for _, want := range []string{"CI_JOB_TIMEOUT", `"1h"`, "CI_COMMIT_TIMESTAMP"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestSections(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(1764000000, 0) }
	var b bytes.Buffer
	end := Sections{W: &b, InCI: true, Now: now}.Start("deploy web/prod", "Deploying web", true)
	b.WriteString("inside\n")
	end()
	want := "\x1b[0Ksection_start:1764000000:deploy_web_prod[collapsed=true]\r\x1b[0KDeploying web\ninside\n\x1b[0Ksection_end:1764000000:deploy_web_prod\r\x1b[0K\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("in CI (-want +got):\n%s", diff)
	}
	b.Reset()
	Sections{W: &b, Now: now}.Start("x", "Deploying web", false)()
	if b.String() != "== Deploying web\n" {
		t.Errorf("outside CI = %q", b.String())
	}
}

const secret = "glpat-SuperSecretToken123"

func TestMaskString(t *testing.T) {
	t.Parallel()
	var m Masker
	m.Add(secret, "short")
	tests := []struct{ in, want string }{
		{"token " + secret + " end", "token [MASKED] end"},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte(secret)), "b64 [MASKED]"},
		{"url https://x/?t=" + url.QueryEscape(secret+"&/"), "url https://x/?t=[MASKED]%26%2F"},
		{"short values stay: short", "short values stay: short"},
	}
	for _, tt := range tests {
		if got := m.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskWriterAcrossWrites(t *testing.T) {
	t.Parallel()
	var m Masker
	m.Add(secret)
	var out bytes.Buffer
	w := m.Writer(&out)
	text := "line one\nthe token is " + secret + " and again " + secret + "\nlast without newline " + secret
	// One byte at a time: every secret is split across writes.
	for i := range len(text) {
		if _, err := w.Write([]byte{text[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(text, secret, Masked)
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

func TestMaskWriterLongLine(t *testing.T) {
	t.Parallel()
	var m Masker
	m.Add(secret)
	var out bytes.Buffer
	w := m.Writer(&out)
	long := strings.Repeat("x", 5000) + secret + strings.Repeat("y", 5000)
	for i := 0; i < len(long); i += 1000 {
		_, _ = w.Write([]byte(long[i:min(i+1000, len(long))]))
	}
	_ = w.Close()
	if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), Masked) || out.Len() != len(long)-len(secret)+len(Masked) {
		t.Errorf("long line not masked correctly (len %d)", out.Len())
	}
}

// FuzzMaskWriter checks that no split of the output across writes lets a
// secret through, and that text without one comes out escaped, nothing more.
func FuzzMaskWriter(f *testing.F) {
	f.Add("prefix "+secret+" suffix\n", uint8(3))
	f.Add(secret+secret, uint8(1))
	f.Add("no secret here", uint8(7))
	f.Fuzz(func(t *testing.T, text string, step uint8) {
		var m Masker
		m.Add(secret)
		var out bytes.Buffer
		w := m.Writer(&out)
		n := int(step%64) + 1
		for i := 0; i < len(text); i += n {
			_, _ = w.Write([]byte(text[i:min(i+n, len(text))]))
		}
		_ = w.Flush()
		if strings.Contains(out.String(), secret) {
			t.Errorf("secret leaked for %q in steps of %d: %q", text, n, out.String())
		}
		// Without a secret the writer changes only what EscapeLog shows
		// escaped (control characters from outside), however it is split.
		if want := m.String(EscapeLog(m.String(text))); !strings.Contains(text, secret) && out.String() != want {
			t.Errorf("output without secrets is not the escaped text: %q -> %q, want %q", text, out.String(), want)
		}
	})
}
