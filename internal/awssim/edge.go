package awssim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// STS, CloudWatch alarms and ECR repositories: the services around the
// deployment world.

// WebIdentityCall is an AssumeRoleWithWebIdentity the simulator answered.
type WebIdentityCall struct {
	RoleARN, SessionName, Token string
	// Subject, Issuer and Audience are the token's sub, iss and aud claims
	// (read, never verified: the simulator trusts every identity provider).
	Subject, Issuer, Audience string
}

// stsSession is what an access key STS issued stands for.
type stsSession struct {
	arn, assumedRoleID string
	expires            time.Time
}

var (
	roleARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// stsValidation is the error STS answers a member that breaks the model's
// constraints with.
func stsValidation(format string, args ...any) *wire.Error {
	return (&wire.Error{Type: "ValidationError", Message: "1 validation error detected: " + fmt.Sprintf(format, args...)}).WithCode("ValidationError")
}

// jwtClaims reads the claims of a JWT without checking its signature: STS
// would check it against the identity provider's keys, which the simulator
// does not have.
func jwtClaims(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return nil, false
	}
	return claims, true
}

func (w *World) stsOp(c Caller, op string, f formT) (any, error) {
	switch op {
	case "GetCallerIdentity":
		type result struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		}
		if c.AccessKeyID == "" {
			return nil, (&wire.Error{Type: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: 403}).WithCode("MissingAuthenticationToken")
		}
		if s, ok := w.stsSessions[c.AccessKeyID]; ok {
			if w.now().After(s.expires) {
				return nil, (&wire.Error{Type: "ExpiredToken", Message: "The security token included in the request is expired", Status: 403}).WithCode("ExpiredToken")
			}
			return result{Arn: s.arn, UserID: s.assumedRoleID, Account: w.env.Account}, nil
		}
		// Any other key is an IAM user of the simulated account; the user id
		// is derived from the key so two keys are two users.
		return result{Arn: "arn:aws:iam::" + w.env.Account + ":user/simulated", UserID: "AIDA" + stableID(c.AccessKeyID, 17), Account: w.env.Account}, nil
	case "AssumeRoleWithWebIdentity", "AssumeRole":
		if op == "AssumeRole" && c.AccessKeyID == "" {
			return nil, (&wire.Error{Type: "MissingAuthenticationToken", Message: "Request is missing Authentication Token", Status: 403}).WithCode("MissingAuthenticationToken")
		}
		role, session := f.String("RoleArn"), f.String("RoleSessionName")
		switch {
		case !f.Has("RoleArn"):
			return nil, stsValidation("Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
		case !roleARNPattern.MatchString(role):
			return nil, stsValidation("Value '%s' at 'roleArn' failed to satisfy constraint: Member must be a valid IAM role ARN", role)
		case !f.Has("RoleSessionName"):
			return nil, stsValidation("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
		case !sessionNamePattern.MatchString(session):
			return nil, stsValidation("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session)
		}
		duration := time.Hour
		if n, ok := f.Int("DurationSeconds"); ok || f.Has("DurationSeconds") {
			if !ok || n < 900 || n > 43200 {
				return nil, stsValidation("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200", f.String("DurationSeconds"))
			}
			duration = time.Duration(n) * time.Second
		}
		type creds struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		}
		type user struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		}
		type result struct {
			Credentials     creds  `xml:"Credentials"`
			AssumedRoleUser user   `xml:"AssumedRoleUser"`
			Subject         string `xml:"SubjectFromWebIdentityToken,omitempty"`
			Provider        string `xml:"Provider,omitempty"`
			Audience        string `xml:"Audience,omitempty"`
		}
		var out result
		if op == "AssumeRoleWithWebIdentity" {
			token := f.String("WebIdentityToken")
			if !f.Has("WebIdentityToken") {
				return nil, stsValidation("Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
			}
			if len(token) < 4 || len(token) > 20000 {
				return nil, stsValidation("Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and 20000")
			}
			claims, ok := jwtClaims(token)
			if !ok {
				return nil, (&wire.Error{Type: "InvalidIdentityTokenException", Message: "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"}).WithCode("InvalidIdentityToken")
			}
			call := WebIdentityCall{RoleARN: role, SessionName: session, Token: token}
			call.Subject, _ = claims["sub"].(string)
			call.Issuer, _ = claims["iss"].(string)
			switch aud := claims["aud"].(type) {
			case string:
				call.Audience = aud
			case []any:
				if len(aud) > 0 {
					call.Audience, _ = aud[0].(string)
				}
			}
			w.identities = append(w.identities, call)
			out.Subject, out.Audience = call.Subject, call.Audience
			// STS names the provider by the issuer without its scheme.
			out.Provider = strings.TrimPrefix(call.Issuer, "https://")
		}
		roleName := role[strings.LastIndex(role, "/")+1:]
		out.Credentials = creds{
			AccessKeyID: "ASIA" + randomID(16, idAlphabet), SecretAccessKey: randomID(40, idAlphabet+"abcdefghijklmnopqrstuvwxyz"),
			SessionToken: randomID(120, idAlphabet), Expiration: wire.ISO8601(w.now().Add(duration)),
		}
		out.AssumedRoleUser = user{
			Arn:           "arn:aws:sts::" + w.env.Account + ":assumed-role/" + roleName + "/" + session,
			AssumedRoleID: "AROA" + stableID(role, 17) + ":" + session,
		}
		if w.stsSessions == nil {
			w.stsSessions = map[string]stsSession{}
		}
		w.stsSessions[out.Credentials.AccessKeyID] = stsSession{arn: out.AssumedRoleUser.Arn, assumedRoleID: out.AssumedRoleUser.AssumedRoleID, expires: w.now().Add(duration)}
		return out, nil
	}
	return nil, (&wire.Error{Type: "InvalidAction", Message: "the STS simulator does not implement " + op}).WithCode("InvalidAction")
}

// stableID derives an id of n upper-case characters from s, so the same role
// or access key always gets the same unique id, as in IAM.
func stableID(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	var b strings.Builder
	for i := range n {
		b.WriteByte(idAlphabet[int(sum[i])%len(idAlphabet)])
	}
	return b.String()
}

// WebIdentityCalls lists the AssumeRoleWithWebIdentity calls answered so far.
func (w *World) WebIdentityCalls() []WebIdentityCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]WebIdentityCall(nil), w.identities...)
}

