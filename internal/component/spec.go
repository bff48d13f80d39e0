// Package component reads the GitLab CI/CD components in templates/ the way
// GitLab does: the spec:inputs header, input values checked by GitLab's rules,
// and the body with $[[ ... ]] interpolated, so tests can check the components
// without a GitLab server.
package component

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Input is one entry of spec:inputs.
type Input struct {
	Name        string
	Type        string // string, number, boolean or array
	Description string
	// Default is the default value; Mandatory inputs have none.
	Default   any
	Mandatory bool
	Options   []any
	Regex     string
}

// Template is one component: templates/<name>.yml.
type Template struct {
	Name string
	// Inputs in the order the header declares them.
	Inputs []Input
	// Context lists the spec:component fields the body may use.
	Context []string
	// Header and Body are the two YAML documents.
	Header, Body []byte
}

// Load reads templates/<name>.yml (or any file with a spec header).
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return Parse(name, data)
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// Parse splits a component file into its header and body and reads the header.
func Parse(name string, data []byte) (*Template, error) {
	loc := documentSeparator.FindIndex(data)
	if loc == nil {
		return nil, fmt.Errorf("%s: no --- line after the spec header", name)
	}
	t := &Template{Name: name, Header: data[:loc[0]], Body: data[loc[1]:]}
	var doc yaml.Node
	if err := yaml.Unmarshal(t.Header, &doc); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	spec := mapValue(docRoot(&doc), "spec")
	if spec == nil {
		return nil, fmt.Errorf("%s: the header has no spec", name)
	}
	if c := mapValue(spec, "component"); c != nil {
		if err := c.Decode(&t.Context); err != nil {
			return nil, fmt.Errorf("%s: spec:component: %w", name, err)
		}
	}
	inputs := mapValue(spec, "inputs")
	if inputs == nil || inputs.Kind != yaml.MappingNode {
		return t, nil
	}
	for i := 0; i+1 < len(inputs.Content); i += 2 {
		in := Input{Name: inputs.Content[i].Value, Type: "string", Mandatory: true}
		var raw struct {
			Type        string `yaml:"type"`
			Description string `yaml:"description"`
			Options     []any  `yaml:"options"`
			Regex       string `yaml:"regex"`
		}
		def := inputs.Content[i+1]
		if err := def.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%s: input %s: %w", name, in.Name, err)
		}
		if raw.Type != "" {
			in.Type = raw.Type
		}
		in.Description, in.Options, in.Regex = raw.Description, raw.Options, raw.Regex
		if d := mapValue(def, "default"); d != nil {
			in.Mandatory = false
			if err := d.Decode(&in.Default); err != nil {
				return nil, fmt.Errorf("%s: input %s default: %w", name, in.Name, err)
			}
		}
		t.Inputs = append(t.Inputs, in)
	}
	return t, nil
}

// Input returns the input named name.
func (t *Template) Input(name string) (Input, bool) {
	for _, in := range t.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// Resolve applies GitLab's rules to the inputs an include passes: every
// passed input must be declared, every mandatory one passed, and every value
// (given or default) must have the declared type, be one of the options and
// match the regex (RE2, strings only). It returns every input's value.
func (t *Template) Resolve(given map[string]any) (map[string]any, error) {
	var errs []error
	for k := range given {
		if _, ok := t.Input(k); !ok {
			errs = append(errs, fmt.Errorf("unknown input %q", k))
		}
	}
	out := map[string]any{}
	for _, in := range t.Inputs {
		v, ok := given[in.Name]
		if !ok {
			if in.Mandatory {
				errs = append(errs, fmt.Errorf("input %s: a value is required", in.Name))
				continue
			}
			v = in.Default
		}
		if err := in.Check(v); err != nil {
			errs = append(errs, err)
			continue
		}
		out[in.Name] = v
	}
	return out, errors.Join(errs...)
}

// Check tells whether v is a valid value of the input.
func (in Input) Check(v any) error {
	switch in.Type {
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("input %s: %v is not a string", in.Name, v)
		}
	case "number":
		switch v.(type) {
		case int, int64, float64:
		default:
			return fmt.Errorf("input %s: %v is not a number", in.Name, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("input %s: %v is not a boolean", in.Name, v)
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("input %s: %v is not an array", in.Name, v)
		}
	default:
		return fmt.Errorf("input %s: unknown type %q", in.Name, in.Type)
	}
	if len(in.Options) > 0 && !slices.ContainsFunc(in.Options, func(o any) bool { return fmt.Sprint(o) == fmt.Sprint(v) }) {
		return fmt.Errorf("input %s: %v is not one of the options %v", in.Name, v, in.Options)
	}
	if in.Regex != "" {
		if in.Type != "string" {
			return fmt.Errorf("input %s: regex applies only to string inputs", in.Name)
		}
		re, err := regexp.Compile(in.Regex)
		if err != nil {
			return fmt.Errorf("input %s: regex %q is not RE2: %w", in.Name, in.Regex, err)
		}
		if !re.MatchString(v.(string)) {
			return fmt.Errorf("input %s: %q does not match %s", in.Name, v, in.Regex)
		}
	}
	return nil
}

// block is one $[[ ... ]] interpolation block.
var block = regexp.MustCompile(`\$\[\[\s*(.*?)\s*\]\]`)

// Expand interpolates the body with the inputs' values and the component
// context (see Project.Context), as GitLab does: a block that is a whole YAML
// value keeps the input's type; inside a longer string it is written as text,
// and a null context field (component.version of a SHA pin) as nothing.
// Functions (`| name`) are refused: the components do not use them.
func (t *Template) Expand(values map[string]any, context map[string]any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(t.Body, &doc); err != nil {
		return nil, fmt.Errorf("%s: body: %w", t.Name, err)
	}
	var errs []error
	walk(&doc, func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "$[[") {
			return
		}
		if m := block.FindStringSubmatch(n.Value); m != nil && m[0] == n.Value {
			v, err := lookup(m[1], values, context, t.Context)
			if err != nil {
				errs = append(errs, err)
				return
			}
			setScalar(n, v)
			return
		}
		n.Value = block.ReplaceAllStringFunc(n.Value, func(s string) string {
			v, err := lookup(block.FindStringSubmatch(s)[1], values, context, t.Context)
			if err != nil {
				errs = append(errs, err)
				return s
			}
			return text(v)
		})
	})
	return &doc, errors.Join(errs...)
}

