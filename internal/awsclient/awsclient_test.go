package awsclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// standIn is a minimal AWS over loopback: STS (awsQuery) and ECS (awsJson)
// for the calls these tests make. It records what arrived.
type standIn struct {
	t        *testing.T
	mu       sync.Mutex
	requests []*recorded
	// failNext makes the next N ECS calls answer HTTP 500.
	failNext int
	// stsError, when set, is the STS error code returned.
	stsError string
}

type recorded struct {
	target, action, auth, userAgent string
	form                            url.Values
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := &recorded{target: r.Header.Get("X-Amz-Target"), auth: r.Header.Get("Authorization"), userAgent: r.Header.Get("User-Agent")}
	if rec.target == "" {
		rec.form, _ = url.ParseQuery(string(body))
		rec.action = rec.form.Get("Action")
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	fail := rec.target != "" && s.failNext > 0
	if fail {
		s.failNext--
	}
	s.mu.Unlock()
	switch {
	case rec.action == "AssumeRoleWithWebIdentity" && s.stsError != "":
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>Incorrect token audience</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, s.stsError)
	case rec.action == "AssumeRoleWithWebIdentity":
		fmt.Fprint(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>
<Credentials><AccessKeyId>ASIAFROMSTS</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<SubjectFromWebIdentityToken>project_path:group/web:ref_type:branch:ref:main</SubjectFromWebIdentityToken>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/deploy/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>`)
	case fail:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"__type":"ServerException","message":"try again"}`)
	case strings.HasSuffix(rec.target, ".DescribeClusters"):
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprint(w, `{"clusters":[{"clusterName":"prod","status":"ACTIVE"}],"failures":[]}`)
	default:
		s.t.Errorf("stand-in got an unexpected request: target %q action %q", rec.target, rec.action)
		w.WriteHeader(http.StatusNotImplemented)
	}
}

func (s *standIn) all() []*recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*recorded(nil), s.requests...)
}

func start(t *testing.T) (*standIn, string) {
	t.Helper()
	s := &standIn{t: t}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func describeCluster(t *testing.T, c *Clients) {
	t.Helper()
	out, err := c.ECS.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	if err != nil {
		t.Fatalf("DescribeClusters: %v", err)
	}
	if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterName) != "prod" {
		t.Fatalf("DescribeClusters returned %+v", out.Clusters)
	}
}

func TestOIDCThroughGlobalEndpoint(t *testing.T) {
	t.Parallel()
	s, endpoint := start(t)
	const token = "eyJhbGciOiJSUzI1NiJ9.gitlab-id-token.sig"
	c, err := Load(context.Background(), Options{
		Getenv: envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint}),
		Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/deploy", IDToken: token,
		SessionName: "gitlab-group/web-4242", Version: "1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	describeCluster(t, c)
	reqs := s.all()
	if len(reqs) != 2 || reqs[0].action != "AssumeRoleWithWebIdentity" {
		t.Fatalf("requests = %+v, want AssumeRoleWithWebIdentity then DescribeClusters at the stand-in (the global AWS_ENDPOINT_URL must reach STS)", reqs)
	}
	sts := reqs[0]
	if got := sts.form.Get("WebIdentityToken"); got != token {
		t.Errorf("WebIdentityToken = %q", got)
	}
	if got := sts.form.Get("RoleArn"); got != "arn:aws:iam::123456789012:role/deploy" {
		t.Errorf("RoleArn = %q", got)
	}
	if got := sts.form.Get("RoleSessionName"); got != "gitlab-group-web-4242" {
		t.Errorf("RoleSessionName = %q", got)
	}
	if sts.auth != "" {
		t.Errorf("AssumeRoleWithWebIdentity was signed (%q): it must go unsigned", sts.auth)
	}
	if !strings.Contains(reqs[1].auth, "Credential=ASIAFROMSTS/") {
		t.Errorf("DescribeClusters was signed with %q, want the keys STS returned", reqs[1].auth)
	}
	if !strings.Contains(reqs[1].userAgent, "ecs-bluegreen/1.2.3") {
		t.Errorf("User-Agent %q lacks ecs-bluegreen/1.2.3", reqs[1].userAgent)
	}
}