type alarm struct {
	name, state, reason, metric, namespace string
	statistic, comparison                  string
	period, evaluationPeriods              int
	threshold                              float64
	updated, configured                    time.Time
}

// AlarmState implements AlarmStates.
func (w *World) AlarmState(name string) (string, bool) {
	a := w.alarms[name]
	if a == nil {
		return "", false
	}
	return a.state, true
}

// cloudWatchJSON serves CloudWatch over awsJson 1.0 (AWS CLI v1).
func (w *World) cloudWatchJSON(op string, body []byte) (any, error) {
	var in map[string]any
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	out, err := w.cloudWatch(op, jsonArgs(in))
	if err != nil {
		return nil, err
	}
	return jsonTimes(out), nil
}

// cloudWatchCBOR serves CloudWatch over Smithy RPC v2 CBOR (the Go SDK).
func (w *World) cloudWatchCBOR(_ context.Context, op string, in map[string]any) (map[string]any, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	defer w.settleAfter(op) // an alarm that fires stops a deployment now
	return w.cloudWatch(op, jsonArgs(in))
}

// cloudWatchQuery serves CloudWatch over awsQuery (older SDKs, Debian's CLI v2).
func (w *World) cloudWatchQuery(op string, f formT) (any, error) {
	out, err := w.cloudWatch(op, queryArgs{f})
	if err != nil {
		return nil, err
	}
	return cwXML(op, out), nil
}

// cwArgs reads CloudWatch inputs whatever the protocol.
type cwArgs interface {
	str(name string) string
	strs(name string) []string
	num(name string) float64
}

type jsonArgs map[string]any

func (a jsonArgs) str(name string) string {
	s, _ := a[name].(string)
	return s
}

func (a jsonArgs) num(name string) float64 {
	f, _ := a[name].(float64)
	return f
}

