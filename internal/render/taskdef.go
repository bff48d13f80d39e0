package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-containerregistry/pkg/name"
)

// readOnlyFields are members of DescribeTaskDefinition's output that
// RegisterTaskDefinition rejects (aws-facts §3.3); they are dropped.
var readOnlyFields = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// TaskDef is a task definition as a RegisterTaskDefinition input, kept as the
// user wrote it (member names, nesting, unmodelled detail) so it is written
// back unchanged except where rendering changes it.
type TaskDef struct {
	File string
	raw  map[string]any
}

// ParseTaskDef reads a task definition file: a RegisterTaskDefinition input,
// or describe-task-definition output ({"taskDefinition": ..., "tags": ...}).
// Read-only members are dropped; an unknown member is an error naming it.
func ParseTaskDef(data []byte, file string) (*TaskDef, error) {
	var doc any
	if err := decodeStrict(data, &doc, file); err != nil {
		return nil, err
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, &FieldError{File: file, Line: 1, Msg: "a task definition must be a JSON object"}
	}
	raw, wrapped := top, false
	if inner, ok := top["taskDefinition"].(map[string]any); ok {
		wrapped = true
		// describe-task-definition output: tags sit beside the definition.
		raw = inner
		for k := range top {
			if k != "taskDefinition" && k != "tags" && k != "ResponseMetadata" {
				return nil, &FieldError{File: file, Line: keyLines(data)[k], Path: k, Msg: "unexpected member next to taskDefinition in describe-task-definition output"}
			}
		}
		if tags, ok := top["tags"]; ok {
			raw["tags"] = tags
		}
	}
	for _, f := range readOnlyFields {
		delete(raw, f)
	}
	lines := keyLines(data)
	prefix := ""
	if wrapped {
		prefix = "taskDefinition."
		shifted := map[string]int{}
		for k, v := range lines {
			shifted[strings.TrimPrefix(k, prefix)] = v
		}
		if l, ok := lines["tags"]; ok {
			shifted["tags"] = l
		}
		lines = shifted
	}
	if errs := checkFields(raw, reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), "", lines, file); len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	td := &TaskDef{File: file, raw: raw}
	if td.Family() == "" {
		return nil, &FieldError{File: file, Path: "family", Msg: "is required"}
	}
	if len(td.containers()) == 0 {
		return nil, &FieldError{File: file, Path: "containerDefinitions", Msg: "must list at least one container"}
	}
	if _, err := td.Input(); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path := goPathToJSON(te.Field)
			return nil, &FieldError{File: file, Line: lines[path], Path: path, Msg: fmt.Sprintf("expected %s, found a JSON %s", te.Type, te.Value)}
		}
		return nil, &FieldError{File: file, Msg: err.Error()}
	}
	return td, nil
}

// goPathToJSON turns encoding/json's Go field path (ContainerDefinitions.Memory)
// into the member path users write (containerDefinitions.memory).
func goPathToJSON(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		if s != "" {
			parts[i] = strings.ToLower(s[:1]) + s[1:]
		}
	}
	return strings.Join(parts, ".")
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		var a, b *FieldError
		if !errors.As(errs[i], &a) || !errors.As(errs[j], &b) {
			return false
		}
		return a.Line < b.Line || (a.Line == b.Line && a.Path < b.Path)
	})
}

// Family is the task definition family.
func (td *TaskDef) Family() string {
	s, _ := td.raw["family"].(string)
	return s
}

