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

// link writes inner inside <a href="url"> when url is a relative address or
// an http(s) one, else inner alone: a URL built from outside text (a project
// URL, a service name) never becomes a javascript: link, as html/template
// would ensure.
func (w *htmlWriter) link(url string, inner func()) {
	if url == "" || !safeURL(url) {
		inner()
		return
	}
	w.raw(`<a href="`).text(url).raw(`">`)
	inner()
	w.raw("</a>")
}

// safeURL: http and https addresses, and relative ones (no scheme before
// the first '/', '?' or '#').
func safeURL(u string) bool {
	lower := strings.ToLower(u)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return true
	}
	end := strings.IndexAny(u, "/?#")
	if end < 0 {
		end = len(u)
	}
	return !strings.Contains(u[:end], ":")
}
