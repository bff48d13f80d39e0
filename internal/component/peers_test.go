package component

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// The peers these tests need: gitlab-ci-local 4.x (npm), which needs Node 22
// and rsync. .ci/run installs them; elsewhere the tests skip saying so.
func requireGitLabCILocal(t *testing.T) string {
	t.Helper()
	glci := testutil.RequirePeer(t, "gitlab-ci-local")
	testutil.RequirePeer(t, "rsync")
	node := testutil.RequirePeer(t, "node")
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		testutil.MissingPeer(t, "node --version failed")
	}
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".", 2)[0])
	if major < 22 {
		testutil.MissingPeer(t, fmt.Sprintf("gitlab-ci-local needs Node 22 or later, and the node on PATH is %s (npm's node@22 package provides one)", strings.TrimSpace(string(out))))
	}
	return glci
}

var (
	binaryOnce sync.Once
	binaryDir  string
	binaryErr  error
)

// toolDir builds the real ecs-bluegreen into a folder once per test run and
// returns the folder, to be put first on the jobs' PATH.
func toolDir(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "ecs-bluegreen-component-") //nolint:usetesting // shared by every test of the run; TestMain removes it
		if binaryErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binaryDir, "ecs-bluegreen"), "./cmd/ecs-bluegreen")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("building ecs-bluegreen: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		_ = os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// sandbox is a running `ecs-bluegreen sandbox serve`.
type sandbox struct {
	// Env holds the variables it printed (AWS_ENDPOINT_URL, CI_REGISTRY, ...).
	Env map[string]string
}

// startSandbox runs `ecs-bluegreen sandbox serve` on free ports, at
// sandboxSpeed, and reads the variables it prints; it stops with the test.
func startSandbox(t *testing.T) *sandbox {
	t.Helper()
	bin := filepath.Join(toolDir(t), "ecs-bluegreen")
	cmd := exec.Command(bin, "sandbox", "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BG_SANDBOX_ADDR=127.0.0.1:0", "BG_SANDBOX_REGISTRY_ADDR=127.0.0.1:0", "BG_SANDBOX_SPEED=" + strconv.Itoa(sandboxSpeed), "BG_OUTPUT_DIR=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sb := &sandbox{Env: map[string]string{}}
	lines := make(chan string)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_ = cmd.Wait()
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("sandbox serve stopped before printing its variables:\n%s", stderr.String())
			}
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
				sb.Env[k] = v
			}
			// BG_TEST_URL is the last line it prints.
			if strings.HasPrefix(line, "export BG_TEST_URL=") {
				go func() {
					for range lines { //nolint:revive // drain
					}
				}()
				return sb
			}
		case <-deadline:
			t.Fatalf("sandbox serve printed no variables in 30 s:\n%s", stderr.String())
		}
	}
}

// pipelineVariables are the sandbox's variables a pipeline gets as CI/CD
// variables, but for those named in except: how to reach AWS and the registry. The BG_ ones it prints are
// left out: inputs set those, and a pipeline variable would override them.
func (sb *sandbox) pipelineVariables(except ...string) []string {
	var out []string
	for k, v := range sb.Env {
		if slices.Contains(except, k) {
			continue
		}
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CI_REGISTRY") {
			out = append(out, "--variable", k+"="+v)
		}
	}
	return out
}

// project is a throwaway git repository that includes this checkout's
// templates, as GitLab's own component tests do.
type project struct {
	Dir string
}

