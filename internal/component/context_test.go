package component

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// A component project as GitLab sees it: two Catalog releases and a
// pre-release, the default branch and a feature branch.
const (
	sha100  = "1000000000000000000000000000000000000001"
	sha110  = "1100000000000000000000000000000000000011"
	shaRC   = "1200000000000000000000000000000000000012"
	shaMain = "4000000000000000000000000000000000000004"
	shaFeat = "5000000000000000000000000000000000000005"
)

var catalogProject = Project{
	Catalog:  true,
	Releases: map[string]string{"1.0.0": sha100, "1.1.0": sha110, "1.2.0-rc.1": shaRC},
	Refs:     map[string]string{"1.0.0": sha100, "1.1.0": sha110, "1.2.0-rc.1": shaRC, "main": shaMain, "feature": shaFeat},
}

// TestContext_likeGitLab checks the model of GitLab's component context
// against what Gitlab::Ci::Components::InstancePath resolves for each kind
// of pin: the version only for Catalog releases, the commit always.
func TestContext_likeGitLab(t *testing.T) {
	t.Parallel()
	notCatalog := catalogProject
	notCatalog.Catalog = false
	tests := []struct {
		name      string
		project   Project
		reference string
		version   any
		sha       string
	}{
		{name: "release_tag", project: catalogProject, reference: "1.1.0", version: "1.1.0", sha: sha110},
		{name: "latest_skips_prerelease", project: catalogProject, reference: "~latest", version: "1.1.0", sha: sha110},
		{name: "major", project: catalogProject, reference: "1", version: "1.1.0", sha: sha110},
		{name: "minor", project: catalogProject, reference: "1.0", version: "1.0.0", sha: sha100},
		{name: "prerelease_by_name", project: catalogProject, reference: "1.2.0-rc.1", version: "1.2.0-rc.1", sha: shaRC},
		{name: "full_sha", project: catalogProject, reference: shaMain, version: nil, sha: shaMain},
		{name: "short_sha", project: catalogProject, reference: shaFeat[:8], version: nil, sha: shaFeat},
		{name: "branch", project: catalogProject, reference: "main", version: nil, sha: shaMain},
		{name: "tag_outside_catalog", project: notCatalog, reference: "1.1.0", version: nil, sha: sha110},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.project.Context("deploy", tt.reference)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"name": "deploy", "reference": tt.reference, "version": tt.version, "sha": tt.sha}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("context (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := catalogProject.Context("deploy", "no-such-ref"); err == nil {
		t.Error("an unknown reference resolved")
	}
}

// dockerTag is what a registry accepts as a tag.
var dockerTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// pullable returns the tag of image if it names one a registry can hold.
func pullable(image string) (string, bool) {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return "", false
	}
	tag := image[i+1:]
	return tag, dockerTag.MatchString(tag)
}

// TestTemplates_imageForEveryPin expands each template as GitLab would for
// every kind of pin and checks that its jobs run an image that exists: the
// tool image tagged with the commit the pin resolved to, which the project's
// own pipeline pushes for every commit (container-image tags it
// $CI_COMMIT_SHA). It also checks the check: the image tagged by
// component.version, as the templates had it, is unpullable for a SHA pin.
func TestTemplates_imageForEveryPin(t *testing.T) {
	t.Parallel()
	pushed := projectImageTags(t)
	if !pushed["$CI_COMMIT_SHA"] {
		t.Fatalf("the project's container-image job does not tag its image with $CI_COMMIT_SHA (it tags %v): the components' image would not exist", pushed)
	}
	for name, tmpl := range loadTemplates(t) {
		values, err := tmpl.Resolve(withRequired(name, nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{"1.1.0", "~latest", "1", shaMain, shaFeat[:8], "main", "feature"} {
			ctx, err := catalogProject.Context(name, ref)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := tmpl.Expand(values, ctx)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]map[string]any
			if err := doc.Decode(&body); err != nil {
				t.Fatal(err)
			}
			for job, j := range body {
				image, ok := j["image"].(string)
				if !ok {
					continue
				}
				tag, ok := pullable(image)
				if !ok || tag != ctx["sha"] || !strings.HasPrefix(image, "registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:") {
					t.Errorf("%s@%s: %s runs %q, want registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:%s", name, ref, job, image, ctx["sha"])
				}
			}
		}
	}
	old, err := Parse("old", []byte("spec:\n  component: [version]\n---\njob:\n  image: registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:$[[ component.version ]]\n  script: [x]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := catalogProject.Context("deploy", shaMain)
	doc, err := old.Expand(nil, ctx)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]map[string]any
	if err := doc.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if image := body["job"]["image"].(string); image != "registry.gitlab.com/ecs-bluegreen/ecs-bluegreen:" {
		t.Errorf("the model gave %q for component.version of a SHA pin, want the empty tag GitLab gives", image)
	} else if _, ok := pullable(image); ok {
		t.Error("pullable accepted an image without a tag")
	}
}

// projectImageTags lists the tags the project's container-image job gives
// its image in every pipeline.
func projectImageTags(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var ci map[string]any
	if err := yaml.Unmarshal(data, &ci); err != nil {
		t.Fatal(err)
	}
	job, _ := ci["container-image"].(map[string]any)
	vars, _ := job["variables"].(map[string]any)
	if vars["BG_REGISTRY_IMAGE"] != "$CI_REGISTRY_IMAGE" {
		t.Fatalf("container-image pushes to %v, want $CI_REGISTRY_IMAGE (registry.gitlab.com/ecs-bluegreen/ecs-bluegreen)", vars["BG_REGISTRY_IMAGE"])
	}
	return map[string]bool{vars["BG_COMMIT_TAG"].(string): true}
}
