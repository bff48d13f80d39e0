package awssim_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// A differential suite: the same calls go to moto_server and to the
// simulator, and the shapes of the answers (member paths, error codes) are
// compared. Values (ids, ARNs, times) differ by nature and are not compared.

// step is one API call. body may use {{name}} placeholders filled from
// earlier answers.
type step struct {
	name     string
	service  string // signing name, for the credential scope
	target   string // awsJson X-Amz-Target; empty for awsQuery
	body     string
	extract  map[string]string // placeholder -> JSON key path or XML element name to read
	wantCode string            // an error code both must answer with
}

// knownDifferences are member paths moto returns that the simulator leaves
// out on purpose.
var knownDifferences = map[string]string{
	// moto returns cluster settings and capacity providers; the tool never reads them.
	// Real ELBv2 omits SslPolicy and AlpnPolicy on HTTP listeners; moto sends them empty.
	"elasticloadbalancing:CreateListener:Listeners.[].SslPolicy":     "absent on HTTP listeners in AWS",
	"elasticloadbalancing:CreateListener:Listeners.[].AlpnPolicy":    "absent on HTTP listeners in AWS",
	"elasticloadbalancing:DescribeListeners:Listeners.[].SslPolicy":  "absent on HTTP listeners in AWS",
	"elasticloadbalancing:DescribeListeners:Listeners.[].AlpnPolicy": "absent on HTTP listeners in AWS",
	// STS sends PackedPolicySize only when the request passes session policies or tags; moto always does.
	"sts:AssumeRole:PackedPolicySize":                                     "sent by STS only with session policies or tags",
	"sts:AssumeRoleWithWebIdentity:PackedPolicySize":                      "sent by STS only with session policies or tags",
	"ecs:CreateCluster:cluster.capacityProviders[]":                       "capacity providers are not modelled",
	"ecs:CreateCluster:cluster.defaultCapacityProviderStrategy[]":         "capacity providers are not modelled",
	"ecs:CreateCluster:cluster.statistics[]":                              "statistics are not modelled",
	"ecs:CreateCluster:cluster.tags[]":                                    "tags are returned by ListTagsForResource",
	"ecs:CreateCluster:cluster.attachments[]":                             "cluster attachments are not modelled",
	"ecs:CreateCluster:cluster.attachmentsStatus":                         "cluster attachments are not modelled",
	"ecs:CreateCluster:cluster.serviceConnectDefaults":                    "Service Connect is not modelled",
	"ecs:CreateCluster:cluster.configuration":                             "cluster configuration is not modelled",
	"ecs:CreateCluster:cluster.configuration.executeCommandConfiguration": "cluster configuration is not modelled",
}

func startMoto(t *testing.T) string {
	t.Helper()
	return testutil.StartMoto(t)
}

type answer struct {
	status int
	code   string
	paths  map[string]bool
	values map[string]string
}

func call(t *testing.T, endpoint string, s step, vars map[string]string) answer {
	t.Helper()
	body := s.body
	for k, v := range vars {
		body = strings.ReplaceAll(body, "{{"+k+"}}", v)
		body = strings.ReplaceAll(body, url.QueryEscape("{{"+k+"}}"), url.QueryEscape(v))
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261124/eu-west-1/"+s.service+"/aws4_request, SignedHeaders=host, Signature=0")
	if s.target != "" {
		req.Header.Set("X-Amz-Target", s.target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, paths: map[string]bool{}, values: map[string]string{}}
	if s.target != "" {
		var v any
		_ = json.Unmarshal(raw, &v)
		jsonPaths(v, "", a.paths, a.values)
		if m, ok := v.(map[string]any); ok && resp.StatusCode >= 400 {
			a.code, _ = m["__type"].(string)
			if i := strings.LastIndex(a.code, "#"); i >= 0 {
				a.code = a.code[i+1:]
			}
		}
	} else {
		xmlPaths(raw, a.paths, a.values)
		if resp.StatusCode >= 400 {
			a.code = a.values["Code"]
		}
	}
	return a
}

func jsonPaths(v any, prefix string, out map[string]bool, values map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonPaths(e, p, out, values)
		}
	case []any:
		out[prefix+"[]"] = true
		for _, e := range x {
			jsonPaths(e, prefix+"[]", out, values)
		}
		delete(out, prefix)
	default:
		if _, seen := values[prefix]; !seen {
			values[prefix] = fmt.Sprint(x)
		}
	}
}

func xmlPaths(raw []byte, out map[string]bool, values map[string]string) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		switch x := tok.(type) {
		case xml.StartElement:
			name := x.Name.Local
			if name == "member" {
				name = "[]"
			}
			stack = append(stack, name)
			text.Reset()
			if len(stack) > 2 && stack[len(stack)-1] != "ResponseMetadata" {
				out[strings.Join(stack[2:], ".")] = true
			}
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			if len(stack) > 0 {
				leaf := stack[len(stack)-1]
				if _, seen := values[leaf]; !seen && strings.TrimSpace(text.String()) != "" {
					values[leaf] = strings.TrimSpace(text.String())
				}
				stack = stack[:len(stack)-1]
			}
			text.Reset()
		}
	}
}

