package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOver: every service runs with its own settings and folder, the
// overview counts the failed ones, verify's junit.xml fails a service that
// wrote no report, and the error carries the worst exit code.
func TestOver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	entries := []Entry{
		{Name: "api", Env: map[string]string{"BG_SERVICE": "api", "BG_CLUSTER": "prod"}},
		{Name: "shop", Env: map[string]string{"BG_SERVICE": "shop"}},
		{Name: "gone", Env: map[string]string{"BG_SERVICE": "gone"}},
	}
	codes := map[string]int{"api": exitOK, "shop": exitVerify, "gone": exitUsage}
	var log, stdout bytes.Buffer
	opts := Options{Command: "verify", Dir: dir, Limit: 2, Environ: []string{"BG_SERVICE=job", "BG_OUTPUT_DIR=" + dir, FileVar + "=x"}, Taken: time.Unix(1764000000, 0).UTC(), Log: &log, Stdout: &stdout}
	err := Over(context.Background(), entries, opts, func(_ context.Context, environ []string, w io.Writer) (int, error) {
		svc := lastValue(environ, "BG_SERVICE")
		if out := lastValue(environ, "BG_OUTPUT_DIR"); out != filepath.Join(dir, "services", svc) {
			t.Errorf("%s writes to %s", svc, out)
		}
		if f := lastValue(environ, FileVar); f != "" {
			t.Errorf("%s still has a services file: %q", svc, f)
		}
		fmt.Fprintf(w, "log of %s\n", svc)
		if codes[svc] == exitOK {
			return exitOK, nil
		}
		return codes[svc], errors.New(svc + " failed")
	})
	var fe *Error
	if !errors.As(err, &fe) || fe.ExitCode() != exitUsage || err.Error() != "2 of 3 services failed: shop, gone" {
		t.Fatalf("Over = %v", err)
	}
	for _, want := range []string{"== Service api: ok\nlog of api\n", "== Service shop: exit 4\nlog of shop\n", "== Service gone: exit 2\nlog of gone\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
	if !strings.Contains(stdout.String(), "3 services: 2 need attention") {
		t.Errorf("overview:\n%s", stdout.String())
	}
	junit, rerr := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !strings.Contains(string(junit), `<testcase name="service can be read" classname="gone"`) || !strings.Contains(string(junit), "gone failed") {
		t.Errorf("junit.xml does not fail gone:\n%s", junit)
	}
	for _, f := range []string{"status.json", "status.md", "status.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

// lastValue is name's last value in environ.
func lastValue(environ []string, name string) string {
	for _, kv := range slices.Backward(environ) {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func TestWorseExit(t *testing.T) {
	t.Parallel()
	order := []int{exitOK, exitVerify, exitFailed, exitTimeout, exitUsage, exitInterrupted}
	for i, a := range order {
		for j, b := range order {
			want := order[max(i, j)]
			if got := worseExit(a, b); got != want {
				t.Errorf("worseExit(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// TestLoad_refusesSecrets: a secret setting, by our name or AWS's, is
// refused naming each, as bad input.
func TestLoad_refusesSecrets(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "services.yml")
	if err := os.WriteFile(path, []byte("services:\n  - name: web\n    env: {BG_ID_TOKEN: x, AWS_SESSION_TOKEN: y, BG_CLUSTER: prod}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, []string{"BG_ID_TOKEN"})
	var ie *InputError
	if !errors.As(err, &ie) || ie.ExitCode() != exitUsage || !strings.Contains(err.Error(), "(web: AWS_SESSION_TOKEN, web: BG_ID_TOKEN)") {
		t.Errorf("Load = %v", err)
	}
}

// TestLoad_refusesHugeFiles: the services file has a size limit.
func TestLoad_refusesHugeFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "services.yml")
	big := "services:\n  - name: web\n" + strings.Repeat("# padding\n", maxFileSize/10+1)
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load of a %d-byte file = %v, want an input error naming the limit", len(big), err)
	}
}
