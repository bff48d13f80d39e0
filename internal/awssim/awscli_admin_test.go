package awssim_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
)

// dig walks decoded JSON by keys and indices; nil when a step is missing.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := dig(v, path...).(string)
	return s
}

func count(v any, path ...any) int {
	l, _ := dig(v, path...).([]any)
	return len(l)
}

// TestAWSCLIAdminOperations drives every operation this simulator added
// for real tools through the AWS CLI v1 and v2: if a CLI cannot parse an
// answer, the command fails; error cases check the AWS error code the CLI
// prints.
func TestAWSCLIAdminOperations(t *testing.T) {
	t.Parallel()
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Real time: the one-off task must still run when stop-task comes,
			// however slow the machine makes each CLI call.
			srv := httptest.NewServer(awssim.New(awssim.WithClock(clock.NewScaled(1))))
			t.Cleanup(srv.Close)
			u := srv.URL
			run := func(args ...string) map[string]any { t.Helper(); return cli(t, bin, u, args...) }
			fails := func(code string, args ...string) {
				t.Helper()
				if out := cliError(t, bin, u, args...); !strings.Contains(out, "("+code+")") {
					t.Errorf("%s: want error %s, got %s", strings.Join(args[:2], " "), code, out)
				}
			}

			// A world to work on.
			run("ecs", "create-cluster", "--cluster-name", "prod")
			td := run("ecs", "register-task-definition", "--family", "web", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
				"--cpu", "256", "--memory", "512", "--container-definitions", `[{"name":"web","image":"nginx","portMappings":[{"containerPort":8080}]}]`)
			tdARN := str(td, "taskDefinition", "taskDefinitionArn")
			lbARN := str(run("elbv2", "create-load-balancer", "--name", "web-alb", "--subnets", "subnet-a", "subnet-b"), "LoadBalancers", 0, "LoadBalancerArn")
			var tgs []string
			for _, n := range []string{"web-blue", "web-green"} {
				tgs = append(tgs, str(run("elbv2", "create-target-group", "--name", n, "--protocol", "HTTP", "--port", "8080", "--vpc-id", "vpc-1", "--target-type", "ip"), "TargetGroups", 0, "TargetGroupArn"))
			}
			lARN := str(run("elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "80", "--default-actions", "Type=forward,TargetGroupArn="+tgs[0]), "Listeners", 0, "ListenerArn")
			testARN := str(run("elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", "8080", "--default-actions", "Type=forward,TargetGroupArn="+tgs[1]), "Listeners", 0, "ListenerArn")
			net := "awsvpcConfiguration={subnets=[subnet-a],securityGroups=[sg-1],assignPublicIp=DISABLED}"
			svc := run("ecs", "create-service", "--cluster", "prod", "--service-name", "web", "--task-definition", tdARN, "--desired-count", "2",
				"--deployment-controller", "type=CODE_DEPLOY", "--launch-type", "FARGATE", "--propagate-tags", "SERVICE", "--enable-ecs-managed-tags",
				"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=50", "--tags", "key=team,value=web", "key=tier,value=1",
				"--load-balancers", "targetGroupArn="+tgs[0]+",containerName=web,containerPort=8080", "--network-configuration", net)
			if str(svc, "service", "propagateTags") != "SERVICE" || dig(svc, "service", "enableECSManagedTags") != true || dig(svc, "service", "deploymentConfiguration", "minimumHealthyPercent") != float64(50) {
				t.Errorf("create-service does not echo what it took: %v", svc["service"])
			}
			run("deploy", "create-application", "--application-name", "app", "--compute-platform", "ECS")
			run("deploy", "create-deployment-group", "--application-name", "app", "--deployment-group-name", "dg",
				"--service-role-arn", "arn:aws:iam::123456789012:role/cd", "--deployment-style", "deploymentType=BLUE_GREEN,deploymentOption=WITH_TRAFFIC_CONTROL",
				"--ecs-services", "serviceName=web,clusterName=prod",
				"--load-balancer-info", `{"targetGroupPairInfoList":[{"targetGroups":[{"name":"web-blue"},{"name":"web-green"}],"prodTrafficRoute":{"listenerArns":["`+lARN+`"]},"testTrafficRoute":{"listenerArns":["`+testARN+`"]}}]}`)

			// CodeDeploy.
			run("deploy", "update-deployment-group", "--application-name", "app", "--current-deployment-group-name", "dg",
				"--outdated-instances-strategy", "IGNORE", "--deployment-config-name", "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
				"--trigger-configurations", "triggerName=notify,triggerTargetArn=arn:aws:sns:eu-west-1:123456789012:deploys,triggerEvents=DeploymentFailure")
			groups := run("deploy", "batch-get-deployment-groups", "--application-name", "app", "--deployment-group-names", "dg", "ghost")
			if count(groups, "deploymentGroupsInfo") != 1 || str(groups, "deploymentGroupsInfo", 0, "outdatedInstancesStrategy") != "IGNORE" ||
				str(groups, "deploymentGroupsInfo", 0, "triggerConfigurations", 0, "triggerName") != "notify" || str(groups, "errorMessage") == "" {
				t.Errorf("batch-get-deployment-groups = %v", groups)
			}
			if apps := run("deploy", "batch-get-applications", "--application-names", "app"); str(apps, "applicationsInfo", 0, "computePlatform") != "ECS" {
				t.Errorf("batch-get-applications = %v", apps)
			}
			fails("ApplicationDoesNotExistException", "deploy", "batch-get-applications", "--application-names", "ghost")
			appARN := "arn:aws:codedeploy:eu-west-1:123456789012:application:app"
			run("deploy", "tag-resource", "--resource-arn", appARN, "--tags", "Key=team,Value=web", "Key=tier,Value=1")
			run("deploy", "untag-resource", "--resource-arn", appARN, "--tag-keys", "tier")
			if tags := run("deploy", "list-tags-for-resource", "--resource-arn", appARN); count(tags, "Tags") != 1 || str(tags, "Tags", 0, "Key") != "team" {
				t.Errorf("list-tags-for-resource = %v", tags)
			}
			fails("InvalidArnException", "deploy", "list-tags-for-resource", "--resource-arn", "arn:aws:s3:::bucket")
			spec := `{"version":0.0,"Resources":[{"TargetService":{"Type":"AWS::ECS::Service","Properties":{"TaskDefinition":"` + tdARN + `","LoadBalancerInfo":{"ContainerName":"web","ContainerPort":8080}}}}]}`
			dep := run("deploy", "create-deployment", "--application-name", "app", "--deployment-group-name", "dg",
				"--override-alarm-configuration", "enabled=false,ignorePollAlarmFailure=false",
				"--revision", `{"revisionType":"AppSpecContent","appSpecContent":{"content":`+strconvQuote(spec)+`}}`)
			info := run("deploy", "get-deployment", "--deployment-id", str(dep, "deploymentId"))
			if dig(info, "deploymentInfo", "overrideAlarmConfiguration", "enabled") != false {
				t.Errorf("get-deployment lacks the override: %v", info)
			}
			sha := str(info, "deploymentInfo", "revision", "appSpecContent", "sha256")
			rev := run("deploy", "get-application-revision", "--application-name", "app", "--revision", `{"revisionType":"AppSpecContent","appSpecContent":{"sha256":"`+sha+`"}}`)
			if str(rev, "revision", "appSpecContent", "content") != spec || str(rev, "revisionInfo", "deploymentGroups", 0) != "dg" {
				t.Errorf("get-application-revision = %v", rev)
			}
			fails("RevisionDoesNotExistException", "deploy", "get-application-revision", "--application-name", "app", "--revision", `{"revisionType":"AppSpecContent","appSpecContent":{"sha256":"00"}}`)
			run("deploy", "create-deployment-config", "--deployment-config-name", "Canary20", "--compute-platform", "ECS",
				"--traffic-routing-config", "type=TimeBasedCanary,timeBasedCanary={canaryPercentage=20,canaryInterval=2}")
			if cfgs := run("deploy", "list-deployment-configs"); count(cfgs, "deploymentConfigsList") != 6 {
				t.Errorf("list-deployment-configs = %v", cfgs)
			}
			run("deploy", "delete-deployment-config", "--deployment-config-name", "Canary20")
			fails("InvalidOperationException", "deploy", "delete-deployment-config", "--deployment-config-name", "CodeDeployDefault.ECSAllAtOnce")

			// ELBv2.
			attrs := run("elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lbARN, "--attributes", "Key=idle_timeout.timeout_seconds,Value=120")
			if !strings.Contains(fmt.Sprint(attrs), "idle_timeout.timeout_seconds Value:120") {
				t.Errorf("modify-load-balancer-attributes = %v", attrs)
			}
			if got := run("elbv2", "describe-load-balancer-attributes", "--load-balancer-arn", lbARN); count(got, "Attributes") < 10 {
				t.Errorf("describe-load-balancer-attributes = %v", got)
			}
			fails("ValidationError", "elbv2", "modify-load-balancer-attributes", "--load-balancer-arn", lbARN, "--attributes", "Key=no.such,Value=1")
			if name == "v1" { // Debian's CLI v2 (2.9) predates the listener attribute operations
				run("elbv2", "modify-listener-attributes", "--listener-arn", lARN, "--attributes", "Key=routing.http.response.server.enabled,Value=false")
				if got := run("elbv2", "describe-listener-attributes", "--listener-arn", lARN); !strings.Contains(fmt.Sprint(got), "routing.http.response.server.enabled Value:false") {
					t.Errorf("describe-listener-attributes = %v", got)
				}
			}
			tg := run("elbv2", "modify-target-group", "--target-group-arn", tgs[1], "--health-check-path", "/healthz", "--health-check-interval-seconds", "10", "--matcher", "HttpCode=200-299")
			if str(tg, "TargetGroups", 0, "HealthCheckPath") != "/healthz" || str(tg, "TargetGroups", 0, "Matcher", "HttpCode") != "200-299" {
				t.Errorf("modify-target-group = %v", tg)
			}
			var rules []string
			for i, p := range []string{"10", "20"} {
				r := run("elbv2", "create-rule", "--listener-arn", lARN, "--priority", p, "--conditions", fmt.Sprintf("Field=path-pattern,Values=/r%d/*", i),
					"--actions", "Type=forward,TargetGroupArn="+tgs[1])
				rules = append(rules, str(r, "Rules", 0, "RuleArn"))
			}
			swapped := run("elbv2", "set-rule-priorities", "--rule-priorities", "RuleArn="+rules[0]+",Priority=20", "RuleArn="+rules[1]+",Priority=10")
			if str(swapped, "Rules", 0, "Priority") != "20" {
				t.Errorf("set-rule-priorities = %v", swapped)
			}
			fails("PriorityInUse", "elbv2", "set-rule-priorities", "--rule-priorities", "RuleArn="+rules[0]+",Priority=10")
			fails("ResourceInUse", "elbv2", "delete-target-group", "--target-group-arn", tgs[1])
			run("elbv2", "delete-rule", "--rule-arn", rules[0])
			fails("RuleNotFound", "elbv2", "delete-rule", "--rule-arn", rules[0])

			// ECS.
			if got := run("ecs", "list-clusters"); count(got, "clusterArns") != 1 {
				t.Errorf("list-clusters = %v", got)
			}
			run("ecs", "create-service", "--cluster", "prod", "--service-name", "ext", "--desired-count", "2", "--deployment-controller", "type=EXTERNAL")
			if got := run("ecs", "list-services", "--cluster", "prod"); count(got, "serviceArns") != 2 {
				t.Errorf("list-services = %v", got)
			}
			ts := run("ecs", "create-task-set", "--cluster", "prod", "--service", "ext", "--task-definition", tdARN, "--external-id", "blue",
				"--launch-type", "FARGATE", "--network-configuration", net, "--scale", "value=50,unit=PERCENT")
			tsID := str(ts, "taskSet", "id")
			if str(ts, "taskSet", "status") != "ACTIVE" || dig(ts, "taskSet", "computedDesiredCount") != float64(1) {
				t.Errorf("create-task-set = %v", ts)
			}
			run("ecs", "update-task-set", "--cluster", "prod", "--service", "ext", "--task-set", tsID, "--scale", "value=100,unit=PERCENT")
			if p := run("ecs", "update-service-primary-task-set", "--cluster", "prod", "--service", "ext", "--primary-task-set", tsID); str(p, "taskSet", "status") != "PRIMARY" {
				t.Errorf("update-service-primary-task-set = %v", p)
			}
			if d := run("ecs", "describe-task-sets", "--cluster", "prod", "--service", "ext", "--task-sets", tsID, "missing"); count(d, "taskSets") != 1 || count(d, "failures") != 1 {
				t.Errorf("describe-task-sets = %v", d)
			}
			fails("InvalidParameterException", "ecs", "create-task-set", "--cluster", "prod", "--service", "web", "--task-definition", tdARN)
			if d := run("ecs", "delete-task-set", "--cluster", "prod", "--service", "ext", "--task-set", tsID, "--force"); str(d, "taskSet", "status") != "DRAINING" {
				t.Errorf("delete-task-set = %v", d)
			}
			task := run("ecs", "run-task", "--cluster", "prod", "--task-definition", tdARN, "--launch-type", "FARGATE", "--network-configuration", net,
				"--started-by", "migrate", "--overrides", `{"containerOverrides":[{"name":"web","command":["migrate"]}]}`)
			taskARN := str(task, "tasks", 0, "taskArn")
			if str(task, "tasks", 0, "lastStatus") != "PENDING" || taskARN == "" {
				t.Errorf("run-task = %v", task)
			}
			if s := run("ecs", "stop-task", "--cluster", "prod", "--task", taskARN, "--reason", "cancelled"); str(s, "task", "stopCode") != "UserInitiated" || str(s, "task", "stoppedReason") != "cancelled" {
				t.Errorf("stop-task = %v", s)
			}
			svcARN := str(svc, "service", "serviceArn")
			run("ecs", "untag-resource", "--resource-arn", svcARN, "--tag-keys", "tier")
			if tags := run("ecs", "list-tags-for-resource", "--resource-arn", svcARN); count(tags, "tags") != 1 {
				t.Errorf("tags after untag-resource = %v", tags)
			}
			fails("InvalidParameterException", "ecs", "delete-service", "--cluster", "prod", "--service", "ext")
			if d := run("ecs", "delete-service", "--cluster", "prod", "--service", "ext", "--force"); str(d, "service", "status") != "DRAINING" {
				t.Errorf("delete-service = %v", d)
			}
			fails("ClusterContainsServicesException", "ecs", "delete-cluster", "--cluster", "prod")

			// ECR, from the in-memory store.
			run("ecr", "create-repository", "--repository-name", "web")
			manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aa","size":10},"layers":[]}`
			put := run("ecr", "put-image", "--repository-name", "web", "--image-tag", "v1", "--image-manifest", manifest)
			digest := str(put, "image", "imageId", "imageDigest")
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("put-image = %v", put)
			}
			fails("ImageAlreadyExistsException", "ecr", "put-image", "--repository-name", "web", "--image-tag", "v1", "--image-manifest", manifest)
			if l := run("ecr", "list-images", "--repository-name", "web"); str(l, "imageIds", 0, "imageTag") != "v1" {
				t.Errorf("list-images = %v", l)
			}
			if d := run("ecr", "describe-images", "--repository-name", "web", "--image-ids", "imageTag=v1"); str(d, "imageDetails", 0, "imageDigest") != digest || dig(d, "imageDetails", 0, "imageSizeInBytes") != float64(10) {
				t.Errorf("describe-images = %v", d)
			}
			fails("ImageNotFoundException", "ecr", "describe-images", "--repository-name", "web", "--image-ids", "imageTag=v9")
			if g := run("ecr", "batch-get-image", "--repository-name", "web", "--image-ids", "imageTag=v1", "imageTag=v9"); str(g, "images", 0, "imageManifest") != manifest || str(g, "failures", 0, "failureCode") != "ImageNotFound" {
				t.Errorf("batch-get-image = %v", g)
			}

			// Tear-down, in the order AWS requires.
			run("deploy", "update-application", "--application-name", "app", "--new-application-name", "app2")
			run("deploy", "delete-deployment-group", "--application-name", "app2", "--deployment-group-name", "dg")
			run("deploy", "delete-application", "--application-name", "app2")
			fails("ApplicationDoesNotExistException", "deploy", "get-application", "--application-name", "app2")
			run("elbv2", "delete-listener", "--listener-arn", testARN)
			fails("ListenerNotFound", "elbv2", "delete-listener", "--listener-arn", testARN)
			run("elbv2", "delete-load-balancer", "--load-balancer-arn", lbARN)
			run("elbv2", "delete-target-group", "--target-group-arn", tgs[1])
			if got := run("elbv2", "describe-target-groups"); count(got, "TargetGroups") != 1 {
				t.Errorf("target groups after the deletes = %v", got)
			}
		})
	}
}