func lookup(expr string, values map[string]any, context map[string]any, declared []string) (any, error) {
	if strings.Contains(expr, "|") {
		return nil, fmt.Errorf("interpolation functions are not supported here: %q", expr)
	}
	switch {
	case strings.HasPrefix(expr, "inputs."):
		v, ok := values[strings.TrimPrefix(expr, "inputs.")]
		if !ok {
			return nil, fmt.Errorf("unknown input in %q", expr)
		}
		return v, nil
	case strings.HasPrefix(expr, "component."):
		field := strings.TrimPrefix(expr, "component.")
		if !slices.Contains(declared, field) {
			return nil, fmt.Errorf("%q is not declared in spec:component", expr)
		}
		return context[field], nil
	}
	return nil, fmt.Errorf("unknown interpolation %q", expr)
}

func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = text(p)
		}
		return strings.Join(parts, ",")
	default:
		return fmt.Sprint(v)
	}
}

func setScalar(n *yaml.Node, v any) {
	switch v := v.(type) {
	case nil:
		n.Tag, n.Value, n.Style = "!!null", "null", 0
	case bool:
		n.Tag, n.Value, n.Style = "!!bool", strconv.FormatBool(v), 0
	case int, int64:
		n.Tag, n.Value, n.Style = "!!int", fmt.Sprint(v), 0
	case float64:
		n.Tag, n.Value, n.Style = "!!float", strconv.FormatFloat(v, 'g', -1, 64), 0
	case []any:
		var seq yaml.Node
		_ = seq.Encode(v)
		*n = seq
	default:
		n.Tag, n.Value = "!!str", text(v)
	}
}

// Blocks lists every $[[ ... ]] expression of the body, with the path of
// the YAML keys above it (such as ["web-deploy", "script"]).
func (t *Template) Blocks() ([]Use, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(t.Body, &doc); err != nil {
		return nil, fmt.Errorf("%s: body: %w", t.Name, err)
	}
	var out []Use
	var visit func(n *yaml.Node, path []string)
	visit = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				visit(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				visit(k, path)
				visit(n.Content[i+1], append(slices.Clone(path), k.Value))
			}
		case yaml.ScalarNode:
			for _, m := range block.FindAllStringSubmatch(n.Value, -1) {
				out = append(out, Use{Expr: m[1], Path: path, Whole: m[0] == n.Value})
			}
		}
	}
	visit(&doc, nil)
	return out, nil
}

// Use is one interpolation block in the body.
type Use struct {
	Expr  string
	Path  []string
	Whole bool // the block is the whole YAML value
}

// Variables maps each input passed whole into a job variable (`VAR: "$[[
// inputs.x ]]"`) to the variable's name, and lists every variable the body
// sets with a fixed value.
func (t *Template) Variables() (fromInput map[string][]string, fixed []string, err error) {
	uses, err := t.Blocks()
	if err != nil {
		return nil, nil, err
	}
	fromInput = map[string][]string{}
	for _, u := range uses {
		if len(u.Path) >= 2 && u.Path[len(u.Path)-2] == "variables" && u.Whole && strings.HasPrefix(u.Expr, "inputs.") {
			name := strings.TrimPrefix(u.Expr, "inputs.")
			if v := u.Path[len(u.Path)-1]; !slices.Contains(fromInput[name], v) {
				fromInput[name] = append(fromInput[name], v)
			}
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(t.Body, &doc); err != nil {
		return nil, nil, err
	}
	walk(&doc, func(n *yaml.Node) {
		vars := mapValue(n, "variables")
		if vars == nil || vars.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(vars.Content); i += 2 {
			if !strings.Contains(vars.Content[i+1].Value, "$[[") && !slices.Contains(fixed, vars.Content[i].Value) {
				fixed = append(fixed, vars.Content[i].Value)
			}
		}
	})
	return fromInput, fixed, nil
}

// YAML renders a node back to YAML text.
func YAML(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func docRoot(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = docRoot(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func walk(n *yaml.Node, f func(*yaml.Node)) {
	f(n)
	for _, c := range n.Content {
		walk(c, f)
	}
}
