package component

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// extractSchema prints GitLab's ci.json, which the gitlab-ci-local bundle
// carries as a JavaScript object literal (its build copies it from GitLab's
// app/assets/javascripts/editor/schema/ci.json).
const extractSchema = `
const fs = require("node:fs");
const src = fs.readFileSync(process.argv[1], "utf8");
const start = src.indexOf('{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"');
if (start < 0) { console.error("ci.json not found in " + process.argv[1]); process.exit(2); }
const m = /\};delete (\w+)\.definitions\.include_item/.exec(src.slice(start));
if (!m) { console.error("end of ci.json not found"); process.exit(2); }
const schema = Function("return (" + src.slice(start, start + m.index + 1) + ");")();
process.stdout.write(JSON.stringify(schema));
`

var (
	schemaOnce sync.Once
	schemaDoc  map[string]any
	schemaErr  string
)

// ciSchema returns GitLab's CI schema from the installed gitlab-ci-local.
func ciSchema(t *testing.T) map[string]any {
	t.Helper()
	glci := requireGitLabCILocal(t)
	node := testutil.RequirePeer(t, "node")
	schemaOnce.Do(func() {
		bundle, err := filepath.EvalSymlinks(glci)
		if err != nil {
			schemaErr = err.Error()
			return
		}
		var stderr bytes.Buffer
		cmd := exec.Command(node, "-e", extractSchema, bundle)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			schemaErr = "extracting ci.json from " + bundle + ": " + err.Error() + ": " + stderr.String()
			return
		}
		if err := json.Unmarshal(out, &schemaDoc); err != nil {
			schemaErr = err.Error()
		}
	})
	if schemaErr != "" {
		t.Fatal(schemaErr)
	}
	// The extraction depends on the bundle's layout: check it found the real
	// thing, not a fragment.
	defs, _ := schemaDoc["definitions"].(map[string]any)
	job, _ := defs["job_template"].(map[string]any)
	props, _ := job["properties"].(map[string]any)
	for _, k := range []string{"environment", "id_tokens", "resource_group", "manual_confirmation", "artifacts"} {
		if props[k] == nil {
			t.Fatalf("the extracted ci.json has no job property %s: the gitlab-ci-local bundle changed", k)
		}
	}
	return schemaDoc
}

// compileSchema compiles a copy of the schema; allowComponent lets the spec
// header carry spec:component, which GitLab has and this schema lacks.
func compileSchema(t *testing.T, allowComponent bool) *jsonschema.Schema {
	t.Helper()
	raw, err := json.Marshal(ciSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// Draft-07 validators assert "format"; GitLab's editor treats it as a
	// note, and the schema's own pattern for environment:url allows the
	// "$VARIABLE" the templates use, which is no URI until the job runs.
	dropFormats(doc)
	if allowComponent {
		spec := doc.(map[string]any)["properties"].(map[string]any)["spec"].(map[string]any)
		spec["properties"].(map[string]any)["component"] = map[string]any{
			"type": "array", "items": map[string]any{"enum": []any{"name", "sha", "version", "reference"}},
		}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("ci.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("ci.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks one YAML document (as a node or text) against the schema.
func validate(t *testing.T, s *jsonschema.Schema, what string, doc any) {
	t.Helper()
	var v any
	switch d := doc.(type) {
	case *yaml.Node:
		if err := d.Decode(&v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case []byte:
		if err := yaml.Unmarshal(d, &v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not validate against GitLab's ci.json:\n%v", what, err)
	}
}

// TestSchema_templates validates each template's header and its body,
// expanded with the defaults and with a realistic set of inputs, against
// GitLab's CI schema.
func TestSchema_templates(t *testing.T) {
	t.Parallel()
	body := compileSchema(t, false)
	header := compileSchema(t, true)
	realistic := map[string]map[string]any{
		"deploy": {"job_prefix": "web", "cluster": "prod", "service": "web", "build": true, "smoke_successes": 2, "promote": "manual", "environment": "prod/eu"},
		"switch": {"job_prefix": "shop", "cluster": "prod", "blue_service": "shop-blue", "green_service": "shop-green", "switch_steps": "10,50,100", "job_timeout": "3h 30m"},
		"verify": {"job_prefix": "web", "cluster": "prod", "service": "web", "cleanup": false, "keep": 3},
	}
	for name, tmpl := range loadTemplates(t) {
		validate(t, header, name+" header", tmpl.Header)
		for _, given := range []map[string]any{nil, realistic[name]} {
			values, err := tmpl.Resolve(withRequired(name, given))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := tmpl.Expand(values, map[string]any{"version": nil, "sha": "0123456789abcdef0123456789abcdef01234567"})
			if err != nil {
				t.Fatal(err)
			}
			validate(t, body, name+" body", doc)
			// The schema does not follow extends, and hidden jobs may hold
			// anything: validate the jobs as GitLab sees them once merged.
			var plain map[string]any
			if err := doc.Decode(&plain); err != nil {
				t.Fatal(err)
			}
			merged := map[string]any{}
			for job := range plain {
				if !strings.HasPrefix(job, ".") {
					j := resolveExtends(t, plain, job)
					delete(j, "extends")
					merged[job] = j
				}
			}
			raw, err := yaml.Marshal(merged)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, body, name+" jobs with what they extend", raw)
		}
	}
}

// TestSchema_pipelines validates the example pipeline and the project's own.
func TestSchema_pipelines(t *testing.T) {
	t.Parallel()
	s := compileSchema(t, false)
	for _, name := range []string{"component.yml", ".gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "\n---") {
			t.Errorf("%s has a second YAML document", name)
		}
		validate(t, s, name, data)
	}
}

// TestSchema_rejectsMistakes makes sure the schema check would catch a
// keyword GitLab does not have.
func TestSchema_rejectsMistakes(t *testing.T) {
	t.Parallel()
	s := compileSchema(t, false)
	var v any
	if err := yaml.Unmarshal([]byte("job:\n  script: [x]\n  deploy_to: production\nother:\n  script: [x]\n  environment: {name: p, action: deploy}\n"), &v); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	err := s.Validate(inst)
	if err == nil || !strings.Contains(err.Error(), "deploy_to") {
		t.Fatalf("the schema accepted a keyword GitLab does not have: %v", err)
	}
}

func dropFormats(v any) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["format"].(string); ok {
			delete(v, "format")
		}
		for _, c := range v {
			dropFormats(c)
		}
	case []any:
		for _, c := range v {
			dropFormats(c)
		}
	}
}
