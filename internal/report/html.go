package report

import (
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// htmlWriter builds a page from markup the code writes (raw) and text from
// outside (text), which it always escapes: the one rule html/template would
// enforce here, since no page of ours puts outside text into a script, a
// style or a URL.
type htmlWriter struct{ b strings.Builder }

// raw writes markup that is part of the program, never outside text.
func (w *htmlWriter) raw(s string) *htmlWriter {
	w.b.WriteString(s)
	return w
}

// text writes s escaped, as element text or a quoted attribute value.
func (w *htmlWriter) text(s string) *htmlWriter {
	w.b.WriteString(gitlab.EscapeHTML(s))
	return w
}

func (w *htmlWriter) String() string { return w.b.String() }
