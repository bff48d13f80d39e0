package awssim_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

// knownAdminDifferences are member paths moto returns for the
// administrative operations that the simulator leaves out, each with why.
var knownAdminDifferences = map[string]string{
	"elasticloadbalancing:CreateListener:Listeners.[].SslPolicy":  "absent on HTTP listeners in AWS",
	"elasticloadbalancing:CreateListener:Listeners.[].AlpnPolicy": "absent on HTTP listeners in AWS",
	"ecs:CreateService:service.networkConfiguration":              "moto sends an empty networkConfiguration for a service created without one; ECS omits it",
	"ecs:DeleteService:service.taskDefinition":                    "moto keeps a deleted primary task set's task definition on an EXTERNAL service; ECS's service.taskDefinition follows the primary task set",
	"ecs:DeleteService:service.tags[]":                            "DeleteService's service carries no tags in ECS (DescribeServices gives them with include TAGS)",
	"ecs:DeleteService:service.tags[].key":                        "as service.tags[]",
	"ecs:DeleteService:service.tags[].value":                      "as service.tags[]",
}

// knownAdminCodeDifferences are steps whose error moto does not answer;
// only the simulator's code is checked, against the botocore model.
var knownAdminCodeDifferences = map[string]string{
	"DeleteRule unknown": "moto 5.2.1 answers success for a rule that does not exist; the elbv2 model and AWS answer RuleNotFound",
}

// Not compared with moto 5.2.1, which fails them: RunTask with awsvpc
// (AttributeError: 'NetworkInterface' object has no attribute
// 'private_dns_name') and on EC2 (no container instances), so StopTask has
// no task; CreateTaskSet with a scale takes the same awsvpc path. The AWS
// CLI scenarios (TestAWSCLIAdminOperations) cover them.

