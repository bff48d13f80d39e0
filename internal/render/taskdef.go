package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

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
	// lines maps member paths to their line in File.
	lines map[string]int
}

// ParseTaskDef reads a task definition file: a RegisterTaskDefinition input,
// or describe-task-definition output ({"taskDefinition": ..., "tags": ...}).
// Read-only members are dropped. Everything ECS would refuse, or that would
// silently mean something else, is an error naming the file, line and
// member: unknown or wrongly-cased members, a member given twice, two
// containers of one name, names outside ECS's character set. Parsing is
// linear in the size of data; ReadTaskDef bounds that size.
func ParseTaskDef(data []byte, file string) (*TaskDef, error) {
	doc, err := parseJSON(data, file)
	if err != nil {
		return nil, err
	}
	top, ok := doc.value.(map[string]any)
	if !ok {
		return nil, &FieldError{File: file, Line: 1, Msg: "a task definition must be a JSON object"}
	}
	raw, lines := top, doc.lines
	if inner, ok := top["taskDefinition"].(map[string]any); ok {
		// describe-task-definition output: tags sit beside the definition.
		for k := range top {
			if k != "taskDefinition" && k != "tags" && k != "ResponseMetadata" {
				return nil, &FieldError{File: file, Line: lines[k], Path: k, Msg: "unexpected member next to taskDefinition in describe-task-definition output"}
			}
		}
		raw = inner
		if tags, ok := top["tags"]; ok {
			if _, both := inner["tags"]; both {
				return nil, &FieldError{File: file, Line: lines["tags"], Path: "tags", Msg: "given both inside taskDefinition and beside it: keep one"}
			}
			raw["tags"] = tags
		}
		lines = unwrapLines(lines)
	}
	for _, f := range readOnlyFields {
		delete(raw, f)
	}
	td := &TaskDef{File: file, raw: raw, lines: lines}
	errs := checkFields(raw, reflect.TypeOf(ecs.RegisterTaskDefinitionInput{}), "", lines, file)
	if len(errs) == 0 {
		errs = td.checkNames(false)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
	if td.Family() == "" {
		return nil, &FieldError{File: file, Line: lines["family"], Path: "family", Msg: "is required"}
	}
	if len(td.containers()) == 0 {
		return nil, &FieldError{File: file, Line: lines["containerDefinitions"], Path: "containerDefinitions", Msg: "must list at least one container"}
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

// unwrapLines re-keys the member lines of describe-task-definition output
// to paths inside the task definition; the tags beside it keep theirs.
func unwrapLines(lines map[string]int) map[string]int {
	const prefix = "taskDefinition."
	out := make(map[string]int, len(lines))
	for k, v := range lines {
		switch {
		case strings.HasPrefix(k, prefix):
			out[k[len(prefix):]] = v
		case k == "tags" || strings.HasPrefix(k, "tags["):
			out[k] = v
		}
	}
	return out
}

// awsName is ECS's rule for a task definition family, a container name and
// a volume name: up to 255 letters, numbers, underscores and hyphens.
var awsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// checkNames checks the family and the container and volume names against
// ECS's character set, and that no two containers share a name (ECS would
// refuse the registration, or a later step would pick the wrong one). With
// final false, a name holding a ${VAR} for BG_TASKDEF_SUBSTITUTE is only
// checked for control characters: its real value comes later.
func (td *TaskDef) checkNames(final bool) []error {
	var errs []error
	check := func(v any, path string) (string, bool) {
		s, isString := v.(string)
		if !isString {
			return "", false // a missing or mistyped name is reported elsewhere
		}
		switch {
		case awsName.MatchString(s):
			return s, true
		case !final && varRef.MatchString(s) && !hasControl(s):
			return s, true
		}
		errs = append(errs, &FieldError{File: td.File, Line: td.lines[path], Path: path, Msg: fmt.Sprintf("%s is not a valid ECS name: up to 255 letters, numbers, underscores and hyphens", quoteName(s))})
		return "", false
	}
	if f, ok := td.raw["family"]; ok {
		check(f, "family")
	}
	seen := map[string]int{}
	list, _ := td.raw["containerDefinitions"].([]any)
	for i, c := range list {
		m, _ := c.(map[string]any)
		path := fmt.Sprintf("containerDefinitions[%d].name", i)
		if name, _ := m["name"].(string); name == "" && (m["name"] == nil || m["name"] == "") {
			// RegisterTaskDefinition requires it, and the image rules and
			// the AppSpec name containers by it.
			line := td.lines[path]
			if line == 0 {
				line = td.lines[fmt.Sprintf("containerDefinitions[%d]", i)]
			}
			errs = append(errs, &FieldError{File: td.File, Line: line, Path: path, Msg: "a container has no name: every container definition needs a unique name"})
			continue
		}
		n, ok := check(m["name"], path)
		if !ok {
			continue
		}
		if first, dup := seen[n]; dup {
			errs = append(errs, &FieldError{File: td.File, Line: td.lines[path], Path: path, Msg: fmt.Sprintf("container name %q is used twice (also containerDefinitions[%d]): container names must be unique", n, first)})
			continue
		}
		seen[n] = i
	}
	vols, _ := td.raw["volumes"].([]any)
	for i, v := range vols {
		m, _ := v.(map[string]any)
		if n, ok := m["name"]; ok {
			check(n, fmt.Sprintf("volumes[%d].name", i))
		}
	}
	return errs
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// quoteName shows a name with its control characters escaped, so a newline
// or an escape sequence in it cannot break or colour the job log.
func quoteName(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.QuoteToASCII(s)
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
//
// It is the last step before registration, so the names are checked in full
// here, after BG_TASKDEF_SUBSTITUTE has filled in any ${VAR}.
func (td *TaskDef) SetImage(image string, rule ImageRule) ([]string, error) {
	if errs := td.checkNames(true); len(errs) > 0 {
		sortErrors(errs)
		return nil, errors.Join(errs...)
	}
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
					errs = append(errs, &FieldError{File: td.File, Line: td.lines[path], Path: path, Msg: fmt.Sprintf("${%s} is not set in the environment", name)})
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

// ReadTaskDef reads and parses a task definition file of at most
// MaxFileSize bytes.
func ReadTaskDef(path string) (*TaskDef, error) {
	data, err := ReadFile(path)
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
