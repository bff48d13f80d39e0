package gitlab

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// hostile are strings an AWS resource can carry (a deployment description,
// a tag value, an error message) that must not act on the job log or on a
// Markdown document.
var hostile = []struct{ name, text string }{
	{"ansi_colour", "\x1b[31mred\x1b[0m"},
	{"ansi_clear", "\x1b[2J\x1b[H"},
	{"carriage_return", "deploying\rdeployment succeeded"},
	{"section_start", "\x1b[0Ksection_start:1764000000:fake[collapsed=true]\r\x1b[0KLooks fine"},
	{"section_end", "\x1b[0Ksection_end:1764000000:deploy\r\x1b[0K"},
	{"c1_csi", "\u009b31mred"},
	{"bidi_override", "abc\u202edcba"},
	{"invalid_utf8", "a\xffb"},
	{"nul_bell", "a\x00b\x07c"},
	{"html", `<img src=x onerror=alert(1)><script>alert(1)</script>`},
	{"table_pipe", "a | b | c"},
	{"markdown_link", "[click](https://evil.example/)"},
	{"backticks", "``code`` and `x`"},
	{"newline", "line one\n| forged | row |"},
	{"emphasis", "**bold** _it_ ~~gone~~ $math$"},
}

// logSafe reports whether s can act on a terminal or GitLab's log parser:
// any control character but newline and tab, or a bidi override.
func logSafe(s string, oneLine bool) bool {
	for _, r := range s {
		if r == '\t' || r == '\n' && !oneLine {
			continue
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x202e || r == '\ufffd' {
			return false
		}
	}
	return true
}

func TestEscapeLog(t *testing.T) {
	t.Parallel()
	for _, tt := range hostile {
		got := EscapeLog(tt.text)
		if !logSafe(got, false) {
			t.Errorf("%s: EscapeLog(%q) = %q still acts on the log", tt.name, tt.text, got)
		}
		if line := EscapeLine(tt.text); !logSafe(line, true) || strings.Contains(line, "\n") {
			t.Errorf("%s: EscapeLine(%q) = %q", tt.name, tt.text, line)
		}
	}
	for in, want := range map[string]string{
		"\x1b[31mred":       `\x1b[31mred`,
		"a\rb":              `a\rb`,
		"tab\tand\nnewline": "tab\tand\nnewline",
		"ünïcode ✓":         "ünïcode ✓",
		"a\xffb":            `a\xffb`,
		"\u202e":            `\u202e`,
	} {
		if got := EscapeLog(in); got != want {
			t.Errorf("EscapeLog(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeMarkdown(t *testing.T) {
	t.Parallel()
	for _, tt := range hostile {
		for name, got := range map[string]string{"text": EscapeMarkdown(tt.text), "code": MarkdownCode(tt.text)} {
			if !logSafe(got, true) || strings.Contains(got, "\n") {
				t.Errorf("%s/%s: %q spans lines or keeps control characters: %q", tt.name, name, tt.text, got)
			}
			if strings.Count(strings.ReplaceAll(got, `\|`, ""), "|") > 0 {
				t.Errorf("%s/%s: an unescaped | would end a table cell: %q", tt.name, name, got)
			}
			if name == "text" && (strings.ContainsAny(got, "<>") || strings.Contains(got, "](")) {
				t.Errorf("%s/%s: HTML or a link survives: %q", tt.name, name, got)
			}
		}
	}
	for in, want := range map[string]string{
		"web-blue":              "web-blue",
		"[pipeline 12]":         "[pipeline 12]",
		"a|b":                   `a\|b`,
		"<b>&":                  "&lt;b&gt;&amp;",
		"*x*":                   `\*x\*`,
		"[a](http://e.example)": `[a]\(http://e.example)`,
	} {
		if got := EscapeMarkdown(in); got != want {
			t.Errorf("EscapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"web": "`web`", "a`b": "`` a`b ``", "a|b": "`a\\|b`"} {
		if got := MarkdownCode(in); got != want {
			t.Errorf("MarkdownCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMaskWriterEscapesButKeepsSections: text written through the masking
// writer shows its escape codes; the tool's own section markers, through
// WriteControl, stay markers, also through nested writers.
func TestMaskWriterEscapesButKeepsSections(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var m Masker
	outer := m.Writer(&out)
	inner := m.Writer(outer)
	now := func() time.Time { return time.Unix(1764000000, 0) }
	end := Sections{W: inner, InCI: true, Now: now}.Start("deploy", "Deploying \x1b[2Jweb", true)
	for _, tt := range hostile {
		_, _ = inner.Write([]byte(tt.name + ": " + tt.text + "\n"))
	}
	end()
	_ = inner.Flush()
	_ = outer.Flush()
	got := out.String()
	if strings.Count(got, "\x1b[0Ksection_start:") != 1 || strings.Count(got, "\x1b[0Ksection_end:") != 1 {
		t.Errorf("want exactly our two section markers, got:\n%q", got)
	}
	rest := strings.NewReplacer("\x1b[0Ksection_start:1764000000:deploy[collapsed=true]\r\x1b[0K", "", "\x1b[0Ksection_end:1764000000:deploy\r\x1b[0K", "").Replace(got)
	if !logSafe(rest, false) {
		t.Errorf("hostile text acts on the log:\n%q", rest)
	}
	if !strings.Contains(rest, `Deploying \x1b[2Jweb`) {
		t.Errorf("the header is not escaped:\n%q", rest)
	}
}

// FuzzEscape: whatever AWS sends, the escaped text cannot act on the log or
// on a Markdown table.
func FuzzEscape(f *testing.F) {
	for _, tt := range hostile {
		f.Add(tt.text)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := EscapeLog(s); !logSafe(got, false) {
			t.Errorf("EscapeLog(%q) = %q", s, got)
		}
		for _, got := range []string{EscapeLine(s), EscapeMarkdown(s), MarkdownCode(s)} {
			if !logSafe(got, true) || strings.Contains(got, "\n") {
				t.Errorf("%q escaped to %q, which is not one clean line", s, got)
			}
		}
		for _, got := range []string{EscapeMarkdown(s), MarkdownCode(s)} {
			if strings.Contains(strings.ReplaceAll(got, `\|`, ""), "|") {
				t.Errorf("%q escaped to %q, which ends a table cell", s, got)
			}
		}
		if got := EscapeMarkdown(s); strings.ContainsAny(got, "<>") {
			t.Errorf("EscapeMarkdown(%q) = %q keeps HTML", s, got)
		}
	})
}

// TestEscapeHTML: the escaper that stands in for html/template escapes what
// html/template's text and attribute contexts escape, and leaves the rest.
func TestEscapeHTML(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "web-blue", want: "web-blue"},
		{in: `<script>alert("x")</script>`, want: "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"},
		{in: `" onmouseover='x'`, want: "&#34; onmouseover=&#39;x&#39;"},
		{in: "a&b+c", want: "a&amp;b&#43;c"},
		{in: "nul\x00", want: "nul\uFFFD"},
		{in: "&amp;", want: "&amp;amp;"}, // escaped again: the text is not markup
	}
	for _, tt := range tests {
		if got := EscapeHTML(tt.in); got != tt.want {
			t.Errorf("EscapeHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range hostile {
		if got := EscapeHTML(tt.text); strings.ContainsAny(got, `<>"'`) {
			t.Errorf("%s: markup or a quote survives: %q", tt.name, got)
		}
	}
}
