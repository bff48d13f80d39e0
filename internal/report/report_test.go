package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out", "status.json")
	if err := WriteFile(path, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "two" {
		t.Errorf("content = %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v", fi.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestMergeDotenv(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), DotenvFile)
	if err := MergeDotenv(path, map[string]string{"BG_IMAGE": "r.example/web@sha256:abc", "BG_IMAGE_DIGEST": "sha256:abc"}); err != nil {
		t.Fatal(err)
	}
	if err := MergeDotenv(path, map[string]string{"BG_DEPLOYMENT_ID": "d-ABCDEFGHI", "BG_IMAGE_DIGEST": "sha256:def"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "BG_DEPLOYMENT_ID=d-ABCDEFGHI\nBG_IMAGE=r.example/web@sha256:abc\nBG_IMAGE_DIGEST=sha256:def\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("deploy.env (-want +got):\n%s", diff)
	}
}

func TestMergeDotenvRejects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{name: "bad_key", vars: map[string]string{"BG-IMAGE": "x"}, want: "not a variable name"},
		{name: "too_big", vars: map[string]string{"BG_X": strings.Repeat("x", 6000)}, want: "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := MergeDotenv(filepath.Join(t.TempDir(), DotenvFile), tt.vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("MergeDotenv() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	got, err := ParseDotenv([]byte("# comment\n\nA=1\nB=x=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"A": "1", "B": "x=y"}, got); diff != "" {
		t.Error(diff)
	}
	if _, err := ParseDotenv([]byte("not a pair\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("ParseDotenv(bad) error = %v", err)
	}
}

func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{"A=1\n", "# x\nB=2", "=\n", "A\n", "A=1\r\nB=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vars, err := ParseDotenv([]byte(s))
		if err != nil {
			return
		}
		for k := range vars {
			if !dotenvKey.MatchString(k) {
				t.Errorf("accepted key %q", k)
			}
		}
	})
}
