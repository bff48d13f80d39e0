// Package gitlab knows the GitLab CI job the tool runs in: the CI_* context,
// collapsible log sections, and masking of secret values in everything the
// tool prints.
package gitlab

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Context is what GitLab tells a job about itself through CI_* variables.
type Context struct {
	InCI           bool // CI=true or GITLAB_CI=true
	JobTimeout     time.Duration
	PipelineID     string
	PipelineURL    string
	PipelineSource string
	JobID          string
	JobURL         string
	JobName        string
	CommitSHA      string
	CommitShortSHA string
	CommitRefName  string
	CommitTag      string
	CommitTime     time.Time
	ProjectPath    string
	ProjectURL     string
	DefaultBranch  string
	Environment    string
	Registry       string
	RegistryImage  string
	ServerURL      string
	ServerFQDN     string
	UserLogin      string
}

// ReadContext reads the job context through getenv. Malformed values of the
// variables it parses are errors that name the variable.
func ReadContext(getenv func(string) string) (Context, error) {
	c := Context{
		InCI:           getenv("GITLAB_CI") == "true" || getenv("CI") == "true",
		PipelineID:     getenv("CI_PIPELINE_ID"),
		PipelineURL:    getenv("CI_PIPELINE_URL"),
		PipelineSource: getenv("CI_PIPELINE_SOURCE"),
		JobID:          getenv("CI_JOB_ID"),
		JobURL:         getenv("CI_JOB_URL"),
		JobName:        getenv("CI_JOB_NAME"),
		CommitSHA:      getenv("CI_COMMIT_SHA"),
		CommitShortSHA: getenv("CI_COMMIT_SHORT_SHA"),
		CommitRefName:  getenv("CI_COMMIT_REF_NAME"),
		CommitTag:      getenv("CI_COMMIT_TAG"),
		ProjectPath:    getenv("CI_PROJECT_PATH"),
		ProjectURL:     getenv("CI_PROJECT_URL"),
		DefaultBranch:  getenv("CI_DEFAULT_BRANCH"),
		Environment:    getenv("CI_ENVIRONMENT_NAME"),
		Registry:       getenv("CI_REGISTRY"),
		RegistryImage:  getenv("CI_REGISTRY_IMAGE"),
		ServerURL:      getenv("CI_SERVER_URL"),
		ServerFQDN:     getenv("CI_SERVER_FQDN"),
		UserLogin:      getenv("GITLAB_USER_LOGIN"),
	}
	var errs []error
	if v := strings.TrimSpace(getenv("CI_JOB_TIMEOUT")); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil || secs <= 0 {
			errs = append(errs, fmt.Errorf("CI_JOB_TIMEOUT must be a positive number of seconds (got %q)", v))
		} else {
			c.JobTimeout = time.Duration(secs) * time.Second
		}
	}
	if v := strings.TrimSpace(getenv("CI_COMMIT_TIMESTAMP")); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CI_COMMIT_TIMESTAMP must be an ISO 8601 time such as 2026-11-24T16:00:00+00:00 (got %q)", v))
		} else {
			c.CommitTime = t
		}
	}
	if c.CommitShortSHA == "" && len(c.CommitSHA) >= 8 {
		c.CommitShortSHA = c.CommitSHA[:8]
	}
	return c, errors.Join(errs...)
}
