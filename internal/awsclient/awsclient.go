// Package awsclient builds the AWS clients ecs-bluegreen uses from one
// aws.Config: the region, GitLab OIDC web identity, endpoint overrides,
// retries per operation class within the job's time, the user agent and
// per-operation call accounting.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Options configure Load.
type Options struct {
	// Getenv reads the environment; nil means os.Getenv. Endpoint overrides,
	// static credentials and AWS_MAX_ATTEMPTS are read through it, so a test
	// (or the sandbox) can point the clients somewhere without touching the
	// process environment.
	Getenv func(string) string
	// Region is the validated AWS region.
	Region string
	// RoleARN and IDToken select GitLab OIDC: the token (a secret, held in
	// memory only) is exchanged for the role's credentials.
	RoleARN string
	IDToken string
	// SessionName names the assumed-role session; see SessionName.
	SessionName string
	// Version goes into the user agent as ecs-bluegreen/<version>.
	Version string
	// HTTPClient replaces the SDK's default HTTP client.
	HTTPClient aws.HTTPClient
	Logger     *slog.Logger
}

// Clients are the service clients, each with its endpoint override applied.
type Clients struct {
	Config     aws.Config
	ECS        *ecs.Client
	CodeDeploy *codedeploy.Client
	ELB        *elb.Client
	ECR        *ecr.Client
	STS        *sts.Client
	CloudWatch *cloudwatch.Client
	// Calls counts the API calls made through these clients.
	Calls *Counter
	retry *retryPolicy
}

// serviceEnv are the AWS_ENDPOINT_URL_<SERVICE> suffixes: the SDK ServiceID
// upper-cased with spaces as underscores (aws-facts §1.6).
const (
	envECS        = "ECS"
	envCodeDeploy = "CODEDEPLOY"
	envECR        = "ECR"
	envELB        = "ELASTIC_LOAD_BALANCING_V2"
	envSTS        = "STS"
	envCloudWatch = "CLOUDWATCH"
)

// Load builds the clients.
func Load(ctx context.Context, o Options) (*Clients, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
	}
	// AWS_MAX_ATTEMPTS caps the attempts of every call when set; otherwise a
	// call that AWS throttles, or cannot answer for a while, is retried for
	// as long as the job has time (see retryPolicy).
	attempts := 0
	if v := getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("AWS_MAX_ATTEMPTS must be a whole number of at least 1 (got %q)", v)
		}
		attempts = n
	}
	var jobTimeout time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(getenv("CI_JOB_TIMEOUT"))); err == nil && secs > 0 {
		jobTimeout = time.Duration(secs) * time.Second
	}
	policy := newRetryPolicy(attempts, jobTimeout, o.Logger)
	counter := NewCounter()
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(o.Region),
		config.WithAPIOptions([]func(*smithyStack) error{
			awsmiddleware.AddUserAgentKeyValue("ecs-bluegreen", versionOr(o.Version)),
			counter.register,
			policy.install,
		}),
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	}
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	ep := endpoints{getenv: getenv}
	if base := ep.global(); base != "" {
		cfg.BaseEndpoint = aws.String(base)
	}
	stsClient := sts.NewFromConfig(cfg, func(so *sts.Options) { so.BaseEndpoint = ep.For(envSTS) })
	if o.RoleARN != "" {
		if o.IDToken == "" {
			return nil, errors.New("GitLab OIDC needs both BG_AWS_ROLE_ARN and BG_ID_TOKEN")
		}
		// The SDK's own web identity provider builds its STS client before the
		// global AWS_ENDPOINT_URL is applied (aws-facts §1.6); building it here
		// from the loaded config honours both overrides.
		provider := stscreds.NewWebIdentityRoleProvider(stsClient, o.RoleARN, tokenRetriever(o.IDToken), func(wo *stscreds.WebIdentityRoleOptions) {
			wo.RoleSessionName = SessionName(o.SessionName)
		})
		cfg.Credentials = aws.NewCredentialsCache(&explainedProvider{inner: provider, role: o.RoleARN})
		stsClient = sts.NewFromConfig(cfg, func(so *sts.Options) { so.BaseEndpoint = ep.For(envSTS) })
	}
	return &Clients{
		Config:     cfg,
		ECS:        ecs.NewFromConfig(cfg, func(so *ecs.Options) { so.BaseEndpoint = ep.For(envECS) }),
		CodeDeploy: codedeploy.NewFromConfig(cfg, func(so *codedeploy.Options) { so.BaseEndpoint = ep.For(envCodeDeploy) }),
		ELB:        elb.NewFromConfig(cfg, func(so *elb.Options) { so.BaseEndpoint = ep.For(envELB) }),
		ECR:        ecr.NewFromConfig(cfg, func(so *ecr.Options) { so.BaseEndpoint = ep.For(envECR) }),
		STS:        stsClient,
		CloudWatch: cloudwatch.NewFromConfig(cfg, func(so *cloudwatch.Options) { so.BaseEndpoint = ep.For(envCloudWatch) }),
		Calls:      counter,
		retry:      policy,
	}, nil
}

func versionOr(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

// endpoints reads the standard endpoint override variables.
type endpoints struct {
	getenv func(string) string
}

func (e endpoints) ignored() bool {
	return strings.EqualFold(e.getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true")
}

func (e endpoints) global() string {
	if e.ignored() {
		return ""
	}
	return e.getenv("AWS_ENDPOINT_URL")
}

// For returns the endpoint for one service: AWS_ENDPOINT_URL_<SERVICE>, else
// AWS_ENDPOINT_URL, else nil (the SDK's own resolution).
func (e endpoints) For(service string) *string {
	if e.ignored() {
		return nil
	}
	if v := e.getenv("AWS_ENDPOINT_URL_" + service); v != "" {
		return aws.String(v)
	}
	if v := e.getenv("AWS_ENDPOINT_URL"); v != "" {
		return aws.String(v)
	}
	return nil
}

// tokenRetriever hands the GitLab ID token to the web identity provider from
// memory, so no token file is written.
type tokenRetriever string

func (t tokenRetriever) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// explainedProvider says what to check when the role cannot be assumed: the
// raw STS error alone rarely tells a GitLab user which setting is wrong.
type explainedProvider struct {
	inner aws.CredentialsProvider
	role  string
}

func (p *explainedProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.inner.Retrieve(ctx)
	if err != nil {
		return c, fmt.Errorf("assuming IAM role %s with the GitLab ID token: %w (check that the role's trust policy allows sts:AssumeRoleWithWebIdentity for this GitLab instance's OIDC provider, with an aud condition matching the job's id_tokens aud and a sub condition matching project_path:<group>/<project>:ref_type:<branch|tag>:ref:<name>)", p.role, err)
	}
	return c, nil
}

// sessionNameInvalid matches what STS does not accept in a role session name.
var sessionNameInvalid = regexp.MustCompile(`[^\w+=,.@-]+`)

// SessionName turns free text (such as "gitlab-<project path>-<job id>") into
// a role session name STS accepts: 2–64 characters of [\w+=,.@-].
func SessionName(s string) string {
	s = sessionNameInvalid.ReplaceAllString(s, "-")
	s = strings.Trim(s, "-")
	if len(s) > 64 {
		s = s[len(s)-64:] // keep the end: the job id is the distinguishing part
		s = strings.TrimLeft(s, "-")
	}
	if len(s) < 2 {
		s = "ecs-bluegreen"
	}
	return s
}
