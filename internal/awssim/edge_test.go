package awssim_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
)

var simStart = time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)

// bare is a simulator with no seeded world, on a manual clock.
func bare(t *testing.T, opts ...awssim.Option) (*awssim.Server, *clock.Manual, string) {
	t.Helper()
	clk := clock.NewManual(simStart)
	sim := awssim.New(append([]awssim.Option{awssim.WithClock(clk)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, clk, srv.URL
}

func sdkConfig(url, akid, secret, token string) aws.Config {
	return aws.Config{
		Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider(akid, secret, token),
		BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// jwt builds an unsigned token with the given claims: the simulator reads
// the claims and, like nothing but STS, would check the signature.
func jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

func TestSTSAssumeRoleWithWebIdentityValidation(t *testing.T) {
	t.Parallel()
	_, _, url := bare(t)
	stsc := sts.NewFromConfig(sdkConfig(url, "AKID", "S", ""))
	good := jwt(map[string]any{"sub": "project_path:group/web:ref_type:branch:ref:main", "iss": "https://gitlab.example.com", "aud": "sts.amazonaws.com"})
	tests := []struct {
		name               string
		role, session, tok string
		duration           int32
		wantCode           string
		wantInvalidToken   bool
	}{
		{name: "role is not a role ARN", role: "arn:aws:iam::123456789012:user/x", session: "s1", tok: good, wantCode: "ValidationError"},
		{name: "session name too short", role: "arn:aws:iam::123456789012:role/deploy", session: "s", tok: good, wantCode: "ValidationError"},
		{name: "session name with a space", role: "arn:aws:iam::123456789012:role/deploy", session: "a b", tok: good, wantCode: "ValidationError"},
		{name: "session name too long", role: "arn:aws:iam::123456789012:role/deploy", session: strings.Repeat("s", 65), tok: good, wantCode: "ValidationError"},
		{name: "token too short", role: "arn:aws:iam::123456789012:role/deploy", session: "s1", tok: "abc", wantCode: "ValidationError"},
		{name: "token too long", role: "arn:aws:iam::123456789012:role/deploy", session: "s1", tok: strings.Repeat("a", 20001), wantCode: "ValidationError"},
		{name: "token is not a JWT", role: "arn:aws:iam::123456789012:role/deploy", session: "s1", tok: "an-access-token", wantCode: "InvalidIdentityToken", wantInvalidToken: true},
		{name: "duration below 15 minutes", role: "arn:aws:iam::123456789012:role/deploy", session: "s1", tok: good, duration: 899, wantCode: "ValidationError"},
		{name: "longest session name", role: "arn:aws:iam::123456789012:role/path/deploy", session: strings.Repeat("s", 64), tok: good},
		{name: "all the allowed characters", role: "arn:aws:iam::123456789012:role/deploy", session: "a_Z9+=,.@-", tok: good, duration: 43200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(tc.role), RoleSessionName: aws.String(tc.session), WebIdentityToken: aws.String(tc.tok)}
			if tc.duration != 0 {
				in.DurationSeconds = aws.Int32(tc.duration)
			}
			out, err := stsc.AssumeRoleWithWebIdentity(context.Background(), in)
			if got := errorCode(err); got != tc.wantCode {
				t.Fatalf("error code %q (%v), want %q", got, err, tc.wantCode)
			}
			var invalid *ststypes.InvalidIdentityTokenException
			if errors.As(err, &invalid) != tc.wantInvalidToken {
				t.Errorf("error %T, want *types.InvalidIdentityTokenException: %v", err, tc.wantInvalidToken)
			}
			if err == nil && aws.ToString(out.Credentials.AccessKeyId) == "" {
				t.Errorf("no credentials in %+v", out)
			}
		})
	}
}

func TestSTSIssuedCredentialsAreTheirIdentity(t *testing.T) {
	t.Parallel()
	sim, clk, url := bare(t, awssim.WithAccount("210987654321"))
	ctx := context.Background()
	token := jwt(map[string]any{"sub": "project_path:group/web:ref_type:branch:ref:main", "iss": "https://gitlab.example.com", "aud": []string{"sts.amazonaws.com"}})
	anon := sts.NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1})
	out, err := anon.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::210987654321:role/deployer"), RoleSessionName: aws.String("gitlab-42"),
		WebIdentityToken: aws.String(token), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToTime(out.Credentials.Expiration), simStart.Add(15*time.Minute); !got.Equal(want) {
		t.Errorf("Expiration = %v, want the clock's now + DurationSeconds = %v", got, want)
	}
	if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::210987654321:assumed-role/deployer/gitlab-42" {
		t.Errorf("AssumedRoleUser.Arn = %s", got)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) != "project_path:group/web:ref_type:branch:ref:main" ||
		aws.ToString(out.Provider) != "gitlab.example.com" || aws.ToString(out.Audience) != "sts.amazonaws.com" {
		t.Errorf("subject %q provider %q audience %q, want the token's claims", aws.ToString(out.SubjectFromWebIdentityToken), aws.ToString(out.Provider), aws.ToString(out.Audience))
	}
	want := []awssim.WebIdentityCall{{
		RoleARN: "arn:aws:iam::210987654321:role/deployer", SessionName: "gitlab-42", Token: token,
		Subject: "project_path:group/web:ref_type:branch:ref:main", Issuer: "https://gitlab.example.com", Audience: "sts.amazonaws.com",
	}}
	if diff := cmp.Diff(want, sim.World().WebIdentityCalls()); diff != "" {
		t.Errorf("recorded web identity calls (-want +got):\n%s", diff)
	}

	// The issued key is the assumed role; any other key is a user.
	c := out.Credentials
	assumed := sts.NewFromConfig(sdkConfig(url, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	id, err := assumed.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(id.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) || aws.ToString(id.Account) != "210987654321" {
		t.Errorf("GetCallerIdentity with the issued key = %s %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account))
	}
	user, err := sts.NewFromConfig(sdkConfig(url, "AKIAUSER", "S", "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(user.Arn), "arn:aws:iam::210987654321:user/") || !strings.HasPrefix(aws.ToString(user.UserId), "AIDA") {
		t.Errorf("GetCallerIdentity with another key = %s %s", aws.ToString(user.Arn), aws.ToString(user.UserId))
	}

	// AssumeRole from the assumed role chains; the new key is the new session.
	chained, err := assumed.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::210987654321:role/reader"), RoleSessionName: aws.String("chained")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(chained.AssumedRoleUser.Arn); got != "arn:aws:sts::210987654321:assumed-role/reader/chained" {
		t.Errorf("AssumeRole Arn = %s", got)
	}

	// Past its expiration the key is refused, as AWS refuses expired tokens.
	clk.Advance(16 * time.Minute)
	if _, err := assumed.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); errorCode(err) != "ExpiredToken" {
		t.Errorf("GetCallerIdentity with an expired key = %v, want ExpiredToken", err)
	}
	for _, call := range sim.Calls() {
		if call.Operation == "GetCallerIdentity" && call.AccessKeyID == "" {
			t.Errorf("call %+v: the access key of a signed call is not logged", call)
		}
	}
}

func TestECRTokenAndRegistryHost(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"", "127.0.0.1:5000"} {
		t.Run("host="+host, func(t *testing.T) {
			t.Parallel()
			var opts []awssim.Option
			if host != "" {
				opts = append(opts, awssim.WithRegistryHost(host))
			}
			sim, _, url := bare(t, opts...)
			c, ctx := ecr.NewFromConfig(sdkConfig(url, "AKID", "S", "")), context.Background()
			repo, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(repo.Repository.RepositoryUri), sim.RepositoryURI("team/web"); got != want {
				t.Errorf("repositoryUri %q, RepositoryURI %q", got, want)
			}
			tok, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			if err != nil {
				t.Fatal(err)
			}
			d := tok.AuthorizationData[0]
			if got := aws.ToTime(d.ExpiresAt); !got.Equal(simStart.Add(12 * time.Hour)) {
				t.Errorf("expiresAt = %v, want 12 h after the clock's now", got)
			}
			wantProxy := "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
			if host != "" {
				wantProxy = "http://" + host
			}
			if got := aws.ToString(d.ProxyEndpoint); got != wantProxy {
				t.Errorf("proxyEndpoint = %q, want %q", got, wantProxy)
			}
			raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
			if err != nil {
				t.Fatal(err)
			}
			user, pass, _ := strings.Cut(string(raw), ":")
			if !sim.ECRPasswordValid(user, pass) {
				t.Errorf("the token's %q / password does not pass ECRPasswordValid", user)
			}
			for _, bad := range [][2]string{{"AWS", pass + "x"}, {"aws", pass}, {"AWS", ""}} {
				if sim.ECRPasswordValid(bad[0], bad[1]) {
					t.Errorf("ECRPasswordValid(%q, %q) = true", bad[0], bad[1])
				}
			}
			_, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
			var nf *ecrtypes.RepositoryNotFoundException
			if !errors.As(err, &nf) {
				t.Errorf("DescribeRepositories(unknown) = %v, want *types.RepositoryNotFoundException", err)
			}
			if _, err = c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")}); !errors.As(err, new(*ecrtypes.RepositoryAlreadyExistsException)) {
				t.Errorf("CreateRepository twice = %v, want *types.RepositoryAlreadyExistsException", err)
			}
		})
	}
}