// newProject writes the templates, the pipeline and any other files into a
// new repository whose origin is gitlab.example.com/ecs-bluegreen/ecs-bluegreen,
// and commits them (gitlab-ci-local reads tracked files only).
func newProject(t *testing.T, pipeline string, files map[string]string) *project {
	t.Helper()
	dir := t.TempDir()
	for _, name := range templateNames {
		data, err := os.ReadFile(filepath.Join(root, "templates", name+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		files["templates/"+name+".yml"] = string(data)
	}
	files[".gitlab-ci.yml"] = pipeline
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_NOSYSTEM=1"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("remote", "add", "origin", "https://gitlab.example.com/ecs-bluegreen/ecs-bluegreen.git")
	git("add", "-A")
	git("commit", "-q", "-m", "test")
	git("update-ref", "refs/remotes/origin/main", "HEAD")
	git("remote", "set-head", "origin", "main")
	return &project{Dir: dir}
}

// run is one gitlab-ci-local run: its output, exit code and each job's result.
type run struct {
	Output string
	Stdout string
	Code   int
	Jobs   map[string]string // PASS, FAIL or WARN
}

var jobResult = regexp.MustCompile(`(?m)^ (PASS|FAIL|WARN) +(\S+)`)

// gitlabCILocal runs gitlab-ci-local in the project with every job on the
// shell executor (no Docker engine here) and the built ecs-bluegreen first on
// PATH. Only PATH and HOME reach it from this process, so variables of the
// machine running the tests (GitLab's own CI_*, BG_*) cannot leak into jobs.
func (p *project) gitlabCILocal(t *testing.T, args ...string) run {
	t.Helper()
	glci := requireGitLabCILocal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	all := append([]string{"--force-shell-executor", "--shell-isolation", "--no-color", "--max-job-name-padding", "0", "--ignore-predefined-vars", "CI_REGISTRY,CI_REGISTRY_IMAGE,CI_REGISTRY_USER,CI_REGISTRY_PASSWORD"}, args...)
	cmd := exec.CommandContext(ctx, glci, all...)
	cmd.Dir = p.Dir
	home := filepath.Join(p.Dir, ".home")
	cmd.Env = []string{"PATH=" + toolDir(t) + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := append(stdout.Bytes(), stderr.Bytes()...)
	r := run{Output: string(out), Stdout: stdout.String(), Jobs: map[string]string{}}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("gitlab-ci-local: %v\n%s", err, out)
	}
	if ctx.Err() != nil {
		t.Fatalf("gitlab-ci-local ran over 4 minutes:\n%s", out)
	}
	for _, m := range jobResult.FindAllStringSubmatch(r.Output, -1) {
		if m[2] != "Avoid" { // the warning about overriding CI_REGISTRY
			r.Jobs[m[2]] = m[1]
		}
	}
	return r
}

// expect fails the test unless the run ended with code and the jobs ended as
// listed (and no other job ran).
func (r run) expect(t *testing.T, code int, jobs map[string]string) {
	t.Helper()
	bad := r.Code != code || len(r.Jobs) != len(jobs)
	for j, want := range jobs {
		if r.Jobs[j] != want {
			bad = true
		}
	}
	if bad {
		t.Fatalf("gitlab-ci-local exited %d with jobs %v, want %d with %v; output:\n%s", r.Code, r.Jobs, code, jobs, r.Output)
	}
}

// artifact reads a file a job left in its artifacts.
func (p *project) artifact(t *testing.T, job, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(p.Dir, ".gitlab-ci-local", "artifacts", job, name))
	if err != nil {
		t.Fatalf("artifact %s of %s: %v", name, job, err)
	}
	return string(data)
}

// dotenv reads the deploy.env a job left in its inclusion's reports folder,
// .ecs-bluegreen/<job prefix>/.
func (p *project) dotenv(t *testing.T, job string) map[string]string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(p.Dir, ".gitlab-ci-local", "artifacts", job, ".ecs-bluegreen", "*", "deploy.env"))
	if len(matches) != 1 {
		t.Fatalf("%s left %d deploy.env files (%v), want one in its inclusion's folder", job, len(matches), matches)
	}
	rel, _ := filepath.Rel(filepath.Join(p.Dir, ".gitlab-ci-local", "artifacts", job), matches[0])
	env, err := report.ParseDotenv([]byte(p.artifact(t, job, rel)))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// listJSON is gitlab-ci-local --list-json: each job's name and when.
func (p *project) listJSON(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := p.gitlabCILocal(t, append([]string{"--list-json"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("--list-json exited %d:\n%s", r.Code, r.Output)
	}
	// Warnings may come first, on lines of their own.
	start := strings.Index(r.Stdout, "[\n")
	if start < 0 {
		t.Fatalf("no job list in:\n%s", r.Output)
	}
	var jobs []struct{ Name, When string }
	if err := json.Unmarshal([]byte(r.Stdout[start:]), &jobs); err != nil {
		t.Fatalf("%v in:\n%s", err, r.Output)
	}
	out := map[string]string{}
	for _, j := range jobs {
		out[j.Name] = j.When
	}
	return out
}

// fakeIDToken is a GitLab-shaped ID token: the sandbox's STS reads its claims
// without checking the signature, as the tool's OIDC path needs.
func fakeIDToken() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"iss":"https://gitlab.example.com","aud":"https://gitlab.example.com","sub":"project_path:ecs-bluegreen/ecs-bluegreen:ref_type:branch:ref:main","exp":4102444800}`)) + ".c2lnbmF0dXJl"
}
