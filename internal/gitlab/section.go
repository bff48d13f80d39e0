package gitlab

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// Sections writes GitLab's collapsible log sections. Outside CI it writes a
// plain header line instead, since the escape codes only make sense in the
// GitLab job log.
type Sections struct {
	W    io.Writer
	InCI bool
	Now  func() time.Time
}

var sectionNameInvalid = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Start opens a section and returns the function that closes it.
//
// The markers are `\e[0Ksection_start:<unix>:<name>[collapsed=true]\r\e[0K<header>`
// and `\e[0Ksection_end:<unix>:<name>\r\e[0K`; names may hold only letters,
// digits, '_', '.' and '-'.
func (s Sections) Start(name, header string, collapsed bool) (end func()) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	header = EscapeLine(header)
	if !s.InCI {
		fmt.Fprintf(s.W, "== %s\n", header)
		return func() {}
	}
	name = sectionNameInvalid.ReplaceAllString(name, "_")
	opts := ""
	if collapsed {
		opts = "[collapsed=true]"
	}
	// The markers go through WriteControl: a masking writer escapes control
	// characters in everything else.
	_ = WriteControl(s.W, fmt.Sprintf("\x1b[0Ksection_start:%d:%s%s\r\x1b[0K", now().Unix(), name, opts))
	fmt.Fprintf(s.W, "%s\n", header)
	return func() {
		_ = WriteControl(s.W, fmt.Sprintf("\x1b[0Ksection_end:%d:%s\r\x1b[0K", now().Unix(), name))
		fmt.Fprint(s.W, "\n")
	}
}