func TestCloudWatchDescribeAlarmsFiltersAndGzip(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(simStart)
	sim := awssim.New(awssim.WithClock(clk))
	var gzipped atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") == "gzip" {
			gzipped.Add(1)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cw, ctx := cloudwatch.NewFromConfig(sdkConfig(srv.URL, "AKID", "S", "")), context.Background()
	for _, n := range []string{"web-5xx", "web-latency", "api-5xx"} {
		if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(n), MetricName: aws.String("m"), Namespace: aws.String("n"), ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold,
			EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1.5), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-latency"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	names := func(in *cloudwatch.DescribeAlarmsInput) []string {
		out, err := cw.DescribeAlarms(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range out.MetricAlarms {
			got = append(got, aws.ToString(a.AlarmName))
		}
		return got
	}
	tests := []struct {
		name string
		in   cloudwatch.DescribeAlarmsInput
		want []string
	}{
		{"all", cloudwatch.DescribeAlarmsInput{}, []string{"api-5xx", "web-5xx", "web-latency"}},
		{"names", cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx", "nope"}}, []string{"web-5xx"}},
		{"prefix", cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("web-")}, []string{"web-5xx", "web-latency"}},
		{"state", cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm}, []string{"web-latency"}},
		{"prefix and state", cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String("api"), StateValue: cwtypes.StateValueInsufficientData}, []string{"api-5xx"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, names(&tc.in)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// The SDK gzips PutMetricData bodies over 10 KiB (aws-facts §1.4).
	var data []cwtypes.MetricDatum
	for i := range 300 {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String(fmt.Sprintf("requests-%03d", i)), Value: aws.Float64(float64(i)), Timestamp: aws.Time(simStart)})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("app"), MetricData: data}); err != nil {
		t.Fatalf("gzipped PutMetricData: %v", err)
	}
	if n := gzipped.Load(); n != 1 {
		t.Errorf("%d gzipped requests, want the PutMetricData one", n)
	}
	if _, err := cw.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{"web-5xx", "api-5xx"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web-latency"}, names(&cloudwatch.DescribeAlarmsInput{})); diff != "" {
		t.Errorf("after DeleteAlarms (-want +got):\n%s", diff)
	}
	_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-latency"), StateValue: "BOGUS", StateReason: aws.String("x")})
	var bad *cwtypes.InvalidFormatFault
	if !errors.As(err, &bad) || errorCode(err) != "InvalidFormat" {
		t.Errorf("SetAlarmState(BOGUS) = %v (code %q), want *types.InvalidFormatFault with the query code InvalidFormat", err, errorCode(err))
	}
	if state, ok := sim.World().AlarmState("web-latency"); !ok || state != "ALARM" {
		t.Errorf("AlarmState = %q, %v", state, ok)
	}
}

