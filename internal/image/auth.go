package image

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Credentials are a user and password for one registry host.
type Credentials struct {
	Host, User, Password string
}

// GitLabCredentials picks the GitLab registry login from the CI variables:
// CI_REGISTRY_USER with CI_REGISTRY_PASSWORD when both are set, else
// gitlab-ci-token with CI_JOB_TOKEN. ok is false when neither is available.
func GitLabCredentials(host, user, password, jobToken string) (c Credentials, ok bool) {
	switch {
	case host == "":
		return Credentials{}, false
	case user != "" && password != "":
		return Credentials{Host: host, User: user, Password: password}, true
	case jobToken != "":
		return Credentials{Host: host, User: "gitlab-ci-token", Password: jobToken}, true
	}
	return Credentials{}, false
}

// Keychain answers with the given credentials for their hosts and falls back
// to the Docker config file and its credential helpers for every other host.
type Keychain struct {
	static   map[string]Credentials
	fallback authn.Keychain
}

// NewKeychain returns a keychain for creds; a nil fallback means
// authn.DefaultKeychain (the Docker config file and credential helpers).
func NewKeychain(fallback authn.Keychain, creds ...Credentials) *Keychain {
	if fallback == nil {
		fallback = authn.DefaultKeychain
	}
	k := &Keychain{static: map[string]Credentials{}, fallback: fallback}
	for _, c := range creds {
		k.Add(c)
	}
	return k
}

// Add records (or replaces) the credentials for c.Host.
func (k *Keychain) Add(c Credentials) { k.static[normalHost(c.Host)] = c }

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k.static[normalHost(r.RegistryStr())]; ok {
		return &authn.Basic{Username: c.User, Password: c.Password}, nil
	}
	return k.fallback.Resolve(r)
}

// identity names who we are at host, for error messages: the user, never the
// password.
func (k *Keychain) identity(host string) string {
	if c, ok := k.static[normalHost(host)]; ok {
		return "as " + c.User
	}
	return "with the Docker config file's credentials (none found is anonymous)"
}

// normalHost makes "https://host/" and "host" the same key, and Docker Hub's
// two names one.
func normalHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	if h == "docker.io" || h == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return h
}
