package gitlab

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Masked replaces a secret in output.
const Masked = "[MASKED]"

// MinSecretLength is the shortest value masked. GitLab itself refuses to mask
// variables under 8 characters: short values (a port, "true", a region) occur
// everywhere in normal output, and masking them would garble the log while
// hiding nothing worth hiding.
const MinSecretLength = 8

// Masker holds secret values and hides them in strings and in everything
// written through its writers, in every encoding the tool's output can give
// them: raw, JSON-escaped, Go-quoted (%q), URL-encoded, HTML-escaped,
// escaped for Markdown or the job log, and base64 (standard and URL
// alphabets, also where the secret sits inside a longer encoded value, such
// as user:password in a registry's auth).
type Masker struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secret values; values shorter than MinSecretLength are ignored.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		if len(v) < MinSecretLength {
			continue
		}
		for _, form := range Forms(v) {
			if len(form) >= MinSecretLength && !contains(m.secrets, form) {
				m.secrets = append(m.secrets, form)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sortByLengthDesc(m.secrets)
}

// Forms are the ways v can appear in output: the tests' secret scan looks for
// each of them.
func Forms(v string) []string {
	forms := []string{
		v,
		quoted(strconv.Quote(v)), quoted(strconv.QuoteToASCII(v)),
		url.QueryEscape(v), url.PathEscape(v),
		html.EscapeString(v), EscapeHTML(v),
		EscapeMarkdown(v), EscapeLog(v),
	}
	for _, escapeHTML := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(v) == nil {
			forms = append(forms, quoted(strings.TrimSuffix(b.String(), "\n")))
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(v)), enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v)))
		// Inside a longer encoded value the secret starts at one of three
		// offsets from a 3-byte group; the characters that depend on the
		// secret alone are the same whatever surrounds it.
		for offset := range 3 {
			data := append(make([]byte, offset), v...)
			s := enc.WithPadding(base64.NoPadding).EncodeToString(data)
			first, last := (8*offset+5)/6, 8*len(data)/6
			if last > first {
				forms = append(forms, s[first:last])
			}
		}
	}
	return forms
}

// quoted strips the quotes of a quoted string: inside a larger quoted string
// (a JSON document, an error's %q) only the inner text appears.
func quoted(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortByLengthDesc(list []string) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && len(list[j]) > len(list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// String masks every secret in s.
func (m *Masker) String(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, sec := range m.secrets {
		s = strings.ReplaceAll(s, sec, Masked)
	}
	return s
}

func (m *Masker) longest() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.secrets) == 0 {
		return 0
	}
	return len(m.secrets[0])
}

// Writer wraps w so that nothing written through it shows a secret, even
// when a secret is split across two writes, and so that control characters
// in the text (escape codes from AWS error messages, descriptions) are shown
// escaped rather than acted upon (see EscapeLog): output is held back until a
// line ends (or, for very long lines, until more than the longest secret is
// pending), then escaped and masked. Call Flush (or Close) at the end to
// write the rest. The tool's own escape codes (log sections) go through
// WriteControl.
func (m *Masker) Writer(w io.Writer) *MaskWriter {
	return &MaskWriter{m: m, w: w}
}

// MaskWriter is a masking writer; see Masker.Writer. Safe for concurrent use.
type MaskWriter struct {
	mu  sync.Mutex
	m   *Masker
	w   io.Writer
	buf []byte
}

// Write buffers p and writes out every complete line, escaped and masked.
func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.buf = append(mw.buf, p...)
	if i := bytes.LastIndexByte(mw.buf, '\n'); i >= 0 {
		if err := mw.emit(i + 1); err != nil {
			return 0, err
		}
	}
	// A long line without a newline: write all but a tail that could still be
	// the start of a secret (or of a character's UTF-8 encoding).
	if keep := mw.m.longest() + utf8.UTFMax; len(mw.buf) > 4096+keep {
		n := len(mw.buf) - keep
		for n > 0 && !utf8.RuneStart(mw.buf[n]) {
			n--
		}
		if err := mw.emitSafe(n); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// WriteControl writes the tool's own control sequence s (a log section
// marker) as it is, after everything written before it: it is neither
// escaped nor held back. Through nested MaskWriters it reaches the innermost
// writer unescaped.
func (mw *MaskWriter) WriteControl(s string) error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.buf) > 0 {
		if err := mw.emit(len(mw.buf)); err != nil {
			return err
		}
	}
	return WriteControl(mw.w, s)
}

// WriteControl writes the control sequence s to w, through WriteControl when
// w is (or wraps) a MaskWriter.
func WriteControl(w io.Writer, s string) error {
	if cw, ok := w.(interface{ WriteControl(string) error }); ok {
		return cw.WriteControl(s)
	}
	_, err := io.WriteString(w, s)
	return err
}

// clean escapes and masks text.
func (mw *MaskWriter) clean(text string) string {
	return mw.m.String(EscapeLog(mw.m.String(text)))
}

// emit writes buf[:n] escaped and masked and keeps the rest.
func (mw *MaskWriter) emit(n int) error {
	out := mw.clean(string(mw.buf[:n]))
	mw.buf = append(mw.buf[:0], mw.buf[n:]...)
	_, err := io.WriteString(mw.w, out)
	return err
}

// emitSafe writes about n bytes of a line without cutting through a secret:
// it masks the whole pending text, and cuts only where the masked and raw
// texts agree on the tail being kept.
func (mw *MaskWriter) emitSafe(n int) error {
	masked := mw.m.String(string(mw.buf))
	tail := string(mw.buf[n:])
	if !strings.HasSuffix(masked, tail) {
		// A secret spans the cut point: write everything masked and keep nothing.
		mw.buf = mw.buf[:0]
		_, err := io.WriteString(mw.w, mw.clean(masked))
		return err
	}
	out := masked[:len(masked)-len(tail)]
	mw.buf = append(mw.buf[:0], tail...)
	_, err := io.WriteString(mw.w, mw.clean(out))
	return err
}

// Flush writes whatever is pending, escaped and masked.
func (mw *MaskWriter) Flush() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.buf) == 0 {
		return nil
	}
	return mw.emit(len(mw.buf))
}

// Close flushes.
func (mw *MaskWriter) Close() error { return mw.Flush() }
