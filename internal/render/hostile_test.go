package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hostileCase is one file of testdata/hostile and what refusing it must
// say: the file, the line and the member, and a word of why. The table is
// testdata/hostile.json, which internal/app's integration test also reads
// to check that deploy refuses each file with exit 2 before any call that
// changes AWS.
type hostileCase struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Member string `json:"member"`
	Want   string `json:"want"`
}

func hostileCases(t *testing.T) []hostileCase {
	t.Helper()
	data, err := os.ReadFile("testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []hostileCase
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// readHostile reads and parses one corpus file the way deploy does: the
// task definition up to SetImage (its last check), the AppSpec up to parse.
func readHostile(path string) error {
	if strings.HasPrefix(filepath.Base(path), "td-") {
		td, err := ReadTaskDef(path)
		if err != nil {
			return err
		}
		_, err = td.SetImage(newImage, ImageRule{})
		return err
	}
	data, err := ReadFile(path)
	if err != nil {
		return err
	}
	_, err = ParseAppSpec(data, path)
	return err
}

func TestHostileInputsAreRefused(t *testing.T) {
	t.Parallel()
	all := hostileCases(t)
	files, _ := filepath.Glob("testdata/hostile/*")
	if len(files) != len(all) {
		t.Errorf("testdata/hostile has %d files, the table %d: every file needs its expectation", len(files), len(all))
	}
	for _, tt := range all {
		t.Run(tt.File, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "hostile", tt.File)
			err := readHostile(path)
			checkRefusal(t, err, path, tt)
		})
	}
}

// checkRefusal asserts a *FieldError (the input-error class app maps to
// exit 2) whose first line names file, line and member.
func checkRefusal(t *testing.T, err error, path string, tt hostileCase) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a *FieldError", err, err)
	}
	loc := path
	if tt.Line > 0 {
		loc += ":" + strconv.Itoa(tt.Line)
	}
	if tt.Member != "" {
		loc += ": " + printable(tt.Member)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.HasPrefix(first, loc+":") && first != loc {
		t.Errorf("error does not start with %q:\n%v", loc, err)
	}
	if !strings.Contains(err.Error(), tt.Want) {
		t.Errorf("error lacks %q:\n%v", tt.Want, err)
	}
	if strings.ContainsFunc(err.Error(), func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
		t.Errorf("error carries a raw control character into the log: %q", err.Error())
	}
}

// TestHugeInputsAreRefusedBeforeReading gives ReadFile files far above
// MaxFileSize: 300 MB (sparse, so the test costs no disk) is refused from
// its size alone, and 2 MiB of real whitespace or comment too.
func TestHugeInputsAreRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sparse := func(name string, head []byte, size int64) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, head, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		return path
	}
	written := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct{ name, path, want string }{
		{"taskdef_300MB_whitespace", sparse("taskdef.json", []byte("{}"+strings.Repeat(" ", 4096)), 300<<20), "is 300.0 MiB"},
		{"appspec_300MB_comment", sparse("appspec.yml", []byte("version: 0.0\n# "), 300<<20), "is 300.0 MiB"},
		{"taskdef_2MiB_whitespace", written("ws.json", append([]byte(`{"family":"web"}`), bytes.Repeat([]byte(" \n\t"), 700_000)...)), "is 2.0 MiB"},
		{"appspec_2MiB_comment", written("comment.yml", append([]byte("version: 0.0\n#"), bytes.Repeat([]byte("x"), 2<<20)...)), "is 2.0 MiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadFile(tt.path)
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "at most 1.0 MiB") {
				t.Errorf("ReadFile(%s) = %v, want a *FieldError saying %q and the limit", tt.path, err, tt.want)
			}
		})
	}
	// Not a file at all.
	if _, err := ReadFile(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("ReadFile(a folder) = %v", err)
	}
	if _, err := ReadFile("/dev/zero"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("ReadFile(/dev/zero) = %v", err)
	}
	// Deeply nested YAML is refused by the parser, not by the stack.
	if _, err := ParseAppSpec(bytes.Repeat([]byte("["), 20000), "appspec.yml"); err == nil {
		t.Error("20000 nested YAML lists were accepted")
	}
}