func (a jsonArgs) strs(name string) []string {
	l, _ := a[name].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

type queryArgs struct{ f formT }

func (a queryArgs) str(name string) string    { return a.f.String(name) }
func (a queryArgs) strs(name string) []string { return a.f.Strings(name) }

func (a queryArgs) num(name string) float64 {
	f, _ := strconv.ParseFloat(a.f.String(name), 64)
	return f
}

var alarmStates = map[string]bool{"OK": true, "ALARM": true, "INSUFFICIENT_DATA": true}

// cloudWatch implements the alarm operations; results are generic maps with
// the model's PascalCase members, encoded by each protocol.
func (w *World) cloudWatch(op string, a cwArgs) (map[string]any, error) {
	switch op {
	case "PutMetricAlarm":
		name := a.str("AlarmName")
		if name == "" {
			return nil, (&wire.Error{Type: "InvalidParameterValueException", Message: "AlarmName is required"}).WithCode("InvalidParameterValue")
		}
		al := w.alarms[name]
		if al == nil {
			al = &alarm{name: name, state: "INSUFFICIENT_DATA", reason: "Unchecked: Initial alarm creation", updated: w.now()}
			w.alarms[name] = al
		}
		al.metric, al.namespace, al.statistic, al.comparison = a.str("MetricName"), a.str("Namespace"), a.str("Statistic"), a.str("ComparisonOperator")
		al.period, al.evaluationPeriods, al.threshold, al.configured = int(a.num("Period")), int(a.num("EvaluationPeriods")), a.num("Threshold"), w.now()
		return map[string]any{}, nil
	case "SetAlarmState":
		al := w.alarms[a.str("AlarmName")]
		if al == nil {
			return nil, (&wire.Error{Type: "ResourceNotFound", Message: "Alarm " + a.str("AlarmName") + " does not exist", Status: 404}).WithCode("ResourceNotFound")
		}
		state := a.str("StateValue")
		if !alarmStates[state] {
			return nil, (&wire.Error{Type: "InvalidFormatFault", Message: "StateValue must be OK, ALARM or INSUFFICIENT_DATA"}).WithCode("InvalidFormat")
		}
		al.state, al.reason, al.updated = state, a.str("StateReason"), w.now()
		return map[string]any{}, nil
	case "DeleteAlarms":
		for _, n := range a.strs("AlarmNames") {
			delete(w.alarms, n)
		}
		return map[string]any{}, nil
	case "DescribeAlarms":
		names, prefix, state := a.strs("AlarmNames"), a.str("AlarmNamePrefix"), a.str("StateValue")
		var list []map[string]any
		for _, al := range sortedByKey(w.alarms) {
			if (len(names) > 0 && !contains(names, al.name)) || (prefix != "" && !strings.HasPrefix(al.name, prefix)) || (state != "" && al.state != state) {
				continue
			}
			list = append(list, map[string]any{
				"AlarmName": al.name, "AlarmArn": w.arn("cloudwatch", "alarm:"+al.name), "StateValue": al.state, "StateReason": al.reason,
				"StateUpdatedTimestamp": al.updated, "AlarmConfigurationUpdatedTimestamp": al.configured, "MetricName": al.metric,
				"Namespace": al.namespace, "ActionsEnabled": true, "Statistic": al.statistic, "ComparisonOperator": al.comparison,
				"Period": al.period, "EvaluationPeriods": al.evaluationPeriods, "Threshold": al.threshold,
				"AlarmActions": []string{}, "OKActions": []string{}, "InsufficientDataActions": []string{}, "Dimensions": []any{}, "Metrics": []any{},
			})
		}
		return map[string]any{"MetricAlarms": list, "CompositeAlarms": []map[string]any{}}, nil
	case "PutMetricData":
		return map[string]any{}, nil
	}
	return nil, (&wire.Error{Type: "UnknownOperationException", Message: "the CloudWatch simulator does not implement " + op}).WithCode("InvalidAction")
}

// cwXML turns a CloudWatch result into its awsQuery XML form.
func cwXML(op string, out map[string]any) any {
	if op != "DescribeAlarms" {
		return nil
	}
	type empty struct{}
	type xmlAlarm struct {
		AlarmName                          string  `xml:"AlarmName"`
		AlarmArn                           string  `xml:"AlarmArn"`
		StateValue                         string  `xml:"StateValue"`
		StateReason                        string  `xml:"StateReason"`
		StateUpdatedTimestamp              string  `xml:"StateUpdatedTimestamp"`
		AlarmConfigurationUpdatedTimestamp string  `xml:"AlarmConfigurationUpdatedTimestamp"`
		MetricName                         string  `xml:"MetricName,omitempty"`
		Namespace                          string  `xml:"Namespace,omitempty"`
		Statistic                          string  `xml:"Statistic,omitempty"`
		ComparisonOperator                 string  `xml:"ComparisonOperator,omitempty"`
		Period                             int     `xml:"Period"`
		EvaluationPeriods                  int     `xml:"EvaluationPeriods"`
		Threshold                          float64 `xml:"Threshold"`
		ActionsEnabled                     bool    `xml:"ActionsEnabled"`
		AlarmActions                       empty   `xml:"AlarmActions"`
		OKActions                          empty   `xml:"OKActions"`
		InsufficientDataActions            empty   `xml:"InsufficientDataActions"`
		Dimensions                         empty   `xml:"Dimensions"`
		Metrics                            empty   `xml:"Metrics"`
	}
	type result struct {
		MetricAlarms    []xmlAlarm `xml:"MetricAlarms>member"`
		CompositeAlarms empty      `xml:"CompositeAlarms"`
	}
	var r result
	list, _ := out["MetricAlarms"].([]map[string]any)
	for _, m := range list {
		r.MetricAlarms = append(r.MetricAlarms, xmlAlarm{
			AlarmName: m["AlarmName"].(string), AlarmArn: m["AlarmArn"].(string), StateValue: m["StateValue"].(string),
			StateReason: m["StateReason"].(string), StateUpdatedTimestamp: wire.ISO8601(m["StateUpdatedTimestamp"].(time.Time)),
			AlarmConfigurationUpdatedTimestamp: wire.ISO8601(m["AlarmConfigurationUpdatedTimestamp"].(time.Time)),
			MetricName:                         m["MetricName"].(string), Namespace: m["Namespace"].(string), ActionsEnabled: true,
			Statistic: m["Statistic"].(string), ComparisonOperator: m["ComparisonOperator"].(string),
			Period: m["Period"].(int), EvaluationPeriods: m["EvaluationPeriods"].(int), Threshold: m["Threshold"].(float64),
		})
	}
	return r
}

// jsonTimes makes CloudWatch JSON output use epoch seconds for timestamps.
func jsonTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[k] = jsonTimes(val)
		}
		return out
	case []map[string]any:
		out := make([]any, 0, len(x))
		for _, m := range x {
			out = append(out, jsonTimes(m))
		}
		return out
	case time.Time:
		return wire.EpochSeconds(x)
	}
	return v
}