func TestOIDCErrorExplainsTrustPolicy(t *testing.T) {
	t.Parallel()
	s, endpoint := start(t)
	s.stsError = "AccessDenied"
	c, err := Load(context.Background(), Options{
		Getenv: envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1"}),
		Region: "eu-west-1", RoleARN: "arn:aws:iam::123456789012:role/deploy", IDToken: "token-value-1234",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ECS.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{})
	if err == nil || !strings.Contains(err.Error(), "trust policy") || !strings.Contains(err.Error(), "role/deploy") {
		t.Errorf("error = %v, want it to name the role and the trust policy", err)
	}
	if strings.Contains(err.Error(), "token-value-1234") {
		t.Errorf("error leaks the ID token: %v", err)
	}
}

func TestServiceEndpointWinsOverGlobal(t *testing.T) {
	t.Parallel()
	s, endpoint := start(t)
	c, err := Load(context.Background(), Options{
		Getenv: envOf(map[string]string{
			"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_ECS": endpoint,
			"AWS_ACCESS_KEY_ID": "AKIDSTATIC", "AWS_SECRET_ACCESS_KEY": "secret",
		}),
		Region: "eu-west-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	describeCluster(t, c)
	reqs := s.all()
	if len(reqs) != 1 || !strings.Contains(reqs[0].auth, "Credential=AKIDSTATIC/") {
		t.Errorf("requests = %+v, want one ECS call signed with the static keys", reqs)
	}
	if !strings.Contains(reqs[0].auth, "/eu-west-1/ecs/") {
		t.Errorf("signature scope %q does not name eu-west-1 and ecs", reqs[0].auth)
	}
}

func TestCounterCountsCallsAndRetries(t *testing.T) {
	t.Parallel()
	s, endpoint := start(t)
	s.failNext = 1
	c, err := Load(context.Background(), Options{
		Getenv: envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_MAX_ATTEMPTS": "3"}),
		Region: "eu-west-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	describeCluster(t, c)
	describeCluster(t, c)
	got := c.Calls.Snapshot()
	want := []Stats{{Operation: "ECS.DescribeClusters", Calls: 2, Attempts: 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Snapshot() = %+v, want %+v", got, want)
	}
	if c.Calls.Calls("ECS.DescribeClusters") != 2 {
		t.Errorf("Calls() = %d", c.Calls.Calls("ECS.DescribeClusters"))
	}
}

func TestIgnoreConfiguredEndpoints(t *testing.T) {
	t.Parallel()
	e := endpoints{getenv: envOf(map[string]string{"AWS_ENDPOINT_URL": "http://x", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})}
	if e.For(envECS) != nil || e.global() != "" {
		t.Error("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true did not turn the overrides off")
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		o    Options
		want string
	}{
		{name: "no_region", o: Options{Getenv: envOf(nil)}, want: "AWS_REGION"},
		{name: "bad_max_attempts", o: Options{Region: "eu-west-1", Getenv: envOf(map[string]string{"AWS_MAX_ATTEMPTS": "lots"})}, want: "AWS_MAX_ATTEMPTS"},
		{name: "role_without_token", o: Options{Region: "eu-west-1", Getenv: envOf(nil), RoleARN: "arn:aws:iam::123456789012:role/x"}, want: "BG_ID_TOKEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(context.Background(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want it to mention %s", err, tt.want)
			}
		})
	}
}

func TestSessionName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"gitlab-group/web-4242", "gitlab-group-web-4242"},
		{"gitlab-a b/c~d-1", "gitlab-a-b-c-d-1"},
		{"", "ecs-bluegreen"},
		{"/", "ecs-bluegreen"},
		{"x", "ecs-bluegreen"},
		{"ok+=,.@_-name", "ok+=,.@_-name"},
		{"gitlab-" + strings.Repeat("very-long-group/", 6) + "job-123456789", strings.Repeat("very-long-group-", 6)[len(strings.Repeat("very-long-group-", 6))-(64-len("job-123456789")):] + "job-123456789"},
	} {
		got := SessionName(tt.in)
		if got != strings.TrimLeft(tt.want, "-") {
			t.Errorf("SessionName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) < 2 || len(got) > 64 || sessionNameInvalid.MatchString(got) {
			t.Errorf("SessionName(%q) = %q is not a valid session name", tt.in, got)
		}
	}
}
