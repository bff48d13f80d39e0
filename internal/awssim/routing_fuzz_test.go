package awssim

import (
	"regexp"
	"strings"
	"testing"
)

// wildcardRegexp is the reference for wildcard: * any run, ? one byte,
// everything else literal.
func wildcardRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// FuzzWildcard checks the ALB pattern matcher of listener rule conditions
// (patterns come from users' CreateRule calls) against a regexp reference.
func FuzzWildcard(f *testing.F) {
	for _, seed := range [][2]string{
		{"/api/*", "/api/orders"},
		{"*.example.com", "www.example.com"},
		{"gr?en", "green"},
		{"a*b*c", "aXXbYYc"},
		{"*", ""},
		{"?", ""},
		{"**a", "a"},
		{"/old/*", "/old/"},
		{"a*?", "a"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		// The reference works on bytes as wildcard does; keep to ASCII so
		// "?" means one character in both.
		for _, r := range pattern + s {
			if r > 127 {
				return
			}
		}
		if got, want := wildcard(pattern, s), wildcardRegexp(pattern).MatchString(s); got != want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}
