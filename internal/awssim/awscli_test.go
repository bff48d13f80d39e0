package awssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// cli runs an AWS CLI against the simulator and decodes its JSON output.
func cli(t *testing.T, bin, endpoint string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_REGION=eu-west-1", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr)
	}
	var v map[string]any
	if len(strings.TrimSpace(string(out))) == 0 {
		return map[string]any{}
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s output is not JSON: %v\n%s", bin, err, out)
	}
	return v
}

// awsCLIs finds the AWS CLI v1 (pip's `aws`) and v2 (Debian's
// /usr/bin/aws, or BG_AWSCLI_V2), skipping (or failing under
// BG_REQUIRE_PEERS=1) when one is missing.
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	clis := map[string]string{}
	if p, err := exec.LookPath("aws"); err == nil {
		if out, err := exec.Command(p, "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/1") {
			clis["v1"] = p
		}
	}
	for _, p := range []string{os.Getenv("BG_AWSCLI_V2"), "/usr/bin/aws"} {
		if p == "" {
			continue
		}
		if out, err := exec.Command(p, "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/2") {
			clis["v2"] = p
			break
		}
	}
	if _, ok := clis["v1"]; !ok {
		testutil.MissingPeer(t, "the AWS CLI v1 (pip awscli) is not installed")
	}
	if _, ok := clis["v2"]; !ok {
		testutil.MissingPeer(t, "the AWS CLI v2 (Debian awscli, or BG_AWSCLI_V2) is not installed")
	}
	return clis
}

