package gitlab

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text read from AWS (a deployment description someone else wrote, a name,
// an error message) is not ours: in the job log its ANSI escape sequences
// would colour or clear the log, a carriage return would overwrite a line,
// and a forged `\e[0Ksection_start:…\r\e[0K` would fold or close the log's
// sections (GitLab recognises a marker only with its escape code and
// carriage return). The escapers below make such text visible instead of
// acted upon.

// EscapeLog makes s safe to print in the job log, keeping newlines and
// tabs: every other control character (C0, DEL, C1), Unicode's bidirectional
// overrides, and invalid UTF-8 become visible escapes such as \x1b.
func EscapeLog(s string) string { return escapeControls(s, false) }

// EscapeLine is EscapeLog for text that must stay on one line (a dotenv
// value, a table cell): newlines become \n too.
func EscapeLine(s string) string { return escapeControls(s, true) }

func escapeControls(s string, oneLine bool) string {
	if !needsEscape(s, oneLine) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && oneLine:
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafeRune(r, oneLine):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, oneLine bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\r' || r == '\n' && oneLine || unsafeRune(r, oneLine) {
			return true
		}
		i += size
	}
	return false
}

func unsafeRune(r rune, oneLine bool) bool {
	switch {
	case r == '\t':
		return false
	case r == '\n':
		return oneLine
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		// Bidirectional controls reorder what a reader sees.
		return true
	}
	return false
}

// markdownSpecial are the characters GitLab Flavored Markdown acts on in the
// middle of a line (emphasis, code, tables, strikethrough, math); a
// backslash makes each literal. Brackets make a link only as `[text](url)`
// (the document defines no references), so EscapeMarkdown breaks `](`
// rather than every bracket, which keeps names like "[pipeline 12]" readable
// in the job log. `<`, `>` and `&` become entities instead,
// since raw HTML is rendered.
const markdownSpecial = "\\`*_|~$"

// EscapeMarkdown makes s literal text in a Markdown document (status.md, a
// table cell): HTML becomes entities, Markdown punctuation is
// backslash-escaped (so a `|` cannot end a table cell), and newlines and
// control characters are escaped so a cell stays one line.
func EscapeMarkdown(s string) string {
	s = EscapeLine(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r < 0x80 && strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.ReplaceAll(b.String(), "](", `]\(`)
}

// MarkdownCode is s as inline code: a code span shows its text literally, so
// only what could end the span or the table row needs care. A backtick in s
// takes a longer fence; `|` is escaped, which GitLab honours inside code in
// tables; HTML is shown as written.
func MarkdownCode(s string) string {
	s = strings.ReplaceAll(EscapeLine(s), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if fence == "`" {
		return "`" + s + "`"
	}
	return fence + " " + s + " " + fence
}

// htmlEscaper replaces what HTML text and double- or single-quoted
// attribute values must not carry raw: markup, quotes, and '+' (which
// UTF-7 sniffing once read as markup), as html/template does; NUL becomes
// U+FFFD, which is what a browser shows for it anyway.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// EscapeHTML makes s safe as HTML text or as a quoted attribute value.
// It stands in for html/template, whose use anywhere in the binary keeps
// every exported method of every type in it (text/template calls methods
// by name, so the linker cannot drop any): 9.5 MB of the tool's image.
func EscapeHTML(s string) string { return htmlEscaper.Replace(s) }