func TestDifferentialAgainstMoto(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	const ecsT, ecrT = "AmazonEC2ContainerServiceV20141113.", "AmazonEC2ContainerRegistry_V20150921."
	elbQ := func(action string, params ...string) string {
		v := url.Values{"Action": {action}, "Version": {"2015-12-01"}}
		for i := 0; i+1 < len(params); i += 2 {
			v.Set(params[i], params[i+1])
		}
		return v.Encode()
	}
	steps := []step{
		{name: "CreateCluster", service: "ecs", target: ecsT + "CreateCluster", body: `{"clusterName":"prod"}`},
		{name: "DescribeClusters", service: "ecs", target: ecsT + "DescribeClusters", body: `{"clusters":["prod","nope"]}`},
		{
			name: "RegisterTaskDefinition", service: "ecs", target: ecsT + "RegisterTaskDefinition",
			body:    `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"nginx","portMappings":[{"containerPort":8080}]}]}`,
			extract: map[string]string{"td": "taskDefinition.taskDefinitionArn"},
		},
		{name: "DescribeTaskDefinition", service: "ecs", target: ecsT + "DescribeTaskDefinition", body: `{"taskDefinition":"web:1"}`},
		{name: "ListTaskDefinitions", service: "ecs", target: ecsT + "ListTaskDefinitions", body: `{"familyPrefix":"web"}`},
		{name: "DescribeTaskDefinition unknown", service: "ecs", target: ecsT + "DescribeTaskDefinition", body: `{"taskDefinition":"nope:9"}`, wantCode: "ClientException"},
		{name: "CreateLoadBalancer", service: "elasticloadbalancing", body: elbQ("CreateLoadBalancer", "Name", "web-alb", "Subnets.member.1", "{{subnet1}}", "Subnets.member.2", "{{subnet2}}"), extract: map[string]string{"lb": "LoadBalancerArn"}},
		{name: "CreateTargetGroup", service: "elasticloadbalancing", body: elbQ("CreateTargetGroup", "Name", "web-blue", "Protocol", "HTTP", "Port", "8080", "VpcId", "{{vpc}}", "TargetType", "ip"), extract: map[string]string{"tg": "TargetGroupArn"}},
		{name: "CreateListener", service: "elasticloadbalancing", body: elbQ("CreateListener", "LoadBalancerArn", "{{lb}}", "Protocol", "HTTP", "Port", "80", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", "{{tg}}"), extract: map[string]string{"listener": "ListenerArn"}},
		{name: "DescribeListeners", service: "elasticloadbalancing", body: elbQ("DescribeListeners", "ListenerArns.member.1", "{{listener}}")},
		{name: "DescribeTargetGroups", service: "elasticloadbalancing", body: elbQ("DescribeTargetGroups", "Names.member.1", "web-blue")},
		{name: "DescribeTargetGroupAttributes", service: "elasticloadbalancing", body: elbQ("DescribeTargetGroupAttributes", "TargetGroupArn", "{{tg}}")},
		{name: "ModifyTargetGroupAttributes", service: "elasticloadbalancing", body: elbQ("ModifyTargetGroupAttributes", "TargetGroupArn", "{{tg}}", "Attributes.member.1.Key", "deregistration_delay.timeout_seconds", "Attributes.member.1.Value", "30")},
		{name: "DescribeTargetGroupAttributes unknown", service: "elasticloadbalancing", body: elbQ("DescribeTargetGroupAttributes", "TargetGroupArn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/nope/0123456789abcdef"), wantCode: "TargetGroupNotFound"},
		{name: "RegisterTargets", service: "elasticloadbalancing", body: elbQ("RegisterTargets", "TargetGroupArn", "{{tg}}", "Targets.member.1.Id", "10.0.1.9", "Targets.member.1.Port", "8080")},
		{name: "DescribeTargetHealth with Targets", service: "elasticloadbalancing", body: elbQ("DescribeTargetHealth", "TargetGroupArn", "{{tg}}", "Targets.member.1.Id", "10.0.1.9", "Targets.member.1.Port", "8080")},
		{name: "DescribeListeners unknown", service: "elasticloadbalancing", body: elbQ("DescribeListeners", "ListenerArns.member.1", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/x/1/2"), wantCode: "ListenerNotFound"},
		{name: "CreateRepository", service: "ecr", target: ecrT + "CreateRepository", body: `{"repositoryName":"web"}`},
		{name: "DescribeRepositories", service: "ecr", target: ecrT + "DescribeRepositories", body: `{"repositoryNames":["web"]}`},
		{name: "DescribeRepositories unknown", service: "ecr", target: ecrT + "DescribeRepositories", body: `{"repositoryNames":["nope"]}`, wantCode: "RepositoryNotFoundException"},
		{name: "GetCallerIdentity", service: "sts", body: "Action=GetCallerIdentity&Version=2011-06-15"},
		{name: "AssumeRole", service: "sts", body: "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeployer&RoleSessionName=local&DurationSeconds=900"},
		{name: "AssumeRoleWithWebIdentity", service: "sts", body: "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeployer&RoleSessionName=gitlab-1&WebIdentityToken=" +
			url.QueryEscape(jwt(map[string]any{"sub": "project_path:g/web:ref_type:branch:ref:main", "iss": "https://gitlab.example.com", "aud": "sts.amazonaws.com"}))},
		{name: "GetAuthorizationToken", service: "ecr", target: ecrT + "GetAuthorizationToken", body: `{}`},
		{name: "DeleteRepository", service: "ecr", target: ecrT + "DeleteRepository", body: `{"repositoryName":"web"}`},
		{name: "DeleteRepository unknown", service: "ecr", target: ecrT + "DeleteRepository", body: `{"repositoryName":"web"}`, wantCode: "RepositoryNotFoundException"},
		{name: "PutMetricAlarm", service: "monitoring", body: "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a1&MetricName=m&Namespace=n&Statistic=Sum&Period=60&EvaluationPeriods=1&Threshold=1&ComparisonOperator=GreaterThanThreshold"},
		{name: "SetAlarmState", service: "monitoring", body: "Action=SetAlarmState&Version=2010-08-01&AlarmName=a1&StateValue=ALARM&StateReason=test"},
		{name: "DescribeAlarms", service: "monitoring", body: "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=a1"},
		{name: "DescribeAlarms by state", service: "monitoring", body: "Action=DescribeAlarms&Version=2010-08-01&StateValue=ALARM&AlarmNamePrefix=a"},
		{name: "SetAlarmState unknown", service: "monitoring", body: "Action=SetAlarmState&Version=2010-08-01&AlarmName=nope&StateValue=OK&StateReason=x", wantCode: "ResourceNotFound"},
		{name: "PutMetricData", service: "monitoring", body: "Action=PutMetricData&Version=2010-08-01&Namespace=app&MetricData.member.1.MetricName=requests&MetricData.member.1.Value=1"},
		{name: "DeleteAlarms", service: "monitoring", body: "Action=DeleteAlarms&Version=2010-08-01&AlarmNames.member.1=a1"},
	}
	motoVars, simVars := motoNetwork(t, moto), map[string]string{"vpc": "vpc-1", "subnet1": "subnet-a", "subnet2": "subnet-b"}
	var report []string
	for _, s := range steps {
		m, ours := call(t, moto, s, motoVars), call(t, srv.URL, s, simVars)
		for k, path := range s.extract {
			motoVars[k], simVars[k] = m.values[path], ours.values[path]
		}
		if s.wantCode != "" {
			if m.code != s.wantCode || ours.code != s.wantCode {
				t.Errorf("%s: error codes moto %q, simulator %q, want %q", s.name, m.code, ours.code, s.wantCode)
			}
			continue
		}
		if (m.status >= 400) != (ours.status >= 400) {
			t.Errorf("%s: moto answered %d %s, the simulator %d %s", s.name, m.status, m.code, ours.status, ours.code)
			continue
		}
		var missing []string
		for p := range m.paths {
			if !ours.paths[p] && knownDifferences[s.service+":"+s.name+":"+p] == "" {
				missing = append(missing, p)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			report = append(report, fmt.Sprintf("%s: moto returns %s, the simulator does not", s.name, strings.Join(missing, ", ")))
		}
	}
	for _, r := range report {
		t.Error(r)
	}
}

// motoNetwork creates the VPC and subnets moto checks load balancers and
// target groups against (the simulator, having no EC2, takes any ids).
func motoNetwork(t *testing.T, moto string) map[string]string {
	t.Helper()
	ec2 := func(body string) map[string]string {
		a := call(t, moto, step{name: "ec2", service: "ec2", body: body + "&Version=2016-11-15"}, nil)
		return a.values
	}
	vpc := ec2("Action=CreateVpc&CidrBlock=10.0.0.0%2F16")["vpcId"]
	s1 := ec2("Action=CreateSubnet&VpcId=" + vpc + "&CidrBlock=10.0.1.0%2F24&AvailabilityZone=eu-west-1a")["subnetId"]
	s2 := ec2("Action=CreateSubnet&VpcId=" + vpc + "&CidrBlock=10.0.2.0%2F24&AvailabilityZone=eu-west-1b")["subnetId"]
	if vpc == "" || s1 == "" || s2 == "" {
		t.Fatalf("creating the moto network: vpc %q subnets %q %q", vpc, s1, s2)
	}
	return map[string]string{"vpc": vpc, "subnet1": s1, "subnet2": s2}
}
