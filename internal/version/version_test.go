package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	withBuild := func(mainVersion string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: mainVersion}, Settings: settings}, true
		}
	}
	noBuild := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name             string
		v, c             string
		read             func() (*debug.BuildInfo, bool)
		wantVer, wantCom string
	}{
		{name: "ldflags_win", v: "1.2.3", c: "abc", read: withBuild("v9.9.9", debug.BuildSetting{Key: "vcs.revision", Value: "zzz"}), wantVer: "1.2.3", wantCom: "abc"},
		{name: "module_version_fallback", read: withBuild("v1.0.0"), wantVer: "v1.0.0", wantCom: "unknown"},
		{name: "devel_is_dev", read: withBuild("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "deadbeef"}), wantVer: "dev", wantCom: "deadbeef"},
		{name: "dirty_checkout", read: withBuild("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "deadbeef"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), wantVer: "dev", wantCom: "deadbeef-dirty"},
		{name: "nothing_known", read: noBuild, wantVer: "dev", wantCom: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := resolve(tt.v, tt.c, tt.read)
			if got.Version != tt.wantVer || got.Commit != tt.wantCom {
				t.Errorf("resolve() = %q/%q, want %q/%q", got.Version, got.Commit, tt.wantVer, tt.wantCom)
			}
			if got.GoVersion == "" || got.Platform == "" {
				t.Errorf("resolve() left Go version or platform empty: %+v", got)
			}
		})
	}
}

func TestUserAgent(t *testing.T) {
	t.Parallel()
	if got := (Info{Version: "1.2.3"}).UserAgent(); got != "ecs-bluegreen/1.2.3" {
		t.Errorf("UserAgent() = %q", got)
	}
}
