package app

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/google/go-containerregistry/pkg/registry"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// callRecorder sits in front of the simulator and keeps each request's
// operation and body, so a test can tell a second read of the same resource
// (same operation, same input) from a read of another one. The simulator's
// own call log has the operation but not the input.
type callRecorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recordedCall
}

type recordedCall struct {
	Op, Body string
}

func (r *callRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	op := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndex(op, "."); i >= 0 {
		op = op[i+1:]
	}
	if op == "" { // query protocol (ELBv2): Action=...
		for _, kv := range strings.Split(string(body), "&") {
			if v, ok := strings.CutPrefix(kv, "Action="); ok {
				op = v
			}
		}
	}
	if op == "" { // CloudWatch's CBOR protocol names the operation in the path
		op = req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recordedCall{Op: op, Body: string(body)})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *callRecorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *callRecorder) since(i int) []recordedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs[i:])
}

// perOperation is "Operation×n" for every operation, sorted, for a report line.
func perOperation(calls []recordedCall) string {
	n := map[string]int{}
	for _, c := range calls {
		n[c.Op]++
	}
	var out []string
	for op, k := range n {
		out = append(out, fmt.Sprintf("%s×%d", op, k))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// duplicates are the reads made twice with the same input.
func duplicates(calls []recordedCall) []string {
	seen := map[recordedCall]int{}
	var dup []string
	for _, c := range calls {
		seen[c]++
		if seen[c] == 2 {
			dup = append(dup, c.Op+" "+c.Body)
		}
	}
	return dup
}

// startRecordedSim is startSim with the recorder in front and an ECR
// registry on loopback, so status reads real registry tags.
func startRecordedSim(tb testing.TB, o seed.Options) (*sim, *callRecorder, string) {
	tb.Helper()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	s := startSim(tb, o, awssim.WithRegistryHost(host))
	rec := &callRecorder{next: s.srv}
	hs := httptest.NewServer(rec)
	tb.Cleanup(hs.Close)
	s.url = hs.URL
	return s, rec, host
}

// TestCallsPerCommand counts the AWS calls of each command from the
// simulator's side and fails when a command reads a resource twice or more
// often than it needs.
func TestCallsPerCommand(t *testing.T) {
	t.Parallel()
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		s, rec, host := startRecordedSim(t, seed.Options{})
		m := rec.mark()
		code, _, stderr := runIn(t, s.environ("BG_ECR_REPOSITORY=web", "BG_REGISTRY_IMAGE="+host+"/group/web"), "status")
		if code != ExitOK {
			t.Fatalf("status exit %d\n%s", code, stderr)
		}
		calls := rec.since(m)
		t.Logf("status: %d calls: %s", len(calls), perOperation(calls))
	})
	t.Run("verify", func(t *testing.T) {
		t.Parallel()
		s, rec, host := startRecordedSim(t, seed.Options{})
		m := rec.mark()
		runIn(t, s.environ("BG_ECR_REPOSITORY=web", "BG_REGISTRY_IMAGE="+host+"/group/web"), "verify")
		calls := rec.since(m)
		t.Logf("verify: %d calls: %s", len(calls), perOperation(calls))
	})
	t.Run("deploy_all_at_once", func(t *testing.T) {
		t.Parallel()
		s, rec, _ := startRecordedSim(t, seed.Options{})
		m := rec.mark()
		code, _, stderr := runIn(t, deployEnv(s), "deploy")
		if code != ExitOK {
			t.Fatalf("deploy exit %d\n%s", code, stderr)
		}
		calls := rec.since(m)
		t.Logf("deploy: %d calls: %s", len(calls), perOperation(calls))
	})
	t.Run("promote", func(t *testing.T) {
		t.Parallel()
		s, rec, _ := startRecordedSim(t, seed.Options{ReadyWaitMinutes: 1440})
		id := s.startDeployment(t, "registry.example/web:2")
		s.waitFor(t, "Ready", func() bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady })
		m := rec.mark()
		code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+id), "promote")
		if code != ExitOK {
			t.Fatalf("promote exit %d\n%s", code, stderr)
		}
		calls := rec.since(m)
		t.Logf("promote: %d calls: %s", len(calls), perOperation(calls))
	})
	t.Run("switch", func(t *testing.T) {
		t.Parallel()
		s := startListenerSim(t, seed.TwoServicesOptions{})
		rec := &callRecorder{next: s.srv}
		hs := httptest.NewServer(rec)
		t.Cleanup(hs.Close)
		s.url = hs.URL
		if code, _, stderr := runIn(t, s.environ(), "deploy"); code != ExitOK {
			t.Fatalf("deploy: exit %d\n%s", code, stderr)
		}
		m := rec.mark()
		code, _, stderr := runIn(t, s.environ(), "switch")
		if code != ExitOK {
			t.Fatalf("switch: exit %d\n%s", code, stderr)
		}
		calls := rec.since(m)
		t.Logf("switch: %d calls: %s", len(calls), perOperation(calls))
	})
}
