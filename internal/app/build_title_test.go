package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/sandbox"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// TestBuildRecordsTheCommitTitle: build writes the pipeline's commit title
// (CI_COMMIT_TITLE) into the image's labels and annotations, and status
// shows it for the colour that runs the image, escaped in the Markdown
// table.
func TestBuildRecordsTheCommitTitle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx, sandbox.Options{Seed: true, Speed: 600})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	project := t.TempDir()
	if err := os.WriteFile(filepath.Join(project, "Dockerfile"), []byte("FROM scratch\nCOPY hello /hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const title = "Fix the login page | for <everyone>"
	commit := strings.Repeat("c", 40)
	base := []string{
		"HOME=" + t.TempDir(), "BG_TASKDEF_FILE=" + filepath.Join(t.TempDir(), "none.json"), "BG_APPSPEC_FILE=" + filepath.Join(t.TempDir(), "none.yml"),
		"CI_PROJECT_PATH=group/web", "CI_PROJECT_URL=https://gitlab.example.com/group/web", "CI_PROJECT_DIR=" + project, "BG_BUILD_CONTEXT=" + project,
		"CI_PIPELINE_ID=7", "CI_COMMIT_SHA=" + commit, "CI_COMMIT_TITLE=" + title,
	}
	for _, l := range sb.Exports() {
		base = append(base, strings.TrimPrefix(l, "export "))
	}
	code, stdout, stderr := runIn(t, append(base, "BG_OUTPUT_DIR="+t.TempDir()), "build")
	if code != ExitOK {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	img := strings.TrimSpace(stdout)
	if code, _, stderr := runClocked(t, newFastClock(100), append(base, "BG_OUTPUT_DIR="+t.TempDir(), "BG_IMAGE="+img), "deploy"); code != ExitOK {
		t.Fatalf("deploy %s: exit %d\n%s", img, code, stderr)
	}
	out := t.TempDir()
	code, _, stderr = runIn(t, append(base, "BG_OUTPUT_DIR="+out), "status")
	if code != ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	raw, err := os.ReadFile(filepath.Join(out, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	live := s.Colour(s.Live)
	if live == nil || live.Release == nil {
		t.Fatalf("no release for the live colour %q in status.json:\n%s", s.Live, raw)
	}
	if r := live.Release; r.Title != title || r.Commit != commit {
		t.Fatalf("the live colour's release: %+v, want commit %s titled %q", *r, commit, title)
	}
	md, err := os.ReadFile(filepath.Join(out, "status.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "Fix the login page") || strings.Contains(string(md), "<everyone>") || strings.Contains(string(md), "page | for") {
		t.Errorf("status.md shows the title unescaped or not at all:\n%s", md)
	}
}
