package fleet

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		want       []Entry
		errs       []string
	}{
		{
			name: "yaml",
			file: "services:\n  - name: web\n    env: {BG_CLUSTER: prod, BG_SERVICE: web}\n  - name: shop-1\n    env:\n      BG_CLUSTER: prod\n      BG_BLUE_SERVICE: shop-blue\n",
			want: []Entry{{Name: "web", Env: map[string]string{"BG_CLUSTER": "prod", "BG_SERVICE": "web"}}, {Name: "shop-1", Env: map[string]string{"BG_CLUSTER": "prod", "BG_BLUE_SERVICE": "shop-blue"}}},
		},
		{
			name: "json",
			file: `{"services": [{"name": "web", "env": {"BG_CLUSTER": "prod", "AWS_REGION": "eu-west-1"}}]}`,
			want: []Entry{{Name: "web", Env: map[string]string{"BG_CLUSTER": "prod", "AWS_REGION": "eu-west-1"}}},
		},
		{name: "empty", file: "services: []\n", errs: []string{"lists no services"}},
		{name: "not_yaml", file: "services: [\n", errs: []string{"not YAML or JSON"}},
		{name: "misspelt_key", file: "services:\n  - names: web\n", errs: []string{"field names not found"}},
		{name: "two_documents", file: "services:\n  - name: web\n---\nservices: []\n", errs: []string{"more than one YAML document"}},
		{name: "nothing", file: "", errs: []string{"is empty"}},
		{
			name: "every_problem_at_once",
			file: "services:\n  - env: {}\n  - name: ../etc\n  - name: a\n    env: {BG_OUTPUT_DIR: x, PATH: /bin, BG_SERVICES_FILE: y}\n  - name: a\n",
			errs: []string{"service 1 has no name", `the name "../etc" must be`, "BG_OUTPUT_DIR cannot be set here", `"PATH" is not a BG_ or AWS_ setting`, "BG_SERVICES_FILE cannot be set here", `service 4: the name "a" is used twice`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.file))
			if len(tt.errs) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %+v, want an error", got)
			}
			for _, e := range tt.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q lacks %q", err, e)
				}
			}
		})
	}
}

// TestRun: at most limit at once, results in the entries' order, and a
// cancelled run gives the rest the context's error without running them.
func TestRun(t *testing.T) {
	t.Parallel()
	var entries []Entry
	for _, n := range strings.Split("a b c d e f g h i j", " ") {
		entries = append(entries, Entry{Name: n})
	}
	var running, most atomic.Int32
	got := Run(context.Background(), entries, 3, func(_ context.Context, e Entry) string {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return e.Name
	}, func(e Entry, err error) string { return "cancelled " + e.Name })
	if strings.Join(got, " ") != "a b c d e f g h i j" {
		t.Errorf("results %v, want the entries' order", got)
	}
	if m := most.Load(); m > 3 || m < 2 {
		t.Errorf("%d ran at once, want at most 3 (and more than one)", m)
	}

	ctx, cancel := context.WithCancel(context.Background())
	got = Run(ctx, entries, 1, func(_ context.Context, e Entry) string {
		if e.Name == "b" {
			cancel()
		}
		return e.Name
	}, func(e Entry, err error) string { return "cancelled " + e.Name })
	if got[0] != "a" || got[len(got)-1] != "cancelled j" {
		t.Errorf("after a cancel: %v", got)
	}
}