// TestDifferentialAgainstMoto_adminOperations compares the operations added
// for real tools (ELBv2 attributes, rule priorities and deletes; ECS
// listings, deletes, one-off tasks and task sets; ECR images; CodeDeploy
// batch reads and tags) with moto_server, as TestDifferentialAgainstMoto
// does for the core.
func TestDifferentialAgainstMoto_adminOperations(t *testing.T) {
	t.Parallel()
	moto := startMoto(t)
	srv := httptest.NewServer(awssim.New())
	t.Cleanup(srv.Close)
	const ecsT, ecrT, cdT = "AmazonEC2ContainerServiceV20141113.", "AmazonEC2ContainerRegistry_V20150921.", "CodeDeploy_20141006."
	elbQ := func(action string, params ...string) string {
		v := url.Values{"Action": {action}, "Version": {"2015-12-01"}}
		for i := 0; i+1 < len(params); i += 2 {
			v.Set(params[i], params[i+1])
		}
		return v.Encode()
	}
	const elbS = "elasticloadbalancing"
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32654,"digest":"sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]}`
	steps := []step{
		// ELBv2
		{name: "CreateLoadBalancer", service: elbS, body: elbQ("CreateLoadBalancer", "Name", "web-alb", "Subnets.member.1", "{{subnet1}}", "Subnets.member.2", "{{subnet2}}"), extract: map[string]string{"lb": "LoadBalancerArn"}},
		{name: "CreateTargetGroup", service: elbS, body: elbQ("CreateTargetGroup", "Name", "web-blue", "Protocol", "HTTP", "Port", "8080", "VpcId", "{{vpc}}", "TargetType", "ip"), extract: map[string]string{"tg": "TargetGroupArn"}},
		{name: "CreateTargetGroup", service: elbS, body: elbQ("CreateTargetGroup", "Name", "web-green", "Protocol", "HTTP", "Port", "8080", "VpcId", "{{vpc}}", "TargetType", "ip"), extract: map[string]string{"tg2": "TargetGroupArn"}},
		{name: "CreateListener", service: elbS, body: elbQ("CreateListener", "LoadBalancerArn", "{{lb}}", "Protocol", "HTTP", "Port", "80", "DefaultActions.member.1.Type", "forward", "DefaultActions.member.1.TargetGroupArn", "{{tg}}"), extract: map[string]string{"listener": "ListenerArn"}},
		{name: "CreateRule", service: elbS, body: elbQ("CreateRule", "ListenerArn", "{{listener}}", "Priority", "10", "Conditions.member.1.Field", "path-pattern", "Conditions.member.1.Values.member.1", "/a/*",
			"Actions.member.1.Type", "forward", "Actions.member.1.TargetGroupArn", "{{tg2}}"), extract: map[string]string{"rule1": "RuleArn"}},
		{name: "CreateRule", service: elbS, body: elbQ("CreateRule", "ListenerArn", "{{listener}}", "Priority", "20", "Conditions.member.1.Field", "host-header", "Conditions.member.1.HostHeaderConfig.Values.member.1", "*.example.com",
			"Actions.member.1.Type", "forward", "Actions.member.1.TargetGroupArn", "{{tg2}}"), extract: map[string]string{"rule2": "RuleArn"}},
		{name: "DescribeLoadBalancerAttributes", service: elbS, body: elbQ("DescribeLoadBalancerAttributes", "LoadBalancerArn", "{{lb}}")},
		{name: "ModifyLoadBalancerAttributes", service: elbS, body: elbQ("ModifyLoadBalancerAttributes", "LoadBalancerArn", "{{lb}}", "Attributes.member.1.Key", "idle_timeout.timeout_seconds", "Attributes.member.1.Value", "120")},
		{name: "DescribeListenerAttributes", service: elbS, body: elbQ("DescribeListenerAttributes", "ListenerArn", "{{listener}}")},
		{name: "ModifyListenerAttributes", service: elbS, body: elbQ("ModifyListenerAttributes", "ListenerArn", "{{listener}}", "Attributes.member.1.Key", "routing.http.response.server.enabled", "Attributes.member.1.Value", "false")},
		{name: "ModifyTargetGroup", service: elbS, body: elbQ("ModifyTargetGroup", "TargetGroupArn", "{{tg2}}", "HealthCheckPath", "/healthz", "HealthCheckIntervalSeconds", "10")},
		{name: "SetRulePriorities", service: elbS, body: elbQ("SetRulePriorities", "RulePriorities.member.1.RuleArn", "{{rule1}}", "RulePriorities.member.1.Priority", "30")},
		{name: "SetRulePriorities in use", service: elbS, body: elbQ("SetRulePriorities", "RulePriorities.member.1.RuleArn", "{{rule1}}", "RulePriorities.member.1.Priority", "20"), wantCode: "PriorityInUse"},
		{name: "DeleteRule", service: elbS, body: elbQ("DeleteRule", "RuleArn", "{{rule1}}")},
		{name: "DeleteTargetGroup in use", service: elbS, body: elbQ("DeleteTargetGroup", "TargetGroupArn", "{{tg}}"), wantCode: "ResourceInUse"},
		{name: "DeleteListener", service: elbS, body: elbQ("DeleteListener", "ListenerArn", "{{listener}}")},
		{name: "DeleteRule unknown", service: elbS, body: elbQ("DeleteRule", "RuleArn", "{{rule2}}"), wantCode: "RuleNotFound"},
		{name: "DeleteListener unknown", service: elbS, body: elbQ("DeleteListener", "ListenerArn", "{{listener}}"), wantCode: "ListenerNotFound"},
		{name: "DeleteTargetGroup", service: elbS, body: elbQ("DeleteTargetGroup", "TargetGroupArn", "{{tg}}")},
		{name: "DeleteLoadBalancer", service: elbS, body: elbQ("DeleteLoadBalancer", "LoadBalancerArn", "{{lb}}")},
		// ECS
		{name: "CreateCluster", service: "ecs", target: ecsT + "CreateCluster", body: `{"clusterName":"prod"}`},
		{name: "ListClusters", service: "ecs", target: ecsT + "ListClusters", body: `{}`},
		{
			name: "RegisterTaskDefinition", service: "ecs", target: ecsT + "RegisterTaskDefinition",
			body:    `{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"web","image":"nginx","memory":512,"portMappings":[{"containerPort":8080}]}]}`,
			extract: map[string]string{"td": "taskDefinition.taskDefinitionArn"},
		},
		{
			name: "CreateService", service: "ecs", target: ecsT + "CreateService", body: `{"cluster":"prod","serviceName":"ext","desiredCount":2,"deploymentController":{"type":"EXTERNAL"},"propagateTags":"SERVICE","enableECSManagedTags":true,"tags":[{"key":"team","value":"web"},{"key":"tier","value":"1"}]}`,
			extract: map[string]string{"svc": "service.serviceArn"},
		},
		{name: "ListServices", service: "ecs", target: ecsT + "ListServices", body: `{"cluster":"prod"}`},
		{
			name: "CreateTaskSet", service: "ecs", target: ecsT + "CreateTaskSet", body: `{"cluster":"prod","service":"ext","taskDefinition":"{{td}}","externalId":"blue","launchType":"FARGATE","networkConfiguration":{"awsvpcConfiguration":{"subnets":["{{subnet1}}"],"securityGroups":["sg-1"]}}}`,
			extract: map[string]string{"ts": "taskSet.taskSetArn"},
		},
		{name: "DescribeTaskSets", service: "ecs", target: ecsT + "DescribeTaskSets", body: `{"cluster":"prod","service":"ext","taskSets":["{{ts}}"]}`},
		{name: "UpdateTaskSet", service: "ecs", target: ecsT + "UpdateTaskSet", body: `{"cluster":"prod","service":"ext","taskSet":"{{ts}}","scale":{"value":100,"unit":"PERCENT"}}`},
		{name: "UpdateServicePrimaryTaskSet", service: "ecs", target: ecsT + "UpdateServicePrimaryTaskSet", body: `{"cluster":"prod","service":"ext","primaryTaskSet":"{{ts}}"}`},
		{name: "DeleteTaskSet", service: "ecs", target: ecsT + "DeleteTaskSet", body: `{"cluster":"prod","service":"ext","taskSet":"{{ts}}","force":true}`},
		{name: "UntagResource", service: "ecs", target: ecsT + "UntagResource", body: `{"resourceArn":"{{svc}}","tagKeys":["tier"]}`},
		{name: "DeleteService", service: "ecs", target: ecsT + "DeleteService", body: `{"cluster":"prod","service":"ext","force":true}`},
		{name: "DeleteService unknown", service: "ecs", target: ecsT + "DeleteService", body: `{"cluster":"prod","service":"ghost"}`, wantCode: "ServiceNotFoundException"},
		// ECR
		{name: "CreateRepository", service: "ecr", target: ecrT + "CreateRepository", body: `{"repositoryName":"web"}`},
		{name: "PutImage", service: "ecr", target: ecrT + "PutImage", body: `{"repositoryName":"web","imageTag":"v1","imageManifest":` + strconvQuote(manifest) + `}`},
		{name: "PutImage again", service: "ecr", target: ecrT + "PutImage", body: `{"repositoryName":"web","imageTag":"v1","imageManifest":` + strconvQuote(manifest) + `}`, wantCode: "ImageAlreadyExistsException"},
		{name: "ListImages", service: "ecr", target: ecrT + "ListImages", body: `{"repositoryName":"web"}`},
		{name: "DescribeImages", service: "ecr", target: ecrT + "DescribeImages", body: `{"repositoryName":"web","imageIds":[{"imageTag":"v1"}]}`},
		{name: "DescribeImages unknown", service: "ecr", target: ecrT + "DescribeImages", body: `{"repositoryName":"web","imageIds":[{"imageTag":"v9"}]}`, wantCode: "ImageNotFoundException"},
		{name: "BatchGetImage", service: "ecr", target: ecrT + "BatchGetImage", body: `{"repositoryName":"web","imageIds":[{"imageTag":"v1"},{"imageTag":"v9"}]}`},
		// CodeDeploy
		{name: "CreateApplication", service: "codedeploy", target: cdT + "CreateApplication", body: `{"applicationName":"app","computePlatform":"ECS"}`},
		{name: "BatchGetApplications", service: "codedeploy", target: cdT + "BatchGetApplications", body: `{"applicationNames":["app"]}`},
		{name: "BatchGetApplications unknown", service: "codedeploy", target: cdT + "BatchGetApplications", body: `{"applicationNames":["ghost"]}`, wantCode: "ApplicationDoesNotExistException"},
		{name: "TagResource", service: "codedeploy", target: cdT + "TagResource", body: `{"ResourceArn":"arn:aws:codedeploy:eu-west-1:123456789012:application:app","Tags":[{"Key":"team","Value":"web"},{"Key":"tier","Value":"1"}]}`},
		{name: "UntagResource", service: "codedeploy", target: cdT + "UntagResource", body: `{"ResourceArn":"arn:aws:codedeploy:eu-west-1:123456789012:application:app","TagKeys":["tier"]}`},
		{name: "ListTagsForResource", service: "codedeploy", target: cdT + "ListTagsForResource", body: `{"ResourceArn":"arn:aws:codedeploy:eu-west-1:123456789012:application:app"}`},
	}
	runDifferential(t, moto, srv.URL, steps, knownAdminDifferences)
}

