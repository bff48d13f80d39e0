// Package version tells which build of ecs-bluegreen is running.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time: -ldflags "-X gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/version.version=1.2.3 -X ...commit=abc".
var (
	version = ""
	commit  = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's version, preferring the link-time values and falling
// back to what the Go toolchain recorded (go install ...@v1.2.3 sets the module
// version; a build from a checkout records the VCS revision).
func Get() Info {
	return resolve(version, commit, debug.ReadBuildInfo)
}

func resolve(v, c string, read func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: v, Commit: c, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := read(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" && info.Commit != "" && c == "" {
					info.Commit += "-dirty"
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// String is the one-line form `version` prints.
func (i Info) String() string {
	return fmt.Sprintf("ecs-bluegreen %s (commit %s, %s, %s)", i.Version, i.Commit, i.GoVersion, i.Platform)
}

// UserAgent is the product token sent to AWS and registries.
func (i Info) UserAgent() string { return "ecs-bluegreen/" + i.Version }
