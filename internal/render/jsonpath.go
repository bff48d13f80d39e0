package render

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
)

// FieldError is a problem at one place in a user's file.
type FieldError struct {
	File string
	Line int    // 0 when unknown
	Path string // JSON path, such as containerDefinitions[1].portMappings[0].hostPort
	Msg  string
}

func (e *FieldError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	msg := escapeControls(e.Msg)
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, printable(e.Path), msg)
	}
	return loc + ": " + msg
}

// printable shows a path made of the user's member names so that it can
// neither forge nor colour a log line (control characters are escaped) nor
// flood it (long paths are cut).
func printable(s string) string {
	const maxLen = 160
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	if !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	q := strconv.QuoteToASCII(s)
	return q[1 : len(q)-1]
}

// escapeControls escapes the control characters a message may carry from
// the user's file (messages quote names with %q already; a YAML parser's
// own words might not).
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
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

// checkFields walks raw JSON next to a Go type and reports every member the
// type does not have, so a field is never dropped without a word. Member
// names are matched exactly, as ECS reads them: encoding/json would take
// "Image" for "image" (and let the last of the two win), which ECS does not.
func checkFields(v any, t reflect.Type, path string, lines map[string]int, file string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var errs []error
	switch x := v.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for k, e := range x {
				errs = append(errs, checkFields(e, t.Elem(), join(path, k), lines, file)...)
			}
		case reflect.Struct:
			for k, e := range x {
				f, ok := fieldByMemberName(t, k)
				p := join(path, k)
				if !ok {
					msg := fmt.Sprintf("unknown member %q: RegisterTaskDefinition in this version of ecs-bluegreen does not take it, and it would be lost", k)
					if alt, ok := memberNameFold(t, k); ok {
						msg = fmt.Sprintf("unknown member %q: member names are case-sensitive, did you mean %q?", k, alt)
					}
					errs = append(errs, &FieldError{File: file, Line: lines[p], Path: p, Msg: msg})
					continue
				}
				errs = append(errs, checkFields(e, f.Type, p, lines, file)...)
			}
		case reflect.Interface:
			// A document type (any JSON allowed).
		}
	case []any:
		if t.Kind() == reflect.Slice {
			for i, e := range x {
				errs = append(errs, checkFields(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", lines, file)...)
			}
		}
	}
	return errs
}

// memberName is the wire name of an SDK field: ECS's members are the Go
// field names with a lower-case first letter (containerDefinitions,
// sizeInGiB), which a test checks against the SDK's schemas.
func memberName(f reflect.StructField) string {
	return strings.ToLower(f.Name[:1]) + f.Name[1:]
}

func fieldByMemberName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && memberName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// memberNameFold finds the member a wrongly-cased name meant.
func memberNameFold(t reflect.Type, name string) (string, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && strings.EqualFold(f.Name, name) {
			return memberName(f), true
		}
	}
	return "", false
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
