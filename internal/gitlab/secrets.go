package gitlab

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// jobSecrets are the variables GitLab (and the AWS SDK's conventions) put in
// a job that are credentials: GitLab masks the job token and the passwords
// it derives from it, CI_REPOSITORY_URL carries the job token in its user
// info, and the CI_JOB_JWT family are ID tokens (deprecated in favour of
// id_tokens, whose names the job chooses: those are recognised by value).
var jobSecrets = map[string]bool{
	"CI_JOB_TOKEN": true, "CI_JOB_JWT": true, "CI_JOB_JWT_V1": true, "CI_JOB_JWT_V2": true,
	"CI_REGISTRY_PASSWORD": true, "CI_DEPLOY_PASSWORD": true, "CI_DEPENDENCY_PROXY_PASSWORD": true,
	"CI_REPOSITORY_URL": true, "CI_BUILD_TOKEN": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_SECURITY_TOKEN": true,
}

// secretWords are name parts (between underscores) that mark a variable as a
// credential. A job cannot see which of its variables GitLab masks (the
// runner keeps that flag to itself), so a name that says "token" or
// "password" is taken at its word.
var secretWords = map[string]bool{
	"TOKEN": true, "TOKENS": true, "PASSWORD": true, "PASSWD": true, "PASSPHRASE": true,
	"SECRET": true, "SECRETS": true, "CREDENTIAL": true, "CREDENTIALS": true, "PRIVATE": true,
	"APIKEY": true, "JWT": true, "AUTH": true, "COOKIE": true, "KEY": true,
}

// notSecretSuffixes end names that point at a secret rather than hold one
// (a file path, an ARN, a key's public id, a token service's URL): masking
// those would garble the log and substituting them is harmless. A URL that
// embeds a secret is still caught by its value.
var notSecretSuffixes = []string{"_FILE", "_PATH", "_DIR", "_ARN", "_ID", "_NAME", "_USER", "_USERNAME", "_TYPE", "_AUD", "_SOCK", "_PREFIXES", "_URL", "_HOST", "_ENDPOINT", "_REGION"}

// tokenPrefixes are GitLab's token prefixes, which the runner masks
// wherever they appear (CI_TOKEN_MASK_PREFIXES adds an instance's own).
var tokenPrefixes = []string{
	"glpat-", "gldt-", "glrt-", "glrtr-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "gloas-",
	"glsoat-", "glffct-", "glwt-", "gltst-", "GR1348941",
}

// jwtShape is a JSON Web Token: the ID tokens a job gets from id_tokens.
var jwtShape = regexp.MustCompile(`^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

// Secrets are the variables of a job that hold credentials, found by name
// (GitLab's own job secrets, our secret settings, names such as *_TOKEN or
// *_PASSWORD) and by value (GitLab token prefixes, ID tokens, private keys,
// and any value that contains another secret).
type Secrets struct {
	why    map[string]string // variable -> why it counts as a secret
	values []string
}

// FindSecrets classifies the variables of environ (NAME=value lines); names
// are further variables known to be secret (the tool's secret settings).
func FindSecrets(environ []string, names ...string) *Secrets {
	s := &Secrets{why: map[string]string{}}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	prefixes := append([]string(nil), tokenPrefixes...)
	for _, p := range strings.Split(vars["CI_TOKEN_MASK_PREFIXES"], ",") {
		if p = strings.TrimSpace(p); len(p) >= 3 {
			prefixes = append(prefixes, p)
		}
	}
	for k, v := range vars {
		switch {
		case jobSecrets[k]:
			s.why[k] = "a credential GitLab or AWS gives the job"
		case known[k]:
			s.why[k] = "a secret setting"
		case secretName(k):
			s.why[k] = "its name marks it as a credential"
		case secretValue(v, prefixes):
			s.why[k] = "its value is a token or key"
		}
	}
	// A value that embeds a secret (a URL with the job token in it) is one.
	for k, v := range vars {
		if _, ok := s.why[k]; ok || len(v) < MinSecretLength {
			continue
		}
		for sk := range s.why {
			if sv := vars[sk]; len(sv) >= MinSecretLength && strings.Contains(v, sv) {
				s.why[k] = "its value contains " + sk
				break
			}
		}
	}
	for k := range s.why {
		if v := vars[k]; v != "" {
			s.values = append(s.values, v)
		}
	}
	sort.Strings(s.values)
	return s
}

func secretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, suf := range notSecretSuffixes {
		if strings.HasSuffix(upper, suf) {
			return false
		}
	}
	for _, part := range strings.FieldsFunc(upper, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if secretWords[part] {
			return true
		}
	}
	return false
}

func secretValue(v string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(v, p) && len(v) >= len(p)+MinSecretLength {
			return true
		}
	}
	return jwtShape.MatchString(v) || strings.Contains(v, "PRIVATE KEY-----")
}

// Why says why name holds a secret, or "" when it does not.
func (s *Secrets) Why(name string) string { return s.why[name] }

// Names are the secret variables, sorted.
func (s *Secrets) Names() []string {
	out := make([]string, 0, len(s.why))
	for k := range s.why {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Values are the secret values, for a Masker.
func (s *Secrets) Values() []string { return append([]string(nil), s.values...) }

// SubstitutionError is a ${VAR} that names a secret: substituting it would
// put the secret into the task definition, which ECS shows to anyone who can
// describe it, and into the rendered artifact.
type SubstitutionError struct {
	Vars []string // the secret variables referenced, sorted
	Why  map[string]string
}

func (e *SubstitutionError) Error() string {
	parts := make([]string, 0, len(e.Vars))
	for _, v := range e.Vars {
		parts = append(parts, fmt.Sprintf("${%s} (%s)", v, e.Why[v]))
	}
	return fmt.Sprintf("BG_TASKDEF_SUBSTITUTE refuses to put secret variables into the task definition: %s; "+
		"give the container the secret through its `secrets` list instead, each with a `valueFrom` naming an SSM Parameter Store "+
		"parameter or a Secrets Manager secret, which ECS injects when the task starts and never shows", strings.Join(parts, ", "))
}

// Substitute runs a task definition's ${VAR} substitution (such as
// render.TaskDef.Substitute) over environ, refusing every secret variable:
// none is substituted, and the error names each one. Other variables are
// looked up in environ, empty values counting as unset.
func Substitute(substitute func(lookup func(string) (string, bool)) error, environ []string, secretNames ...string) error {
	secrets := FindSecrets(environ, secretNames...)
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	refused := map[string]bool{}
	err := substitute(func(name string) (string, bool) {
		if secrets.Why(name) != "" {
			refused[name] = true
			return "", true // keeps the substitution from reporting it unset; the result is discarded below
		}
		v, ok := vars[name]
		return v, ok && v != ""
	})
	if len(refused) > 0 {
		se := &SubstitutionError{Why: map[string]string{}}
		for n := range refused {
			se.Vars = append(se.Vars, n)
			se.Why[n] = secrets.Why(n)
		}
		sort.Strings(se.Vars)
		return se
	}
	return err
}
