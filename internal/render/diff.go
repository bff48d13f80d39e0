package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Change is one difference between two task definitions.
type Change struct {
	// Path is the JSON path of the member. List items that carry a name
	// (containers, environment variables, secrets, tags) are addressed by it,
	// so adding a container does not show every later one as changed.
	Path string
	// Old and New are the values; nil means the member is absent.
	Old, New any
}

func (c Change) String() string {
	switch {
	case c.Old == nil:
		return "+ " + c.Path + ": " + short(c.New)
	case c.New == nil:
		return "- " + c.Path + ": " + short(c.Old)
	default:
		return "~ " + c.Path + ": " + short(c.Old) + " -> " + short(c.New)
	}
}

// short writes a value as JSON, cut so one change stays one readable line.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const limit = 160
	if s := string(b); len(s) > limit {
		return s[:limit-3] + "..."
	}
	return string(b)
}

// Diff lists what changes from one task definition to another, in path
// order. Differences that mean nothing to ECS are left out: members it fills
// in with their defaults (essential true, protocol tcp, hostPort equal to
// containerPort) and empty lists or maps.
func Diff(from, to *TaskDef) []Change {
	var out []Change
	diffValues("", normaliseWire(from.raw), normaliseWire(to.raw), &out)
	return out
}

func diffValues(path string, a, b any, out *[]Change) {
	if reflect.DeepEqual(a, b) {
		return
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := slices.Sorted(maps.Keys(am))
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffValues(join(path, k), am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok {
		if ka, kb := keyed(al), keyed(bl); ka != nil && kb != nil {
			names := slices.Sorted(maps.Keys(ka))
			for n := range kb {
				if _, ok := ka[n]; !ok {
					names = append(names, n)
				}
			}
			slices.Sort(names)
			for _, n := range names {
				diffValues(path+"["+n+"]", ka[n], kb[n], out)
			}
			return
		}
	}
	*out = append(*out, Change{Path: path, Old: a, New: b})
}

// keyed indexes a list of objects by their name (or key, for tags), or
// returns nil when the items are not all uniquely named.
func keyed(list []any) map[string]any {
	out := map[string]any{}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil
		}
		name, _ := m["name"].(string)
		if name == "" {
			name, _ = m["key"].(string)
		}
		if _, dup := out[name]; name == "" || dup {
			return nil
		}
		out[name] = m
	}
	return out
}

// normaliseWire is normalise for the JSON member names of a file.
func normaliseWire(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			n := normaliseWire(e)
			if n == nil || isEmptyCollection(n) {
				continue
			}
			out[k] = n
		}
		if b, ok := out["essential"].(bool); ok && b {
			delete(out, "essential")
		}
		if p, ok := out["protocol"].(string); ok && p == "tcp" {
			delete(out, "protocol")
		}
		if hp, ok := out["hostPort"]; ok && numberEqual(hp, out["containerPort"]) {
			delete(out, "hostPort")
		}
		if c, ok := out["cpu"]; ok && numberEqual(c, 0) {
			delete(out, "cpu") // a container's cpu 0, which ECS echoes
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, normaliseWire(e))
		}
		return out
	case json.Number:
		var f float64
		_, _ = fmt.Sscan(x.String(), &f)
		return f
	case int:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

func isEmptyCollection(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func numberEqual(a, b any) bool {
	return fmt.Sprint(normaliseWire(a)) == fmt.Sprint(normaliseWire(b))
}

// FormatDiff writes changes one per line, indented for a job log.
func FormatDiff(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		b.WriteString("  " + c.String() + "\n")
	}
	return b.String()
}
