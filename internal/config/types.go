package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ARN is an Amazon Resource Name, checked for its six parts.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

// EnvDecode parses an ARN (arn:partition:service:region:account:resource).
func (a *ARN) EnvDecode(v string) error {
	if v == "" { // a default that expanded to nothing, such as $CI_REGISTRY_IMAGE outside CI
		return nil
	}
	parts := strings.SplitN(v, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return errors.New("is not an ARN: want arn:<partition>:<service>:<region>:<account>:<resource>")
	}
	if parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return errors.New("is not an ARN: partition, service and resource must not be empty")
	}
	if parts[4] != "" && !accountPattern.MatchString(parts[4]) {
		return errors.New("is not an ARN: the account must be 12 digits")
	}
	*a = ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}
	return nil
}

var accountPattern = regexp.MustCompile(`^\d{12}$`)

// IsZero reports whether the ARN was not set.
func (a ARN) IsZero() bool { return a == ARN{} }

func (a ARN) String() string {
	if a.IsZero() {
		return ""
	}
	return strings.Join([]string{"arn", a.Partition, a.Service, a.Region, a.Account, a.Resource}, ":")
}

// ImageRef is a container image reference: a tag or a digest.
type ImageRef struct {
	Ref name.Reference
}

// EnvDecode parses an image reference such as registry.gitlab.com/g/p:tag or
// 1234.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:....
func (r *ImageRef) EnvDecode(v string) error {
	if v == "" { // a default that expanded to nothing, such as $CI_REGISTRY_IMAGE outside CI
		return nil
	}
	ref, err := name.ParseReference(v, name.WithDefaultRegistry(""))
	if err != nil {
		return fmt.Errorf("is not an image reference (%s): want <registry>/<repository>[:tag|@sha256:digest]", strings.TrimPrefix(err.Error(), "could not parse reference: "))
	}
	if err := registryPort(ref.Context().RegistryStr()); err != nil {
		return err
	}
	r.Ref = ref
	return nil
}

// IsZero reports whether no image was set.
func (r ImageRef) IsZero() bool { return r.Ref == nil }

func (r ImageRef) String() string {
	if r.Ref == nil {
		return ""
	}
	return r.Ref.String()
}

// Repository is an image repository without tag or digest, such as
// registry.gitlab.com/group/project.
type Repository struct {
	Repo name.Repository
}

// EnvDecode parses a repository name.
func (r *Repository) EnvDecode(v string) error {
	if v == "" { // a default that expanded to nothing, such as $CI_REGISTRY_IMAGE outside CI
		return nil
	}
	repo, err := name.NewRepository(v, name.WithDefaultRegistry(""))
	if err != nil {
		return fmt.Errorf("is not an image repository: want <registry>/<path> without tag or digest")
	}
	if err := registryPort(repo.RegistryStr()); err != nil {
		return err
	}
	r.Repo = repo
	return nil
}

// IsZero reports whether no repository was set.
func (r Repository) IsZero() bool { return r.Repo.RepositoryStr() == "" }

func (r Repository) String() string {
	if r.IsZero() {
		return ""
	}
	return r.Repo.String()
}

// registryPort refuses a registry port outside 1-65535, which the reference
// parser lets through and only the first connection would notice.
func registryPort(host string) error {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		if err := portOK(host[i+1:]); err != nil {
			return fmt.Errorf("names registry %s, whose port %w", host, err)
		}
	}
	return nil
}

// URL is an absolute http or https URL.
type URL struct {
	*url.URL
}

// EnvDecode parses an absolute http(s) URL with a host.
func (u *URL) EnvDecode(v string) error {
	if v == "" { // a default that expanded to nothing, such as $CI_REGISTRY_IMAGE outside CI
		return nil
	}
	parsed, err := url.Parse(v)
	if err != nil {
		return errors.New("is not a URL")
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return errors.New("must be an absolute http:// or https:// URL")
	}
	if parsed.Host == "" {
		return errors.New("must be an absolute URL with a host")
	}
	if p := parsed.Port(); p != "" && portOK(p) != nil {
		return errors.New("has a port outside 1-65535")
	}
	u.URL = parsed
	return nil
}

// IsZero reports whether no URL was set.
func (u URL) IsZero() bool { return u.URL == nil }

func (u URL) String() string {
	if u.URL == nil {
		return ""
	}
	return u.Redacted()
}

// Port is a TCP port, 1–65535.
type Port int

// EnvDecode parses a port number.
func (p *Port) EnvDecode(v string) error {
	if v == "" { // a default that expanded to nothing, such as $CI_REGISTRY_IMAGE outside CI
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("must be a port number from 1 to 65535")
	}
	*p = Port(n)
	return nil
}

// Secret is a value that must never be printed: its String and error messages
// never show it.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[MASKED]"
}

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// Mode is the deployment model (DESIGN §2).
type Mode string

// Deployment models. ModeAuto detects the model from the ECS service.
const (
	ModeAuto       Mode = "auto"
	ModeCodeDeploy Mode = "codedeploy"
	ModeListener   Mode = "listener"
	ModeECS        Mode = "ecs"
)

// EnvDecode accepts one of the known models.
func (m *Mode) EnvDecode(v string) error {
	return decodeEnum((*string)(m), v, string(ModeAuto), string(ModeCodeDeploy), string(ModeListener), string(ModeECS))
}