type repository struct {
	name, arn, uri string
	created        time.Time
}

// RegistryHost is where ECR repository URIs point: the sandbox sets it to its
// in-memory registry; otherwise it is the account's ECR host.
func (w *World) registryHost() string {
	if w.env.RegistryHost != "" {
		return w.env.RegistryHost
	}
	return w.env.Account + ".dkr.ecr." + w.env.Region + ".amazonaws.com"
}

func (w *World) proxyEndpoint() string {
	if w.env.RegistryHost != "" {
		return "http://" + w.env.RegistryHost
	}
	return "https://" + w.registryHost()
}

func (w *World) ecrOp(op string, body []byte) (any, error) {
	var in struct {
		RepositoryName  string   `json:"repositoryName"`
		RepositoryNames []string `json:"repositoryNames"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	repoOut := func(r *repository) map[string]any {
		return map[string]any{
			"repositoryName": r.name, "repositoryArn": r.arn, "repositoryUri": r.uri, "registryId": w.env.Account, "createdAt": wire.EpochSeconds(r.created),
			"imageTagMutability": "MUTABLE", "imageScanningConfiguration": map[string]bool{"scanOnPush": false},
			"encryptionConfiguration": map[string]string{"encryptionType": "AES256"},
		}
	}
	switch op {
	case "CreateRepository":
		if in.RepositoryName == "" {
			return nil, wire.Errorf("InvalidParameterException", "repositoryName is required")
		}
		if w.repositories[in.RepositoryName] != nil {
			return nil, wire.Errorf("RepositoryAlreadyExistsException", "The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, w.env.Account)
		}
		r := &repository{name: in.RepositoryName, arn: w.arn("ecr", "repository/"+in.RepositoryName), uri: w.registryHost() + "/" + in.RepositoryName, created: w.now()}
		w.repositories[r.name] = r
		return map[string]any{"repository": repoOut(r)}, nil
	case "DescribeRepositories":
		var out []any
		if len(in.RepositoryNames) == 0 {
			for _, r := range sortedByKey(w.repositories) {
				out = append(out, repoOut(r))
			}
		}
		for _, n := range in.RepositoryNames {
			r := w.repositories[n]
			if r == nil {
				return nil, wire.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", n, w.env.Account)
			}
			out = append(out, repoOut(r))
		}
		if out == nil {
			out = []any{}
		}
		return map[string]any{"repositories": out}, nil
	case "DeleteRepository":
		r := w.repositories[in.RepositoryName]
		if r == nil {
			return nil, wire.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '%s'", in.RepositoryName, w.env.Account)
		}
		delete(w.repositories, r.name)
		return map[string]any{"repository": repoOut(r)}, nil
	case "GetAuthorizationToken":
		token := base64.StdEncoding.EncodeToString([]byte("AWS:" + w.ecrPassword()))
		return map[string]any{"authorizationData": []any{map[string]any{
			"authorizationToken": token, "expiresAt": wire.EpochSeconds(w.now().Add(12 * time.Hour)), "proxyEndpoint": w.proxyEndpoint(),
		}}}, nil
	}
	return nil, wire.Errorf("UnknownOperationException", "the ECR simulator does not implement %s", op)
}

// ecrPassword is the simulated registry password GetAuthorizationToken hands out.
func (w *World) ecrPassword() string { return "ecr-sim-" + w.env.Account }
