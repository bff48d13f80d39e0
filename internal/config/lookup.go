package config

import (
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// EmptyAsUnset wraps l so that a variable set to the empty string (or only
// blanks) counts as unset. GitLab passes every component input to the job as a
// variable, so inputs the user left out arrive as "" — and go-envconfig would
// otherwise take "" as a value and skip both defaults and `required`.
func EmptyAsUnset(l envconfig.Lookuper) envconfig.Lookuper {
	return envconfig.LookuperFunc(func(key string) (string, bool) {
		v, ok := l.Lookup(key)
		if !ok || strings.TrimSpace(v) == "" {
			return "", false
		}
		return v, true
	})
}

// EnvironLookuper looks variables up in a KEY=value list such as os.Environ(),
// with empty values counting as unset.
func EnvironLookuper(environ []string) envconfig.Lookuper {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[k] = v
		}
	}
	return EmptyAsUnset(envconfig.MapLookuper(m))
}
