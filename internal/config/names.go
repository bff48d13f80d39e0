package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// AWS's documented character sets for the names settings carry. A name that
// breaks them could only fail at AWS, after earlier calls may have changed
// something; a newline or an escape sequence would also reach the job log.
var (
	// ecsName: clusters, services and containers: "up to 255 letters
	// (uppercase and lowercase), numbers, underscores, and hyphens".
	ecsName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// ecrName: ECR repository names, lower case, path segments.
	ecrName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// checkECSName accepts an ECS name or an ECS ARN of the given resource type
// (cluster, service) whose last part is such a name.
func checkECSName(env, v, resource string) []Problem {
	if v == "" {
		return nil
	}
	name := v
	if strings.HasPrefix(v, "arn:") {
		var a ARN
		if err := a.EnvDecode(v); err != nil || a.Service != "ecs" || !strings.HasPrefix(a.Resource, resource+"/") {
			return []Problem{{Var: env, Message: fmt.Sprintf("is neither an ECS %s name nor an ECS %s ARN (arn:aws:ecs:<region>:<account>:%s/...)", resource, resource, resource), Value: v}}
		}
		name = a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	}
	if !ecsName.MatchString(name) {
		return []Problem{{Var: env, Message: fmt.Sprintf("is not a valid ECS %s name: up to 255 letters, numbers, underscores and hyphens", resource), Value: v}}
	}
	return nil
}

// checkFreeName is AWS's rule for names it documents only by length
// (CodeDeploy applications, deployment groups and configurations at 100,
// CloudWatch alarms at 255): any UTF-8 but no control characters.
func checkFreeName(env, v, what string, maxLen int) []Problem {
	switch {
	case v == "":
		return nil
	case !utf8.ValidString(v):
		return []Problem{{Var: env, Message: "is not valid UTF-8", Value: v}}
	case strings.ContainsFunc(v, unicode.IsControl):
		return []Problem{{Var: env, Message: "holds a control character, which no " + what + " name can contain", Value: v}}
	case utf8.RuneCountInString(v) > maxLen:
		return []Problem{{Var: env, Message: fmt.Sprintf("is longer than the %d characters a %s name may have", maxLen, what), Value: v}}
	}
	return nil
}

// checkECRRepository accepts a repository name or a full URI
// (<registry>/<name>).
func checkECRRepository(env, v string) []Problem {
	if v == "" {
		return nil
	}
	name := v
	if host, rest, ok := strings.Cut(v, "/"); ok && strings.ContainsAny(host, ".:") {
		if p := checkHostPort(env, host); p != nil {
			return p
		}
		name = rest
	}
	if len(name) < 2 || len(name) > 256 || !ecrName.MatchString(name) {
		return []Problem{{Var: env, Message: "is not an ECR repository name or URI: lower-case letters, digits and . _ - / (2 to 256), without tag or digest", Value: v}}
	}
	return nil
}

// checkHostPort refuses a registry host whose port is not 1-65535; the
// reference parser takes any digits.
func checkHostPort(env, host string) []Problem {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if err := portOK(host[i+1:]); err != nil {
			return []Problem{{Var: env, Message: "names registry " + host + ", whose port " + err.Error(), Value: host}}
		}
	}
	return nil
}

func portOK(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != s {
		return fmt.Errorf("%q is not a port from 1 to 65535", s)
	}
	return nil
}

// controlFree reports the first control character in v, for the check Load
// applies to every setting: no variable of ours has a use for one, and a
// newline, NUL or escape sequence in a name or path is either a mistake or
// an attempt to forge log lines.
func controlFree(v string) (rune, bool) {
	for _, r := range v {
		if unicode.IsControl(r) {
			return r, false
		}
	}
	return 0, true
}

// writableDir says why dir cannot hold the reports, or "". A folder that
// does not exist yet counts when its nearest existing parent is a folder
// that can be written (the reports create it). The check writes and removes
// a probe file: permissions, read-only mounts and ownership all answer.
func writableDir(dir string) string {
	probe := dir
	for {
		info, err := os.Stat(probe)
		if err == nil {
			if !info.IsDir() {
				if probe == dir {
					return "is a file, not a folder"
				}
				return probe + " is a file, so the folder cannot be created"
			}
			break
		}
		// ENOTDIR: a file stands where a parent folder should be; the walk
		// up finds and names it.
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return "cannot be read: " + reason(err)
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			return "cannot be created: no parent folder exists"
		}
		probe = parent
	}
	f, err := os.CreateTemp(probe, ".ecs-bluegreen-probe-*")
	if err != nil {
		if probe == dir {
			return "cannot be written: " + reason(err)
		}
		return "cannot be created: " + probe + " cannot be written (" + reason(err) + ")"
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return ""
}