// runDifferential sends each step to moto and to the simulator and reports
// member paths moto returns that the simulator does not (unless known),
// differing failures, and error codes other than the step wants.
func runDifferential(t *testing.T, moto, sim string, steps []step, known map[string]string) {
	t.Helper()
	motoVars, simVars := motoNetwork(t, moto), map[string]string{"vpc": "vpc-1", "subnet1": "subnet-a", "subnet2": "subnet-b"}
	var report []string
	for _, s := range steps {
		m, ours := call(t, moto, s, motoVars), call(t, sim, s, simVars)
		for k, path := range s.extract {
			motoVars[k], simVars[k] = m.values[path], ours.values[path]
		}
		if s.wantCode != "" && knownAdminCodeDifferences[s.name] != "" {
			if ours.code != s.wantCode {
				report = append(report, fmt.Sprintf("%s: the simulator answered %q, want %q", s.name, ours.code, s.wantCode))
			}
			continue
		}
		if s.wantCode != "" {
			if m.code != s.wantCode || ours.code != s.wantCode {
				report = append(report, fmt.Sprintf("%s: error codes moto %q, simulator %q, want %q", s.name, m.code, ours.code, s.wantCode))
			}
			continue
		}
		if (m.status >= 400) != (ours.status >= 400) {
			report = append(report, fmt.Sprintf("%s: moto answered %d %s, the simulator %d %s", s.name, m.status, m.code, ours.status, ours.code))
			continue
		}
		var missing []string
		for p := range m.paths {
			if !ours.paths[p] && known[s.service+":"+s.name+":"+p] == "" {
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
