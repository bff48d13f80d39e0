package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// readOnly reports whether an AWS operation only reads.
func readOnly(op string) bool {
	for _, p := range []string{"Describe", "List", "Get", "BatchGet"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func mutating(calls []awssim.Call) []string {
	var out []string
	for _, c := range calls {
		if !readOnly(c.Operation) {
			out = append(out, c.Service+":"+c.Operation)
		}
	}
	return out
}

// hostileRun is one bad input given to deploy and what the refusal must
// name.
type hostileRun struct {
	name string
	env  []string
	want []string // in stderr
}

// hostileRuns reads the corpora of render (files) and config (settings).
func hostileRuns(t *testing.T, dir string) []hostileRun {
	t.Helper()
	var runs []hostileRun
	data, err := os.ReadFile("../render/testdata/hostile.json")
	if err != nil {
		t.Fatal(err)
	}
	var files []struct {
		File   string `json:"file"`
		Line   int    `json:"line"`
		Member string `json:"member"`
	}
	if err := json.Unmarshal(data, &files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path, err := filepath.Abs(filepath.Join("..", "render", "testdata", "hostile", f.File))
		if err != nil {
			t.Fatal(err)
		}
		setting := "BG_APPSPEC_FILE="
		if strings.HasPrefix(f.File, "td-") {
			setting = "BG_TASKDEF_FILE="
		}
		runs = append(runs, hostileRun{name: f.File, env: []string{setting + path}, want: []string{fmt.Sprintf("error: %s:%d: ", path, f.Line), f.Member}})
	}
	// Far above the size limit: sparse, so they cost no disk.
	for _, big := range []struct{ name, setting string }{{"taskdef-300MB.json", "BG_TASKDEF_FILE="}, {"appspec-300MB.yml", "BG_APPSPEC_FILE="}} {
		path := filepath.Join(dir, big.name)
		if err := os.WriteFile(path, []byte("{ "), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 300<<20); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, hostileRun{name: big.name, env: []string{big.setting + path}, want: []string{"error: " + path + ": is 300.0 MiB"}})
	}
	data, err = os.ReadFile("../config/testdata/hostile-settings.json")
	if err != nil {
		t.Fatal(err)
	}
	var settings []struct {
		Name string            `json:"name"`
		Env  map[string]string `json:"env"`
		Want []string          `json:"want"`
	}
	if err := json.Unmarshal(data, &settings); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if len(s.Want) == 0 {
			continue // the corpus's valid case: deploy would rightly deploy
		}
		r := hostileRun{name: "settings/" + s.Name}
		for k, v := range s.Env {
			r.env = append(r.env, k+"="+strings.ReplaceAll(v, "@FILE", file))
		}
		for _, v := range s.Want {
			r.want = append(r.want, v+" ")
		}
		runs = append(runs, r)
	}
	return runs
}

// TestHostileInputChangesNothing gives deploy every hostile file and
// setting of the corpora against one simulator: each run exits 2, names the
// file, line and member (or the variable), and the simulator's call log
// shows no call that changes anything. A valid deploy at the end shows the
// log would have seen one.
func TestHostileInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{})
	runs := hostileRuns(t, t.TempDir())
	wrong, changed := 0, 0
	for _, r := range runs {
		before := len(s.srv.Calls())
		code, _, stderr := runIn(t, deployEnv(s, r.env...), "deploy")
		calls := mutating(s.srv.Calls()[before:])
		if code != ExitUsage {
			wrong++
			t.Errorf("%s: exit %d, want %d\n%s", r.name, code, ExitUsage, stderr)
		}
		for _, w := range r.want {
			if !strings.Contains(stderr, w) {
				wrong++
				t.Errorf("%s: stderr lacks %q:\n%s", r.name, w, stderr)
			}
		}
		if len(calls) > 0 {
			changed++
			t.Errorf("%s: calls that change AWS after bad input: %v", r.name, calls)
		}
	}
	t.Logf("%d hostile inputs: %d wrong outcomes, %d runs with calls that change AWS", len(runs), wrong, changed)

	before := len(s.srv.Calls())
	if code, _, stderr := runIn(t, deployEnv(s), "deploy"); code != ExitOK {
		t.Fatalf("the valid control deploy: exit %d\n%s", code, stderr)
	}
	if calls := mutating(s.srv.Calls()[before:]); len(calls) == 0 {
		t.Error("a valid deploy made no call that changes AWS: the log would not have caught one")
	}
}
