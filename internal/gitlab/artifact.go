package gitlab

import (
	"path"
	"path/filepath"
	"strings"
)

// ArtifactURL is where GitLab shows the job's artifact file in dir (the
// job's output folder, relative to the project folder projectDir, or
// absolute inside it); "" outside a GitLab job (no jobURL) or for a
// folder outside the project.
func ArtifactURL(jobURL, projectDir, dir, file string) string {
	if jobURL == "" {
		return ""
	}
	if filepath.IsAbs(dir) {
		rel, err := filepath.Rel(projectDir, dir)
		if projectDir == "" || err != nil || strings.HasPrefix(rel, "..") {
			return ""
		}
		dir = rel
	}
	return strings.TrimSuffix(jobURL, "/") + "/artifacts/file/" + path.Join(filepath.ToSlash(filepath.Clean(dir)), file)
}
