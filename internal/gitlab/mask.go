package gitlab

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/url"
	"strings"
	"sync"
)

// Masked replaces a secret in output.
const Masked = "[MASKED]"

// MinSecretLength is the shortest value masked. GitLab itself refuses to mask
// variables under 8 characters: short values (a port, "true", a region) occur
// everywhere in normal output, and masking them would garble the log while
// hiding nothing worth hiding.
const MinSecretLength = 8

// Masker holds secret values and hides them, and their base64 and URL-encoded
// forms, in strings and in everything written through its writers.
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
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)), url.QueryEscape(v)} {
			if !contains(m.secrets, form) {
				m.secrets = append(m.secrets, form)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sortByLengthDesc(m.secrets)
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
// when a secret is split across two writes: output is held back until a line
// ends (or, for very long lines, until more than the longest secret is
// pending), then masked. Call Flush (or Close) at the end to write the rest.
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

// Write buffers p and writes out every complete line, masked.
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
	// the start of a secret.
	if keep := mw.m.longest(); len(mw.buf) > 4096+keep {
		if err := mw.emitSafe(len(mw.buf) - keep); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// emit writes buf[:n] masked and keeps the rest.
func (mw *MaskWriter) emit(n int) error {
	out := mw.m.String(string(mw.buf[:n]))
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
		_, err := io.WriteString(mw.w, masked)
		return err
	}
	out := masked[:len(masked)-len(tail)]
	mw.buf = append(mw.buf[:0], tail...)
	_, err := io.WriteString(mw.w, out)
	return err
}

// Flush writes whatever is pending, masked.
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