func (td *TaskDef) containers() []map[string]any {
	list, _ := td.raw["containerDefinitions"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Containers lists container names and images in order.
func (td *TaskDef) Containers() [][2]string {
	var out [][2]string
	for _, c := range td.containers() {
		n, _ := c["name"].(string)
		img, _ := c["image"].(string)
		out = append(out, [2]string{n, img})
	}
	return out
}

// Input is the typed RegisterTaskDefinition input. encoding/json matches
// member names to the SDK's Go field names case-insensitively, and
// ParseTaskDef has already refused members the SDK type lacks.
func (td *TaskDef) Input() (*ecs.RegisterTaskDefinitionInput, error) {
	b, err := json.Marshal(td.raw)
	if err != nil {
		return nil, err
	}
	var in ecs.RegisterTaskDefinitionInput
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("the task definition does not fit RegisterTaskDefinition: %w", err)
	}
	return &in, nil
}

// JSON is the rendered task definition, indented, keys sorted.
func (td *TaskDef) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(td.raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ImageRule says which containers get the new image.
type ImageRule struct {
	// Container names the container; empty means: containers holding a
	// placeholder, else the only container, else those whose image is in the
	// same repository as the new one.
	Container string
	// Placeholders are CodePipeline-style names written as <NAME> in image
	// fields (default IMAGE1_NAME).
	Placeholders []string
}

// SetImage points the chosen containers at image and returns their names.
func (td *TaskDef) SetImage(image string, rule ImageRule) ([]string, error) {
	cs := td.containers()
	var chosen []map[string]any
	nameOf := func(c map[string]any) string { s, _ := c["name"].(string); return s }
	imageOf := func(c map[string]any) string { s, _ := c["image"].(string); return s }
	switch {
	case rule.Container != "":
		for _, c := range cs {
			if nameOf(c) == rule.Container {
				chosen = append(chosen, c)
			}
		}
		if len(chosen) == 0 {
			return nil, &FieldError{File: td.File, Path: "containerDefinitions", Msg: fmt.Sprintf("no container is named %q (BG_CONTAINER_NAME); the task definition has %s", rule.Container, strings.Join(td.names(), ", "))}
		}
	default:
		placeholders := rule.Placeholders
		if len(placeholders) == 0 {
			placeholders = []string{"IMAGE1_NAME"}
		}
		for _, c := range cs {
			for _, p := range placeholders {
				if imageOf(c) == "<"+p+">" {
					chosen = append(chosen, c)
				}
			}
		}
		if len(chosen) == 0 && len(cs) == 1 {
			chosen = cs
		}
		if len(chosen) == 0 {
			repo := repository(image)
			for _, c := range cs {
				if repo != "" && repository(imageOf(c)) == repo {
					chosen = append(chosen, c)
				}
			}
		}
		if len(chosen) == 0 {
			return nil, &FieldError{File: td.File, Path: "containerDefinitions", Msg: fmt.Sprintf("cannot tell which of the containers %s gets the new image: set BG_CONTAINER_NAME, or write <IMAGE1_NAME> as its image", strings.Join(td.names(), ", "))}
		}
	}
	var names []string
	for _, c := range chosen {
		c["image"] = image
		names = append(names, nameOf(c))
	}
	return names, nil
}

func (td *TaskDef) names() []string {
	var out []string
	for _, c := range td.Containers() {
		out = append(out, c[0])
	}
	return out
}

func repository(ref string) string {
	r, err := name.ParseReference(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return ""
	}
	return r.Context().String()
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Substitute replaces ${VAR} in every string value with lookup(VAR); a
// variable that is not set is an error naming it and where it is used.
func (td *TaskDef) Substitute(lookup func(string) (string, bool)) error {
	var errs []error
	var walk func(v any, path string) any
	walk = func(v any, path string) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e, join(path, k))
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case string:
			return varRef.ReplaceAllStringFunc(x, func(m string) string {
				name := varRef.FindStringSubmatch(m)[1]
				val, ok := lookup(name)
				if !ok {
					errs = append(errs, &FieldError{File: td.File, Path: path, Msg: fmt.Sprintf("${%s} is not set in the environment", name)})
					return m
				}
				return val
			})
		}
		return v
	}
	walk(td.raw, "")
	sortErrors(errs)
	return errors.Join(errs...)
}

// Tags are the tags registration attaches.
func (td *TaskDef) Tags() []ecstypes.Tag {
	in, err := td.Input()
	if err != nil {
		return nil
	}
	return in.Tags
}

// ReadTaskDef reads and parses a task definition file.
func ReadTaskDef(path string) (*TaskDef, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTaskDef(data, path)
}

// CheckLaunchType reports what keeps the task definition from running with
// the service's launch type: Fargate needs awsvpc networking, task-level cpu
// and memory, and FARGATE among the compatibilities (ECS refuses the
// deployment otherwise, long after the pipeline started).
func (td *TaskDef) CheckLaunchType(launchType string) error {
	if launchType != "FARGATE" {
		return nil
	}
	var errs []error
	if mode, _ := td.raw["networkMode"].(string); mode != "awsvpc" {
		errs = append(errs, &FieldError{File: td.File, Path: "networkMode", Msg: fmt.Sprintf("is %q, but the service runs on Fargate, which needs \"awsvpc\"", mode)})
	}
	for _, k := range []string{"cpu", "memory"} {
		if v, ok := td.raw[k]; !ok || fmt.Sprint(v) == "" {
			errs = append(errs, &FieldError{File: td.File, Path: k, Msg: "is required at the task level on Fargate"})
		}
	}
	compat, _ := td.raw["requiresCompatibilities"].([]any)
	found := false
	for _, c := range compat {
		if c == "FARGATE" {
			found = true
		}
	}
	if !found {
		errs = append(errs, &FieldError{File: td.File, Path: "requiresCompatibilities", Msg: "must include FARGATE for a Fargate service"})
	}
	return errors.Join(errs...)
}
