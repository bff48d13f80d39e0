package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// keyLines maps each object key's JSON path (containerDefinitions[0].image)
// to the line it starts on, so errors can point into the user's file.
func keyLines(data []byte) map[string]int {
	out := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		path    string
		isArray bool
		index   int
		key     string
		wantKey bool
	}
	var stack []*frame
	line := func(off int64) int { return bytes.Count(data[:off], []byte("\n")) + 1 }
	child := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.isArray {
			return f.path + "[" + strconv.Itoa(f.index) + "]"
		}
		if f.path == "" {
			return f.key
		}
		return f.path + "." + f.key
	}
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.isArray {
			f.index++
		} else {
			f.wantKey = true
		}
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{path: child(), wantKey: true})
			case '[':
				stack = append(stack, &frame{path: child(), isArray: true})
			case '}', ']':
				stack = stack[:len(stack)-1]
				afterValue()
			}
		default:
			if len(stack) > 0 && !stack[len(stack)-1].isArray && stack[len(stack)-1].wantKey {
				f := stack[len(stack)-1]
				f.key, f.wantKey = fmt.Sprint(t), false
				// The offset before a key token may sit on the preceding comma.
				rest := data[off:]
				skip := bytes.IndexByte(rest, '"')
				if skip < 0 {
					skip = 0
				}
				out[child()] = line(off + int64(skip))
				continue
			}
			afterValue()
		}
	}
}

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
	if e.Path != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Path, e.Msg)
	}
	return loc + ": " + e.Msg
}

// checkFields walks raw JSON next to a Go type and reports every member the
// type does not have (matching names case-insensitively, as encoding/json
// does), so a field is never dropped without a word.
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
				f, ok := fieldByJSONName(t, k)
				p := join(path, k)
				if !ok {
					errs = append(errs, &FieldError{File: file, Line: lines[p], Path: p, Msg: fmt.Sprintf("unknown field %q: RegisterTaskDefinition in this version of ecs-bluegreen does not take it, and it would be lost", k)})
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// decodeStrict decodes JSON, naming the line of a syntax or type error.
func decodeStrict(data []byte, v any, file string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case asErr(err, &se):
			return &FieldError{File: file, Line: bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n")) + 1, Msg: "not valid JSON: " + se.Error()}
		case asErr(err, &te):
			return &FieldError{File: file, Line: bytes.Count(data[:min(int(te.Offset), len(data))], []byte("\n")) + 1, Path: te.Field, Msg: fmt.Sprintf("expected %s, found a JSON %s", te.Type, te.Value)}
		case errors.Is(err, io.EOF):
			return &FieldError{File: file, Msg: "the file is empty"}
		case errors.Is(err, io.ErrUnexpectedEOF):
			return &FieldError{File: file, Line: bytes.Count(data, []byte("\n")) + 1, Msg: "not valid JSON: the document ends too early (a missing } or ])"}
		}
		return &FieldError{File: file, Msg: err.Error()}
	}
	if dec.More() {
		return &FieldError{File: file, Msg: "extra data after the JSON document"}
	}
	return nil
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }
