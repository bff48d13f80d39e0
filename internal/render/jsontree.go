package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of a user's file: a task definition is a few
// levels deep, and a file nested thousands deep is an attack on the parser,
// not a task definition.
const maxDepth = 64

// jsonDoc is a JSON document decoded in one pass: the value as encoding/json
// gives it (objects as map[string]any, numbers as json.Number) and the line
// of every object member, keyed by its path (containerDefinitions[0].image).
type jsonDoc struct {
	value any
	lines map[string]int
}

// lineCounter turns increasing byte offsets into line numbers, counting each
// byte once: asking for the line of every member from the start of the
// file made parsing quadratic in the file's size.
type lineCounter struct {
	data []byte
	pos  int
	line int
}

func (c *lineCounter) at(off int64) int {
	end := min(int(off), len(c.data))
	if end > c.pos {
		c.line += bytes.Count(c.data[c.pos:end], []byte("\n"))
		c.pos = end
	}
	return c.line
}

// lineOf counts from the start; for the one error a parse ends with.
func lineOf(data []byte, off int64) int {
	return bytes.Count(data[:min(max(int(off), 0), len(data))], []byte("\n")) + 1
}

// jsonFrame is an object or array being filled.
type jsonFrame struct {
	path    string
	obj     map[string]any // nil for an array
	arr     []any
	key     string // the member whose value comes next
	haveKey bool
}

// parseJSON walks the tokens of data once, building the value and the member
// lines, and refuses what encoding/json would let through silently: a member
// given twice (the last one would win), a NUL character (no process
// environment, file name or AWS name can carry one), nesting deeper than
// maxDepth, and anything after the document. Every error names the file and
// the line.
func parseJSON(data []byte, file string) (*jsonDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lc := &lineCounter{data: data, line: 1}
	doc := &jsonDoc{lines: map[string]int{}}
	var stack []*jsonFrame
	done := false
	fail := func(line int, path, msg string) error {
		return &FieldError{File: file, Line: line, Path: path, Msg: msg}
	}
	childPath := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		if top.obj == nil {
			return top.path + "[" + strconv.Itoa(len(top.arr)) + "]"
		}
		return join(top.path, top.key)
	}
	attach := func(v any) {
		if len(stack) == 0 {
			doc.value, done = v, true
			return
		}
		top := stack[len(stack)-1]
		if top.obj == nil {
			top.arr = append(top.arr, v)
			return
		}
		top.obj[top.key] = v
		top.haveKey = false
	}
	for !done {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonSyntaxError(err, data, file, len(stack) == 0)
		}
		line := lc.at(dec.InputOffset())
		if n := len(stack); n > 0 && stack[n-1].obj != nil && !stack[n-1].haveKey {
			top := stack[n-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				attach(top.obj)
				continue
			}
			key, _ := tok.(string) // the decoder yields only strings here
			path := join(top.path, key)
			if strings.IndexByte(key, 0) >= 0 {
				return nil, fail(line, top.path, fmt.Sprintf("member name %q holds a NUL character", key))
			}
			if _, dup := top.obj[key]; dup {
				return nil, fail(line, path, fmt.Sprintf("is given twice (first on line %d): JSON readers disagree on which one counts, so remove one", doc.lines[path]))
			}
			doc.lines[path] = line
			top.key, top.haveKey = key, true
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxDepth {
					// The top-level member is enough to find it; the full
					// path would be 64 segments long.
					top, _, _ := strings.Cut(childPath(), "[")
					top, _, _ = strings.Cut(top, ".")
					return nil, fail(line, top, fmt.Sprintf("nests deeper than %d levels", maxDepth))
				}
				f := &jsonFrame{path: childPath()}
				if t == '{' {
					f.obj = map[string]any{}
				} else {
					f.arr = []any{}
				}
				stack = append(stack, f)
			case ']':
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				attach(top.arr)
			}
		case string:
			if strings.IndexByte(t, 0) >= 0 {
				return nil, fail(line, childPath(), "holds a NUL character (\\u0000), which no container environment or AWS name can carry")
			}
			attach(t)
		default: // json.Number, bool, nil
			attach(t)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fail(lc.at(dec.InputOffset()), "", "extra data after the JSON document: a task definition file holds one object")
	}
	return doc, nil
}

// jsonSyntaxError names the line of what the decoder could not read.
func jsonSyntaxError(err error, data []byte, file string, atTop bool) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &FieldError{File: file, Line: lineOf(data, se.Offset), Msg: "not valid JSON: " + se.Error()}
	case errors.Is(err, io.EOF) && atTop:
		return &FieldError{File: file, Msg: "the file is empty"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{File: file, Line: lineOf(data, int64(len(data))), Msg: "not valid JSON: the document ends too early (a missing } or ])"}
	}
	return &FieldError{File: file, Msg: "not valid JSON: " + err.Error()}
}
