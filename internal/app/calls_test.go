package app

import (
	"bytes"
	"context"
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
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
	// The budgets count the calls the tool makes, not the SDK's retries of
	// one (a connection the loopback server closed under load, aws-sdk-go-v2
	// #2737): a retry says attempt=2 or more in amz-sdk-request.
	if attempt := req.Header.Get("Amz-Sdk-Request"); attempt == "" || strings.HasPrefix(attempt, "attempt=1;") || attempt == "attempt=1" {
		r.mu.Lock()
		r.reqs = append(r.reqs, recordedCall{Op: op, Body: string(body)})
		r.mu.Unlock()
	}
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

// observations splits a command's calls where the world may have changed:
// at each call that changes something, and at each poll of a deployment
// (GetDeployment starts one, and so does DescribeServices: the watcher
// follows a starting replacement through ECS and ELBv2 between CodeDeploy
// reads). Within one observation no resource is read twice.
func observations(calls []recordedCall) [][]recordedCall {
	var out [][]recordedCall
	var cur []recordedCall
	for _, c := range calls {
		if changes(c.Op) || c.Op == "GetDeployment" || c.Op == "DescribeServices" {
			out = append(out, cur)
			cur = nil
			if changes(c.Op) {
				continue
			}
		}
		cur = append(cur, c)
	}
	return append(out, cur)
}

func changes(op string) bool {
	for _, p := range []string{"Create", "Register", "Modify", "Add", "Continue", "Stop", "Put", "Set", "Deregister", "Delete", "Update"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// pollOps are the watcher's reads, one pair per poll: how many a watch makes
// depends on how fast the simulator runs under the machine's load, so they
// count for neither the total nor the per-operation limits.
var pollOps = []string{"GetDeployment", "BatchGetDeploymentTargets", "ListDeploymentTargets"}

// callBudget is what a command may read.
type callBudget struct {
	max int // calls in all, polls aside
	// most are the operations a command may call more than once, and how
	// often; every other operation at most once.
	most map[string]int
	// never are operations the command has no use for.
	never []string
}

func (b callBudget) check(t *testing.T, name string, calls []recordedCall) {
	t.Helper()
	t.Logf("%s: %d calls: %s", name, len(calls), perOperation(calls))
	n := map[string]int{}
	total := 0
	for _, c := range calls {
		n[c.Op]++
		if !slices.Contains(pollOps, c.Op) {
			total++
		}
	}
	if total > b.max {
		t.Errorf("%s made %d AWS calls besides its polls, budget %d: %s", name, total, b.max, perOperation(calls))
	}
	for op, k := range n {
		if slices.Contains(pollOps, op) {
			continue
		}
		limit := 1
		if m, ok := b.most[op]; ok {
			limit = m
		}
		if k > limit {
			t.Errorf("%s called %s %d times, at most %d", name, op, k, limit)
		}
		if slices.Contains(b.never, op) {
			t.Errorf("%s called %s, which it does not use", name, op)
		}
	}
	for i, o := range observations(calls) {
		if d := duplicates(o); len(d) > 0 {
			t.Errorf("%s read the same resource twice in observation %d: %q", name, i, d)
		}
	}
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
		// DESIGN: status with the registry tags in at most 10 calls.
		// DESIGN: at most 10; 9 since reading tags needs no DescribeRepositories.
		callBudget{max: 9, most: map[string]int{"DescribeTargetHealth": 2}, never: []string{"GetDeploymentConfig", "DescribeLoadBalancers", "GetDeployment", "DescribeRepositories"}}.check(t, "status", rec.since(m))
	})
	t.Run("status_with_history", func(t *testing.T) {
		t.Parallel()
		s, rec, host := startRecordedSim(t, seed.Options{})
		if code, _, stderr := runIn(t, deployEnv(s), "deploy"); code != ExitOK {
			t.Fatalf("deploy exit %d\n%s", code, stderr)
		}
		m := rec.mark()
		code, _, stderr := runIn(t, s.environ("BG_ECR_REPOSITORY=web", "BG_REGISTRY_IMAGE="+host+"/group/web"), "status")
		if code != ExitOK {
			t.Fatalf("status exit %d\n%s", code, stderr)
		}
		// DESIGN: status in at most 10 calls (9: reading tags needs no
		// DescribeRepositories), plus 2 for the history
		// (BG_HISTORY, default 10): BatchGetDeployments for the last
		// deployments (the ListDeployments status always made lists them
		// too) and BatchGetDeploymentTargets for the last one's timeline.
		// (With a deployment there, Resolve finds the group from the task
		// set's deployment: one GetDeployment, counted with the polls.)
		callBudget{max: 11, most: map[string]int{"DescribeTargetHealth": 2}, never: []string{"GetDeploymentConfig", "DescribeLoadBalancers", "GetDeployment", "DescribeRepositories"}}.check(t, "status with history", rec.since(m))
	})
	t.Run("verify", func(t *testing.T) {
		t.Parallel()
		s, rec, host := startRecordedSim(t, seed.Options{})
		m := rec.mark()
		runIn(t, s.environ("BG_ECR_REPOSITORY=web", "BG_REGISTRY_IMAGE="+host+"/group/web"), "verify")
		callBudget{max: 9, most: map[string]int{"DescribeTargetHealth": 2}, never: []string{"GetDeploymentConfig", "DescribeLoadBalancers", "GetDeployment", "DescribeRepositories"}}.check(t, "verify", rec.since(m))
	})
	t.Run("verify_with_history", func(t *testing.T) {
		t.Parallel()
		s, rec, host := startRecordedSim(t, seed.Options{})
		if code, _, stderr := runIn(t, deployEnv(s), "deploy"); code != ExitOK {
			t.Fatalf("deploy exit %d\n%s", code, stderr)
		}
		m := rec.mark()
		runIn(t, s.environ("BG_ECR_REPOSITORY=web", "BG_REGISTRY_IMAGE="+host+"/group/web"), "verify")
		// As status: 10, plus 2 for the history.
		callBudget{max: 11, most: map[string]int{"DescribeTargetHealth": 2}, never: []string{"GetDeploymentConfig", "DescribeLoadBalancers", "GetDeployment", "DescribeRepositories"}}.check(t, "verify with history", rec.since(m))
	})
	t.Run("deploy_all_at_once", func(t *testing.T) {
		t.Parallel()
		s, rec, _ := startRecordedSim(t, seed.Options{})
		m := rec.mark()
		code, _, stderr := runIn(t, deployEnv(s), "deploy")
		if code != ExitOK {
			t.Fatalf("deploy exit %d\n%s", code, stderr)
		}
		// Polls repeat GetDeployment and BatchGetDeploymentTargets, and
		// while the replacement starts the watcher follows it through
		// DescribeServices and DescribeTargetHealth (ECS's and ELBv2's
		// budgets, not CodeDeploy's); the rest is one resolution, one render
		// and one closing snapshot. The evidence of a failure comes from the
		// follower's reads, so the replacement's health is read once per
		// observation (it was read twice), and the closing snapshot knows the
		// revision deploy registered: 26 calls before, 23 after.
		callBudget{max: 21, most: map[string]int{
			"DescribeTargetHealth": 4, "DescribeTargetGroups": 1,
			"DescribeServices": 4, "DescribeTaskDefinition": 2, "DescribeListeners": 2, "ListDeployments": 2,
		}}.check(t, "deploy", rec.since(m))
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
		callBudget{max: 12, most: map[string]int{"DescribeTargetHealth": 2, "DescribeServices": 2}, never: []string{"DescribeLoadBalancers"}}.check(t, "promote", rec.since(m))
	})
	// rollback and finish: one resolution, their one change, then the watch.
	for _, tc := range []struct {
		cmd  string
		seed seed.Options
		wait func(s *sim, id string) bool
	}{
		{cmd: "rollback", seed: seed.Options{ReadyWaitMinutes: 1440}, wait: func(s *sim, id string) bool { return s.statusOf(t, id) == cdtypes.DeploymentStatusReady }},
		{cmd: "finish", seed: seed.Options{TerminationWaitMinutes: 600}, wait: func(s *sim, id string) bool {
			out, err := s.cd.BatchGetDeploymentTargets(context.Background(), &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{"prod:web"}})
			return err == nil && out.DeploymentTargets[0].EcsTarget.Status == cdtypes.TargetStatusSucceeded
		}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			t.Parallel()
			s, rec, _ := startRecordedSim(t, tc.seed)
			id := s.startDeployment(t, "registry.example/web:2")
			s.waitFor(t, "the deployment to be ready for "+tc.cmd, func() bool { return tc.wait(s, id) })
			m := rec.mark()
			if code, _, stderr := runIn(t, s.environ("BG_DEPLOYMENT_ID="+id), tc.cmd); code != ExitOK {
				t.Fatalf("%s exit %d\n%s", tc.cmd, code, stderr)
			}
			callBudget{max: 4, never: []string{"DescribeLoadBalancers", "GetDeploymentConfig"}}.check(t, tc.cmd, rec.since(m))
		})
	}
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
		// Two observations (before and after), each reading both colours,
		// then one rewrite of the production listener and of the test one.
		// The task definitions (which a switch does not change) are read
		// once: 22 calls before the reader kept them, 20 after.
		callBudget{max: 20, most: map[string]int{
			"DescribeServices": 2, "DescribeTargetGroups": 2, "DescribeRules": 4, "DescribeTaskDefinition": 2,
			"DescribeTargetHealth": 4, "DescribeTags": 2, "ModifyListener": 2, "AddTags": 2,
		}, never: []string{"DescribeListeners"}}.check(t, "switch", rec.since(m))
	})
}