// TestAWSCLIScenario drives a whole setup and a deployment through the real
// AWS CLI: if botocore (v1, JSON 1.0 CloudWatch) or Debian's v2 (awsQuery
// CloudWatch) cannot parse an answer, the command fails.
func TestAWSCLIScenario(t *testing.T) {
	t.Parallel()
	clis := awsCLIs(t)
	for name, bin := range clis {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// 600x: the deployment below finishes in well under a second.
			srv := httptest.NewServer(awssim.New(awssim.WithClock(clock.NewScaled(600))))
			t.Cleanup(srv.Close)
			u := srv.URL
			cli(t, bin, u, "ecs", "create-cluster", "--cluster-name", "prod")
			td := cli(t, bin, u, "ecs", "register-task-definition", "--family", "web", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
				"--cpu", "256", "--memory", "512", "--container-definitions", `[{"name":"web","image":"nginx","portMappings":[{"containerPort":8080}]}]`)
			tdARN := td["taskDefinition"].(map[string]any)["taskDefinitionArn"].(string)
			lb := cli(t, bin, u, "elbv2", "create-load-balancer", "--name", "web-alb", "--subnets", "subnet-a", "subnet-b")
			lbARN := lb["LoadBalancers"].([]any)[0].(map[string]any)["LoadBalancerArn"].(string)
			var tgs []string
			for _, n := range []string{"web-blue", "web-green"} {
				tg := cli(t, bin, u, "elbv2", "create-target-group", "--name", n, "--protocol", "HTTP", "--port", "8080", "--vpc-id", "vpc-1", "--target-type", "ip",
					"--health-check-interval-seconds", "5", "--healthy-threshold-count", "2")
				tgs = append(tgs, tg["TargetGroups"].([]any)[0].(map[string]any)["TargetGroupArn"].(string))
			}
			l := cli(t, bin, u, "elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80",
				"--default-actions", "Type=forward,TargetGroupArn="+tgs[0])
			lARN := l["Listeners"].([]any)[0].(map[string]any)["ListenerArn"].(string)
			cli(t, bin, u, "elbv2", "modify-listener", "--listener-arn", lARN, "--default-actions",
				`[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"`+tgs[0]+`","Weight":90},{"TargetGroupArn":"`+tgs[1]+`","Weight":10}]}}]`)
			desc := cli(t, bin, u, "elbv2", "describe-listeners", "--listener-arns", lARN)
			fwd := desc["Listeners"].([]any)[0].(map[string]any)["DefaultActions"].([]any)[0].(map[string]any)["ForwardConfig"].(map[string]any)["TargetGroups"].([]any)
			if len(fwd) != 2 || fwd[1].(map[string]any)["Weight"].(float64) != 10 {
				t.Errorf("weights read back = %v", fwd)
			}
			cli(t, bin, u, "ecs", "create-service", "--cluster", "prod", "--service-name", "web", "--task-definition", tdARN, "--desired-count", "2",
				"--deployment-controller", "type=CODE_DEPLOY", "--launch-type", "FARGATE",
				"--load-balancers", "targetGroupArn="+tgs[0]+",containerName=web,containerPort=8080",
				"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a],securityGroups=[sg-1],assignPublicIp=DISABLED}")
			svc := cli(t, bin, u, "ecs", "describe-services", "--cluster", "prod", "--services", "web")
			s := svc["services"].([]any)[0].(map[string]any)
			if len(s["taskSets"].([]any)) != 1 || len(s["deployments"].([]any)) != 0 {
				t.Errorf("a CODE_DEPLOY service should show one task set and no deployments: %v", s)
			}
			cli(t, bin, u, "deploy", "create-application", "--application-name", "app", "--compute-platform", "ECS")
			cli(t, bin, u, "deploy", "create-deployment-group", "--application-name", "app", "--deployment-group-name", "dg",
				"--service-role-arn", "arn:aws:iam::123456789012:role/cd", "--deployment-style", "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
				"--ecs-services", "serviceName=web,clusterName=prod",
				"--load-balancer-info", `{"targetGroupPairInfoList":[{"targetGroups":[{"name":"web-blue"},{"name":"web-green"}],"prodTrafficRoute":{"listenerArns":["`+lARN+`"]}}]}`)
			spec := `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"` + tdARN + `","LoadBalancerInfo":{"ContainerName":"web","ContainerPort":8080}}}}]}`
			dep := cli(t, bin, u, "deploy", "create-deployment", "--application-name", "app", "--deployment-group-name", "dg",
				"--revision", `{"revisionType":"AppSpecContent","appSpecContent":{"content":`+strconvQuote(spec)+`}}`)
			id := dep["deploymentId"].(string)
			got := cli(t, bin, u, "deploy", "get-deployment", "--deployment-id", id)
			if st := got["deploymentInfo"].(map[string]any)["status"]; st != "InProgress" && st != "Succeeded" {
				t.Errorf("get-deployment status = %v", st)
			}
			cli(t, bin, u, "deploy", "list-deployment-targets", "--deployment-id", id)
			// The waiter polls GetDeployment until Succeeded and fails on Failed or Stopped.
			cli(t, bin, u, "deploy", "wait", "deployment-successful", "--deployment-id", id)
			if st := cli(t, bin, u, "deploy", "get-deployment", "--deployment-id", id)["deploymentInfo"].(map[string]any)["status"]; st != "Succeeded" {
				t.Errorf("after the waiter the deployment is %v", st)
			}
			// A slow linear deployment, stopped with rollback.
			cli(t, bin, u, "deploy", "create-deployment-config", "--deployment-config-name", "slow", "--compute-platform", "ECS",
				"--traffic-routing-config", "type=TimeBasedLinear,timeBasedLinear={linearPercentage=10,linearInterval=30}")
			dep2 := cli(t, bin, u, "deploy", "create-deployment", "--application-name", "app", "--deployment-group-name", "dg", "--deployment-config-name", "slow",
				"--revision", `{"revisionType":"AppSpecContent","appSpecContent":{"content":`+strconvQuote(spec)+`}}`)
			id2 := dep2["deploymentId"].(string)
			stop := cli(t, bin, u, "deploy", "stop-deployment", "--deployment-id", id2, "--auto-rollback-enabled")
			if stop["status"] != "Pending" {
				t.Errorf("stop-deployment = %v, want Pending as CodeDeploy answers", stop)
			}
			// Stopped follows a moment (2 simulated seconds) later.
			var info map[string]any
			for range 50 {
				info = cli(t, bin, u, "deploy", "get-deployment", "--deployment-id", id2)["deploymentInfo"].(map[string]any)
				if info["status"] == "Stopped" {
					break
				}
			}
			if info["status"] != "Stopped" || info["rollbackInfo"].(map[string]any)["rollbackDeploymentId"] == nil {
				t.Errorf("stopped deployment = %v", info)
			}
			// Errors come back with their codes.
			if out := cliError(t, bin, u, "deploy", "get-deployment", "--deployment-id", "d-AAAAAAAAA"); !strings.Contains(out, "DeploymentDoesNotExistException") {
				t.Errorf("get-deployment of an unknown id: %s", out)
			}
			if out := cliError(t, bin, u, "elbv2", "describe-listeners", "--listener-arns", lARN+"x"); !strings.Contains(out, "ListenerNotFound") {
				t.Errorf("describe-listeners of an unknown ARN: %s", out)
			}
			cli(t, bin, u, "cloudwatch", "put-metric-alarm", "--alarm-name", "a1", "--metric-name", "m", "--namespace", "n", "--statistic", "Sum",
				"--period", "60", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanThreshold")
			cli(t, bin, u, "cloudwatch", "set-alarm-state", "--alarm-name", "a1", "--state-value", "ALARM", "--state-reason", "test")
			alarms := cli(t, bin, u, "cloudwatch", "describe-alarms", "--alarm-names", "a1")
			if st := alarms["MetricAlarms"].([]any)[0].(map[string]any)["StateValue"]; st != "ALARM" {
				t.Errorf("describe-alarms StateValue = %v", st)
			}
			// The shape InvalidFormatFault has the query code InvalidFormat: v1
			// (JSON 1.0) reads it from x-amzn-query-error, v2 (query) from <Code>.
			if out := cliError(t, bin, u, "cloudwatch", "set-alarm-state", "--alarm-name", "a1", "--state-value", "BOGUS", "--state-reason", "x"); !strings.Contains(out, "(InvalidFormat)") {
				t.Errorf("set-alarm-state BOGUS: %s", out)
			}
			if out := cliError(t, bin, u, "cloudwatch", "set-alarm-state", "--alarm-name", "nope", "--state-value", "OK", "--state-reason", "x"); !strings.Contains(out, "(ResourceNotFound)") {
				t.Errorf("set-alarm-state of an unknown alarm: %s", out)
			}
			cli(t, bin, u, "cloudwatch", "delete-alarms", "--alarm-names", "a1")
			if n := len(cli(t, bin, u, "cloudwatch", "describe-alarms", "--alarm-name-prefix", "a")["MetricAlarms"].([]any)); n != 0 {
				t.Errorf("describe-alarms after delete-alarms: %d alarms", n)
			}
			cli(t, bin, u, "cloudwatch", "put-metric-data", "--namespace", "app", "--metric-name", "requests", "--value", "1")
			ident := cli(t, bin, u, "sts", "get-caller-identity")
			if ident["Account"] != "123456789012" {
				t.Errorf("get-caller-identity = %v", ident)
			}
			token := jwt(map[string]any{"sub": "project_path:g/web:ref_type:branch:ref:main", "iss": "https://gitlab.example.com", "aud": "sts.amazonaws.com"})
			assumed := cli(t, bin, u, "sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/deployer",
				"--role-session-name", "gitlab-1", "--web-identity-token", token, "--duration-seconds", "900")
			if c, _ := assumed["Credentials"].(map[string]any); c == nil || c["AccessKeyId"] == nil || c["Expiration"] == nil || assumed["SubjectFromWebIdentityToken"] != "project_path:g/web:ref_type:branch:ref:main" {
				t.Errorf("assume-role-with-web-identity = %v", assumed)
			}
			if out := cliError(t, bin, u, "sts", "assume-role-with-web-identity", "--role-arn", "arn:aws:iam::123456789012:role/deployer",
				"--role-session-name", "gitlab-1", "--web-identity-token", "not-a-jwt"); !strings.Contains(out, "(InvalidIdentityToken)") {
				t.Errorf("assume-role-with-web-identity with a bad token: %s", out)
			}
			if out := cliError(t, bin, u, "sts", "assume-role", "--role-arn", "arn:aws:iam::123456789012:role/deployer", "--role-session-name", "bad name"); !strings.Contains(out, "(ValidationError)") {
				t.Errorf("assume-role with a space in the session name: %s", out)
			}
			if out := cliError(t, bin, u, "ecr", "describe-repositories", "--repository-names", "nope"); !strings.Contains(out, "(RepositoryNotFoundException)") {
				t.Errorf("describe-repositories of an unknown repository: %s", out)
			}
			cli(t, bin, u, "ecr", "create-repository", "--repository-name", "web")
			tok := cli(t, bin, u, "ecr", "get-authorization-token")
			if len(tok["authorizationData"].([]any)) != 1 {
				t.Errorf("get-authorization-token = %v", tok)
			}
		})
	}
}

// cliError runs a CLI call that must fail and returns its error output.
func cliError(t *testing.T, bin, endpoint string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", endpoint}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET", "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("%s %s succeeded, want an error", bin, strings.Join(args, " "))
	}
	return string(out)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
