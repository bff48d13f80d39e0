package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// DotenvFile is the name of the dotenv report in the output folder; the
// component declares it as `artifacts:reports:dotenv`, so its variables reach
// the later jobs of the pipeline.
const DotenvFile = "deploy.env"

// GitLab's dotenv report rules: keys are variable names; values are single
// lines; the file is at most 5 KB with at most 20 variables on GitLab.com's
// default limits. Values are written unquoted because GitLab keeps quotes as
// part of the value.
var dotenvKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// dotenvMaxBytes is GitLab's default limit for a dotenv report.
const dotenvMaxBytes = 5 * 1024

// MergeDotenv adds vars to the dotenv file at path, keeping the keys already
// there that vars does not replace, so several commands of one job (release,
// then deploy) add to one file. Keys come out sorted, so reruns write the same
// bytes.
func MergeDotenv(path string, vars map[string]string) error {
	merged := map[string]string{}
	existing, err := os.ReadFile(path)
	switch {
	case err == nil:
		merged, err = ParseDotenv(existing)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for k, v := range vars {
		if !dotenvKey.MatchString(k) {
			return fmt.Errorf("dotenv key %q is not a variable name", k)
		}
		// A value is one line (GitLab's dotenv report allows no other), and
		// text from AWS in it shows its control characters escaped.
		merged[k] = gitlab.EscapeLine(v)
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, merged[k])
	}
	if b.Len() > dotenvMaxBytes {
		return fmt.Errorf("%s would be %d bytes, over GitLab's %d-byte limit for dotenv reports", path, b.Len(), dotenvMaxBytes)
	}
	return WriteFile(path, b.Bytes(), 0o644)
}

// ParseDotenv reads KEY=value lines; blank lines and # comments are skipped.
func ParseDotenv(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok || !dotenvKey.MatchString(k) {
			return nil, fmt.Errorf("line %d is not KEY=value", line)
		}
		out[k] = v
	}
	return out, sc.Err()
}