// rawCall sends one request by hand and returns the answer with its body.
func rawCall(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

const signed = "AWS4-HMAC-SHA256 Credential=AKIDRAW/20261124/eu-central-1/%s/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"

// TestRouting checks what no SDK shows: the router's answers to requests
// that name no service or operation the simulator has, the protocol details
// of each form, and that every answer carries a request id.
func TestRouting(t *testing.T) {
	t.Parallel()
	sim, _, url := bare(t)
	gz := func(s string) io.Reader {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return &b
	}
	cborBody := cbor.Encode(cbor.Map{"AlarmName": cbor.String("nope"), "StateValue": cbor.String("OK"), "StateReason": cbor.String("x")})
	tests := []struct {
		name        string
		method      string
		path        string
		headers     map[string]string
		body        io.Reader
		wantStatus  int
		wantType    string // Content-Type of the answer
		wantInBody  string
		wantHeaders map[string]string
	}{
		{
			name: "unknown awsJson service", method: "POST", path: "/", body: strings.NewReader("{}"),
			headers:    map[string]string{"X-Amz-Target": "AWSNoSuchService_20200101.Do", "Content-Type": "application/x-amz-json-1.1"},
			wantStatus: 400, wantType: "application/x-amz-json-1.1", wantInBody: `"__type":"UnknownOperationException"`,
		},
		{
			name: "unknown ECR operation", method: "POST", path: "/", body: strings.NewReader("{}"),
			headers:    map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.PutLifecyclePolicyX", "Content-Type": "application/x-amz-json-1.1"},
			wantStatus: 400, wantType: "application/x-amz-json-1.1", wantInBody: `"__type":"UnknownOperationException"`,
		},
		{
			name: "unknown awsQuery version", method: "POST", path: "/", body: strings.NewReader("Action=ListUsers&Version=2010-05-08"),
			headers:    map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			wantStatus: 400, wantType: "text/xml", wantInBody: "<Code>InvalidAction</Code>",
		},
		{
			name: "unknown STS action", method: "POST", path: "/", body: strings.NewReader("Action=GetSessionTokenX&Version=2011-06-15"),
			headers:    map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": fmt.Sprintf(signed, "sts")},
			wantStatus: 400, wantType: "text/xml", wantInBody: "<Code>InvalidAction</Code>",
		},
		{
			name: "awsQuery as a GET", method: "GET", path: "/?Action=GetCallerIdentity&Version=2011-06-15",
			headers:    map[string]string{"Authorization": fmt.Sprintf(signed, "sts")},
			wantStatus: 200, wantType: "text/xml", wantInBody: "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/",
		},
		{
			name: "unsigned GetCallerIdentity", method: "POST", path: "/", body: strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"),
			headers:    map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			wantStatus: 403, wantType: "text/xml", wantInBody: "<Code>MissingAuthenticationToken</Code>",
		},
		{
			name: "gzipped awsJson body", method: "POST", path: "/", body: gz(`{"repositoryName":"zipped"}`),
			headers:    map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository", "Content-Type": "application/x-amz-json-1.1", "Content-Encoding": "gzip"},
			wantStatus: 200, wantType: "application/x-amz-json-1.1", wantInBody: `"repositoryName":"zipped"`,
		},
		{
			name: "body that claims gzip and is not", method: "POST", path: "/", body: strings.NewReader(`{}`),
			headers:    map[string]string{"X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.CreateRepository", "Content-Encoding": "gzip"},
			wantStatus: 400, wantInBody: "MalformedInput",
		},
		{
			name: "CloudWatch JSON 1.0 from the CLI: query codes in a header", method: "POST", path: "/", body: strings.NewReader(`{"AlarmName":"nope","StateValue":"OK","StateReason":"x"}`),
			headers:    map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.SetAlarmState", "Content-Type": "application/x-amz-json-1.0", "X-Amzn-Query-Mode": "true"},
			wantStatus: 404, wantType: "application/x-amz-json-1.0", wantInBody: `"__type":"ResourceNotFound"`,
			wantHeaders: map[string]string{"X-Amzn-Query-Error": "ResourceNotFound;Sender"},
		},
		{
			name: "CloudWatch JSON 1.0 success", method: "POST", path: "/",
			body:       strings.NewReader(`{"AlarmName":"a1","MetricName":"m","Namespace":"n","Statistic":"Sum","Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}`),
			headers:    map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.PutMetricAlarm", "Content-Type": "application/x-amz-json-1.0", "X-Amzn-Query-Mode": "true"},
			wantStatus: 200, wantType: "application/x-amz-json-1.0",
			wantHeaders: map[string]string{"X-Amzn-Query-Error": ""},
		},
		{
			name: "CloudWatch JSON 1.0, shape and code differ", method: "POST", path: "/", body: strings.NewReader(`{"AlarmName":"a1","StateValue":"BOGUS","StateReason":"x"}`),
			headers:    map[string]string{"X-Amz-Target": "GraniteServiceVersion20100801.SetAlarmState", "Content-Type": "application/x-amz-json-1.0", "X-Amzn-Query-Mode": "true"},
			wantStatus: 400, wantType: "application/x-amz-json-1.0", wantInBody: `"__type":"InvalidFormatFault"`,
			wantHeaders: map[string]string{"X-Amzn-Query-Error": "InvalidFormat;Sender"},
		},
		{
			name: "CloudWatch CBOR error", method: "POST", path: "/service/GraniteServiceVersion20100801/operation/SetAlarmState", body: bytes.NewReader(cborBody),
			headers:    map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
			wantStatus: 404, wantType: "application/cbor",
			wantHeaders: map[string]string{"X-Amzn-Query-Error": "ResourceNotFound;Sender", "Smithy-Protocol": "rpc-v2-cbor"},
		},
		{
			name: "CBOR to an unknown service", method: "POST", path: "/service/NoSuchService/operation/Do", body: bytes.NewReader(cborBody),
			headers:    map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"},
			wantStatus: 400, wantType: "application/cbor",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, url+tc.path, tc.body)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, body := rawCall(t, req)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantType != "" && resp.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.wantType)
			}
			if !strings.Contains(string(body), tc.wantInBody) {
				t.Errorf("body %s, want it to contain %s", body, tc.wantInBody)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-requestid")
			}
			for k, v := range tc.wantHeaders {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// The call log has the credential scope of signed calls.
	var found bool
	for _, c := range sim.Calls() {
		if c.Operation == "GetCallerIdentity" && c.AccessKeyID == "AKIDRAW" {
			found = c.Region == "eu-central-1" && c.Service == "sts" && c.Status == 200 && c.RequestID != ""
		}
	}
	if !found {
		t.Errorf("the signed GetCallerIdentity is not logged with its key, region and request id: %+v", sim.Calls())
	}
}

// Faults are written in the protocol of the request, so every client sees
// the error it would see from AWS and retries what AWS would let it retry.
func TestFaultsPerProtocol(t *testing.T) {
	t.Parallel()
	sim, _, url := bare(t)
	faults := sim.Faults() // injected at runtime, without WithFaults
	ctx := context.Background()
	cw := cloudwatch.NewFromConfig(sdkConfig(url, "AKID", "S", ""))
	faults.FailNext("monitoring", "DescribeAlarms", awssim.FaultThrottle, 1)
	if _, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); errorCode(err) != "Throttling" {
		t.Errorf("throttled CBOR call = %v, want the code Throttling", err)
	}
	retrying := cloudwatch.NewFromConfig(sdkConfig(url, "AKID", "S", ""), func(o *cloudwatch.Options) { o.RetryMaxAttempts = 3 })
	faults.FailNext("monitoring", "DescribeAlarms", awssim.FaultThrottle, 1)
	faults.FailNext("monitoring", "DescribeAlarms", awssim.FaultServerError, 1)
	if _, err := retrying.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{}); err != nil {
		t.Errorf("the SDK should retry a CBOR throttle and a 503: %v", err)
	}
	// CloudWatch over JSON 1.0 (the CLI v1) gets the query code in the header.
	faults.FailNext("monitoring", "DescribeAlarms", awssim.FaultThrottle, 1)
	req, _ := http.NewRequest("POST", url+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "GraniteServiceVersion20100801.DescribeAlarms")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amzn-Query-Mode", "true")
	if resp, body := rawCall(t, req); resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Query-Error") != "Throttling;Sender" {
		t.Errorf("throttled JSON 1.0 call = %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// The same throttle over awsQuery (Debian's CLI v2).
	faults.FailNext("monitoring", "DescribeAlarms", awssim.FaultThrottle, 1)
	req, _ = http.NewRequest("POST", url+"/", strings.NewReader("Action=DescribeAlarms&Version=2010-08-01"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, body := rawCall(t, req); resp.StatusCode != 400 || !strings.Contains(string(body), "<Code>Throttling</Code>") {
		t.Errorf("throttled query call = %d %s", resp.StatusCode, body)
	}
	// STS throttles with the query code too.
	faults.FailNext("sts", "GetCallerIdentity", awssim.FaultThrottle, 1)
	if _, err := sts.NewFromConfig(sdkConfig(url, "AKID", "S", "")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); errorCode(err) != "Throttling" {
		t.Errorf("throttled STS call = %v", err)
	}
	want := map[string]int{"monitoring:DescribeAlarms:Throttling": 4, "monitoring:DescribeAlarms:ServiceUnavailable": 1, "sts:GetCallerIdentity:Throttling": 1}
	if diff := cmp.Diff(want, sim.ErrorCounts()); diff != "" {
		t.Errorf("error counts (-want +got):\n%s", diff)
	}
}

func TestFaultRules(t *testing.T) {
	t.Parallel()
	sim, _, url := bare(t)
	faults, ctx := sim.Faults(), context.Background()
	ecsc := ecs.NewFromConfig(sdkConfig(url, "AKID", "S", ""))
	describe := func() string {
		_, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{})
		return errorCode(err)
	}
	list := func() string {
		_, err := ecsc.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
		return errorCode(err)
	}
	// An operation rule beats a service rule, which beats the global rates.
	faults.SetRates(0, 1, 0)
	faults.SetOperationRates("ecs", "", awssim.Rates{Throttle: 1})
	faults.SetOperationRates("ecs", "DescribeClusters", awssim.Rates{})
	if got := describe(); got != "" {
		t.Errorf("DescribeClusters with an empty operation rule = %q, want no fault", got)
	}
	if got := list(); got != "ThrottlingException" {
		t.Errorf("ListTaskDefinitions under the ECS rule = %q, want ThrottlingException", got)
	}
	faults.ClearOperationRates("ecs", "")
	if got := list(); got != "ServiceUnavailable" {
		t.Errorf("ListTaskDefinitions under the global rates = %q, want ServiceUnavailable", got)
	}
	// Queued failures come before every rate.
	faults.FailNext("ecs", "DescribeClusters", awssim.FaultThrottle, 2)
	if a, b, c := describe(), describe(), describe(); a != "ThrottlingException" || b != "ThrottlingException" || c != "" {
		t.Errorf("FailNext 2 gave %q %q %q", a, b, c)
	}
	faults.Reset()
	if got := list(); got != "" {
		t.Errorf("after Reset = %q", got)
	}
	// Per-operation latency. The delay is long so that a loaded CI machine
	// cannot make the undelayed call look delayed.
	const delay = 1500 * time.Millisecond
	faults.SetOperationRates("ecs", "ListTaskDefinitions", awssim.Rates{Latency: delay})
	start := time.Now()
	list()
	if d := time.Since(start); d < delay {
		t.Errorf("ListTaskDefinitions took %v with %v of injected latency", d, delay)
	}
	start = time.Now()
	describe()
	if d := time.Since(start); d >= delay {
		t.Errorf("DescribeClusters took %v: the latency rule is for ListTaskDefinitions only", d)
	}
}

// The same seed gives the same faults: a failing run can be repeated.
func TestFaultsReproducible(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) []string {
		faults := awssim.NewFaults(seed)
		faults.SetOperationRates("ecs", "ListTaskDefinitions", awssim.Rates{Throttle: 0.3, ServerError: 0.2})
		_, _, url := bare(t, awssim.WithFaults(faults))
		ecsc := ecs.NewFromConfig(sdkConfig(url, "AKID", "S", ""))
		var codes []string
		for range 40 {
			_, err := ecsc.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
			codes = append(codes, errorCode(err))
		}
		return codes
	}
	a, b, other := run(11), run(11), run(12)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two runs with seed 11 differ (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, other) {
		t.Errorf("seeds 11 and 12 gave the same 40 outcomes: %v", a)
	}
	counts := map[string]int{}
	for _, c := range a {
		counts[c]++
	}
	if counts["ThrottlingException"] == 0 || counts["ServiceUnavailable"] == 0 || counts[""] == 0 {
		t.Errorf("30%% throttling and 20%% errors over 40 calls gave %v", counts)
	}
}
