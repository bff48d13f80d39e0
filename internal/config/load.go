package config

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode"

	"github.com/sethvargo/go-envconfig"
)

// Problem is one bad or missing setting.
type Problem struct {
	// Var is the environment variable at fault.
	Var string
	// Message says what is wrong and, where it helps, what to do.
	Message string
	// Value is the offending value, shown to the user; always empty for secrets.
	Value string
}

func (p Problem) String() string {
	// Messages may quote the value (a decoder's own error does): escape
	// control characters so no value can forge or colour a log line.
	msg := escapeControl(p.Message)
	if p.Value != "" {
		return fmt.Sprintf("%s %s (got %q)", p.Var, msg, p.Value)
	}
	return p.Var + " " + msg
}

func escapeControl(s string) string {
	if _, clean := controlFree(s); clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Error lists every problem found in one pass, so a user fixes them all at once
// instead of one per pipeline run.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "setting " + e.Problems[0].String()
	}
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("%d settings need attention:", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// Validator is implemented by families with rules across fields.
type Validator interface {
	Validate() []Problem
}

// envValidator is implemented by families that also check variables they
// do not hold (the AWS_* ones the SDK reads itself).
type envValidator interface {
	validateEnv(l envconfig.Lookuper) []Problem
}

// Load fills each target (a pointer to a family struct) from l, then runs the
// families' Validate. Every problem is collected: the returned error is an
// *Error listing them all, or nil.
//
// go-envconfig stops at the first bad field, so each field is decoded on its
// own through a one-field struct built with reflection; that keeps envconfig's
// decoders, defaults (with $VAR expansion) and `required` handling while still
// reporting every field.
func Load(ctx context.Context, l envconfig.Lookuper, targets ...any) error {
	var problems []Problem
	for _, target := range targets {
		v := reflect.ValueOf(target)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			return fmt.Errorf("config.Load: target %T is not a pointer to a struct", target)
		}
		decodeProblems := loadStruct(ctx, l, v.Elem())
		problems = append(problems, decodeProblems...)
		if val, ok := target.(Validator); ok {
			bad := make(map[string]bool, len(decodeProblems))
			for _, p := range decodeProblems {
				bad[p.Var] = true
			}
			for _, p := range val.Validate() {
				// A field that failed to decode is left zero; rules that read it
				// would only repeat the problem in other words.
				if !bad[p.Var] {
					problems = append(problems, p)
				}
			}
		}
		if ev, ok := target.(envValidator); ok {
			problems = append(problems, ev.validateEnv(l)...)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{Problems: problems}
}

func loadStruct(ctx context.Context, l envconfig.Lookuper, sv reflect.Value) []Problem {
	var problems []Problem
	st := sv.Type()
	for i := range st.NumField() {
		f := st.Field(i)
		if !f.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "" {
			if f.Type.Kind() == reflect.Struct {
				problems = append(problems, loadStruct(ctx, l, sv.Field(i))...)
			}
			continue
		}
		if _, found := l.Lookup(key); !found && !strings.Contains(f.Tag.Get("env"), "default=") && !strings.Contains(f.Tag.Get("env"), "required") {
			// Unset and without a default: leave the zero value. (envconfig would
			// hand "" to the field's decoder, which is not a value.)
			continue
		}
		if raw, found := l.Lookup(key); found && f.Tag.Get("secret") != "true" && f.Tag.Get("control") != "allow" {
			if r, ok := controlFree(raw); !ok {
				problems = append(problems, controlProblem(key, r, raw))
				continue
			}
		}
		one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.Type, Tag: f.Tag}}))
		err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: one.Interface(), Lookuper: l})
		if err != nil {
			problems = append(problems, fieldProblem(key, f, l, err))
			continue
		}
		sv.Field(i).Set(one.Elem().Field(0))
	}
	return problems
}

func fieldProblem(key string, f reflect.StructField, l envconfig.Lookuper, err error) Problem {
	if errors.Is(err, envconfig.ErrMissingRequired) {
		return Problem{Var: key, Message: "is required: " + lowerFirst(firstSentence(f.Tag.Get("desc")))}
	}
	if f.Tag.Get("secret") == "true" {
		// The decoder's message may quote the value; say only that it is bad.
		return Problem{Var: key, Message: "has a value that cannot be read (the value is secret and not shown)"}
	}
	msg := err.Error()
	// envconfig prefixes the field name ("V: ") and, for its own decoders, the
	// raw value; keep the reason only.
	msg = strings.TrimPrefix(msg, "V: ")
	if i := strings.LastIndex(msg, ": "); i >= 0 && !strings.HasPrefix(msg, "is ") && !strings.HasPrefix(msg, "must ") {
		msg = msg[i+2:]
	}
	switch f.Type.String() {
	case "time.Duration":
		msg = "is not a duration: use Go syntax such as 90s, 30m or 1h30m"
	case "bool":
		msg = "must be true or false"
	case "int", "int64", "uint", "uint64":
		msg = "must be a whole number"
	}
	raw, _ := l.Lookup(key)
	return Problem{Var: key, Message: msg, Value: raw}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Unknown reports BG_* variables in environ that are no setting of any family,
// with the closest known name: a typo must not silently fall back to a default.
func Unknown(environ []string) []Problem {
	known := map[string]bool{}
	var names []string
	for _, s := range Reference() {
		known[s.Var] = true
		names = append(names, s.Var)
	}
	var problems []Problem
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "BG_") || known[k] {
			continue
		}
		msg := "is not a setting of ecs-bluegreen (see `ecs-bluegreen env`)"
		if s := closest(k, names); s != "" {
			msg = "is not a setting of ecs-bluegreen: did you mean " + s + "?"
		}
		problems = append(problems, Problem{Var: k, Message: msg})
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Var < problems[j].Var })
	return problems
}

func closest(s string, candidates []string) string {
	best, bestDist := "", 4 // more than three edits is not a typo
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
