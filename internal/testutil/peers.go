// Package testutil holds helpers shared by tests; only _test.go files import it.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequirePeer returns the path of an outside program a test compares against
// (the AWS CLI, moto_server, skopeo, chromium, ...). When it is missing the
// test is skipped with a message, or fails when BG_REQUIRE_PEERS=1, as CI sets
// it: CI must never pass by skipping.
func RequirePeer(tb testing.TB, names ...string) string {
	tb.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	MissingPeer(tb, names[0]+" is not installed")
	return ""
}

// MissingPeer skips, or fails under BG_REQUIRE_PEERS=1, saying why.
func MissingPeer(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("BG_REQUIRE_PEERS") == "1" {
		tb.Fatalf("%s, and BG_REQUIRE_PEERS=1 requires it (.ci/run installs it)", why)
	}
	tb.Skipf("%s: skipping (set BG_REQUIRE_PEERS=1 to make this a failure)", why)
}
