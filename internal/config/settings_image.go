package config

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Image is the image a deployment ships.
type Image struct {
	Image ImageRef `env:"BG_IMAGE,required" desc:"Image to deploy, as any reference. Release pins it by digest and writes the pinned reference to deploy.env."`
}

// Registries are where release copies the image, the tags it gives it there,
// and the credentials for the GitLab registry. ECR credentials never come from
// here: release asks ECR for a token with the run's AWS identity.
type Registries struct {
	RegistryImage Repository `env:"BG_REGISTRY_IMAGE,default=$CI_REGISTRY_IMAGE" desc:"GitLab registry repository for the image."`
	ECRRepository string     `env:"BG_ECR_REPOSITORY" desc:"ECR repository name or full URI the service pulls from."`
	ECRCreate     bool       `env:"BG_ECR_CREATE" desc:"Create the ECR repository when it does not exist (otherwise release stops and names it)."`
	// The commit tag is immutable by convention: one commit, one image.
	CommitTag    string `env:"BG_COMMIT_TAG,default=$CI_COMMIT_SHA" desc:"Tag naming the commit the image was built from; release adds it in every registry."`
	CandidateTag string `env:"BG_CANDIDATE_TAG,default=candidate" desc:"Tag release moves to the image about to be deployed, so the registry shows the candidate."`
	// Deploy moves these after a successful deployment (never after a rollback).
	LiveTag     string `env:"BG_LIVE_TAG,default=live" desc:"Tag deploy moves to the image production runs once a deployment succeeded."`
	PreviousTag string `env:"BG_PREVIOUS_TAG,default=previous" desc:"Tag deploy gives the image that was live before, for a quick way back."`
	// Registry is the host the GitLab credentials below are for; any other
	// registry gets the Docker config file and its credential helpers.
	Registry         string `env:"BG_REGISTRY,default=$CI_REGISTRY" desc:"Host of the GitLab container registry, which BG_REGISTRY_USER and BG_REGISTRY_PASSWORD (or BG_JOB_TOKEN) log in to; other registries use the Docker config file and its credential helpers."`
	RegistryUser     string `env:"BG_REGISTRY_USER,default=$CI_REGISTRY_USER" desc:"User for the GitLab registry."`
	RegistryPassword Secret `env:"BG_REGISTRY_PASSWORD,default=$CI_REGISTRY_PASSWORD" secret:"true" desc:"Password for the GitLab registry."`
	JobToken         Secret `env:"BG_JOB_TOKEN,default=$CI_JOB_TOKEN" secret:"true" desc:"Job token, the password of user gitlab-ci-token when BG_REGISTRY_PASSWORD is unset."`
}

// tagName is the OCI distribution rule for tags.
var tagName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Validate checks the tags are valid tag names, before anything is copied.
func (r *Registries) Validate() []Problem {
	var out []Problem
	for _, t := range []struct{ env, v string }{{"BG_COMMIT_TAG", r.CommitTag}, {"BG_CANDIDATE_TAG", r.CandidateTag}, {"BG_LIVE_TAG", r.LiveTag}, {"BG_PREVIOUS_TAG", r.PreviousTag}} {
		if t.v != "" && !tagName.MatchString(t.v) {
			out = append(out, Problem{Var: t.env, Message: "is not a valid image tag (letters, digits, _ . -, at most 128, not starting with . or -)"})
		}
	}
	out = append(out, checkECRRepository("BG_ECR_REPOSITORY", r.ECRRepository)...)
	out = append(out, checkHostPort("BG_REGISTRY", r.Registry)...)
	return out
}

// Build is what `ecs-bluegreen build` builds and how it makes the result
// reproducible.
type Build struct {
	Context    string   `env:"BG_BUILD_CONTEXT,default=." desc:"Build context folder: COPY and ADD sources are relative to it, and its .dockerignore applies."`
	Dockerfile string   `env:"BG_DOCKERFILE" desc:"Dockerfile to build (default: Dockerfile in BG_BUILD_CONTEXT). Supported: FROM, COPY, ADD of local files, ENV, ARG, WORKDIR, USER, EXPOSE, LABEL, ENTRYPOINT, CMD."`
	Args       []string `env:"BG_BUILD_ARGS" control:"allow" desc:"Build arguments for ARG instructions, as NAME=value, comma-separated."`
	// The epoch makes layers and config reproducible; the commit time is the
	// fallback so that two pipelines of one commit build one digest.
	SourceDateEpoch string `env:"BG_SOURCE_DATE_EPOCH,default=$SOURCE_DATE_EPOCH" desc:"Timestamp (Unix seconds) of every file and of the image; default SOURCE_DATE_EPOCH, else the commit time (CI_COMMIT_TIMESTAMP), else 1970-01-01."`
	CommitTime      string `env:"BG_COMMIT_TIMESTAMP,default=$CI_COMMIT_TIMESTAMP" desc:"Commit time (RFC 3339), the build's timestamp when no epoch is set."`
}

// BuildArgs returns BG_BUILD_ARGS as a map.
func (b *Build) BuildArgs() map[string]string {
	out := map[string]string{}
	for _, a := range b.Args {
		k, v, _ := strings.Cut(a, "=")
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// Created is the build's timestamp.
func (b *Build) Created() time.Time {
	if s, err := strconv.ParseInt(b.SourceDateEpoch, 10, 64); err == nil {
		return time.Unix(s, 0).UTC()
	}
	if t, err := time.Parse(time.RFC3339, b.CommitTime); err == nil {
		return t.UTC()
	}
	return time.Unix(0, 0).UTC()
}

// Validate checks the build arguments and the timestamps.
func (b *Build) Validate() []Problem {
	var out []Problem
	for _, a := range b.Args {
		if k, _, ok := strings.Cut(a, "="); !ok || strings.TrimSpace(k) == "" {
			out = append(out, Problem{Var: "BG_BUILD_ARGS", Message: "each entry must be NAME=value (the value is not shown: build arguments may be secret)"})
		}
	}
	if b.SourceDateEpoch != "" {
		if _, err := strconv.ParseInt(b.SourceDateEpoch, 10, 64); err != nil {
			out = append(out, Problem{Var: "BG_SOURCE_DATE_EPOCH", Message: "must be Unix seconds", Value: b.SourceDateEpoch})
		}
	}
	if b.CommitTime != "" {
		if _, err := time.Parse(time.RFC3339, b.CommitTime); err != nil {
			out = append(out, Problem{Var: "BG_COMMIT_TIMESTAMP", Message: "must be an RFC 3339 time", Value: b.CommitTime})
		}
	}
	return out
}