// TimeoutAction is what happens to a deployment still running when the tool
// gives up waiting (BG_ON_TIMEOUT).
type TimeoutAction string

// Timeout policies.
const (
	// TimeoutLeave leaves the deployment running; a later job can attach to it.
	TimeoutLeave TimeoutAction = "leave"
	// TimeoutRollback stops the deployment and rolls it back.
	TimeoutRollback TimeoutAction = "rollback"
	// TimeoutStop stops the deployment without rolling back.
	TimeoutStop TimeoutAction = "stop"
)

// EnvDecode accepts one of the timeout policies.
func (a *TimeoutAction) EnvDecode(v string) error {
	return decodeEnum((*string)(a), v, string(TimeoutLeave), string(TimeoutRollback), string(TimeoutStop))
}

// LogLevel is the least severe log level printed.
type LogLevel string

// EnvDecode accepts debug, info, warn or error.
func (l *LogLevel) EnvDecode(v string) error {
	return decodeEnum((*string)(l), strings.ToLower(v), "debug", "info", "warn", "error")
}

// LogFormat is how log lines are written.
type LogFormat string

// EnvDecode accepts text or json.
func (f *LogFormat) EnvDecode(v string) error {
	return decodeEnum((*string)(f), strings.ToLower(v), "text", "json")
}

func decodeEnum(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
}

// StatusSet is a set of HTTP statuses: exact codes and classes such as 2xx.
type StatusSet struct {
	codes   []int
	classes []int // 2 for 2xx
	text    string
}

// EnvDecode parses "200", "200,204" or "2xx,301".
func (s *StatusSet) EnvDecode(v string) error {
	if v == "" {
		return nil
	}
	var out StatusSet
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if len(part) == 3 && strings.HasSuffix(part, "xx") && part[0] >= '1' && part[0] <= '5' {
			out.classes = append(out.classes, int(part[0]-'0'))
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 100 || n > 599 {
			return errors.New("must be HTTP status codes or classes, comma-separated, such as 200,204 or 2xx")
		}
		out.codes = append(out.codes, n)
	}
	out.text = v
	*s = out
	return nil
}

// Contains reports whether code is in the set; an empty set means 200.
func (s StatusSet) Contains(code int) bool {
	if len(s.codes) == 0 && len(s.classes) == 0 {
		return code == 200
	}
	return slices.Contains(s.codes, code) || slices.Contains(s.classes, code/100)
}

func (s StatusSet) String() string {
	if s.text == "" {
		return "200"
	}
	return s.text
}

// Regexp is an RE2 regular expression.
type Regexp struct {
	*regexp.Regexp
}

// EnvDecode compiles the expression.
func (r *Regexp) EnvDecode(v string) error {
	if v == "" {
		return nil
	}
	re, err := regexp.Compile(v)
	if err != nil {
		return fmt.Errorf("is not a valid regular expression (RE2 syntax): %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	r.Regexp = re
	return nil
}

// PromotePolicy is BG_PROMOTE.
type PromotePolicy string

// EnvDecode accepts auto or manual.
func (p *PromotePolicy) EnvDecode(v string) error {
	return decodeEnum((*string)(p), v, "auto", "manual")
}

// WaitFor is BG_WAIT_FOR.
type WaitFor string

// EnvDecode accepts complete or traffic.
func (w *WaitFor) EnvDecode(v string) error {
	return decodeEnum((*string)(w), v, "complete", "traffic")
}

// BusyPolicy is BG_ON_BUSY.
type BusyPolicy string

// EnvDecode accepts wait or fail.
func (b *BusyPolicy) EnvDecode(v string) error {
	return decodeEnum((*string)(b), v, "wait", "fail")
}

// InterruptPolicy is BG_ON_INTERRUPT.
type InterruptPolicy string

// EnvDecode accepts rollback or leave.
func (p *InterruptPolicy) EnvDecode(v string) error {
	return decodeEnum((*string)(p), v, "rollback", "leave")
}

// SwitchPolicy is BG_SWITCH.
type SwitchPolicy string

// EnvDecode accepts manual or auto.
func (p *SwitchPolicy) EnvDecode(v string) error {
	return decodeEnum((*string)(p), v, "manual", "auto")
}

// Colour is blue or green; empty means "the idle one".
type Colour string

// EnvDecode accepts blue or green.
func (c *Colour) EnvDecode(v string) error {
	if v == "" {
		*c = ""
		return nil
	}
	return decodeEnum((*string)(c), v, "blue", "green")
}

// Steps is BG_SWITCH_STEPS: production traffic percentages for the new
// colour, rising, ending at 100.
type Steps []int

// EnvDecode parses comma-separated percentages such as 10,50,100.
func (s *Steps) EnvDecode(v string) error {
	var out []int
	for f := range strings.SplitSeq(v, ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%"))
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("has %q, which is not a whole percentage: want rising percentages ending at 100, such as 10,50,100", f)
		}
		if n < 1 || n > 100 {
			return fmt.Errorf("has %d: each step is a percentage from 1 to 100", n)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return fmt.Errorf("has %d after %d: steps must rise", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	if len(out) == 0 || out[len(out)-1] != 100 {
		return errors.New("must end at 100, so that the switch completes")
	}
	*s = out
	return nil
}

func (s Steps) String() string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}
