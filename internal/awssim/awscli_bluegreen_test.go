package awssim_test

import (
	"fmt"
	"net/http/httptest"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
)

// TestAWSCLIECSBlueGreen drives an ECS-native canary deployment with a PAUSE
// hook, and a second one stopped with rollback, through the AWS CLI: if
// botocore cannot build a request or parse an answer, the command fails.
// Debian's v2.9 predates these operations (list-service-deployments came in
// 2025, continue-service-deployment in 2026), so only v1 runs the scenario.
func TestAWSCLIECSBlueGreen(t *testing.T) {
	t.Parallel()
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if help, _ := exec.Command(bin, "ecs", "help").CombinedOutput(); !strings.Contains(string(help), "continue-service-deployment") {
				t.Skipf("%s has no continue-service-deployment: its botocore model predates ECS-native blue/green", bin)
			}
			clk := clock.NewManual(time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC))
			srv := httptest.NewServer(awssim.New(awssim.WithClock(clk)))
			t.Cleanup(srv.Close)
			u := srv.URL
			run := func(args ...string) map[string]any { return cli(t, bin, u, args...) }
			run("ecs", "create-cluster", "--cluster-name", "prod")
			register := func(image string) string {
				td := run("ecs", "register-task-definition", "--family", "web", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
					"--cpu", "256", "--memory", "512", "--container-definitions", `[{"name":"web","image":"`+image+`","portMappings":[{"containerPort":8080}]}]`)
				return dig(td, "taskDefinition", "taskDefinitionArn").(string)
			}
			td1 := register("nginx:1")
			lbARN := dig(run("elbv2", "create-load-balancer", "--name", "web-alb", "--subnets", "subnet-a", "subnet-b"), "LoadBalancers", 0, "LoadBalancerArn").(string)
			var tgs []string
			for _, n := range []string{"web-blue", "web-green"} {
				tg := run("elbv2", "create-target-group", "--name", n, "--protocol", "HTTP", "--port", "8080", "--vpc-id", "vpc-1", "--target-type", "ip",
					"--health-check-interval-seconds", "5", "--healthy-threshold-count", "2")
				tgs = append(tgs, dig(tg, "TargetGroups", 0, "TargetGroupArn").(string))
			}
			both := `[{"Type":"forward","ForwardConfig":{"TargetGroups":[{"TargetGroupArn":"` + tgs[0] + `","Weight":100},{"TargetGroupArn":"` + tgs[1] + `","Weight":0}]}}]`
			var rules []string
			for _, port := range []string{"80", "8080"} {
				l := run("elbv2", "create-listener", "--load-balancer-arn", lbARN, "--protocol", "HTTP", "--port", port,
					"--default-actions", `[{"Type":"fixed-response","FixedResponseConfig":{"StatusCode":"404"}}]`)
				r := run("elbv2", "create-rule", "--listener-arn", dig(l, "Listeners", 0, "ListenerArn").(string), "--priority", "10",
					"--conditions", "Field=path-pattern,Values=/*", "--actions", both)
				rules = append(rules, dig(r, "Rules", 0, "RuleArn").(string))
			}
			name := map[string]string{tgs[0]: "web-blue", tgs[1]: "web-green"}
			weights := func(rule string) string {
				fwd, _ := dig(run("elbv2", "describe-rules", "--rule-arns", rule), "Rules", 0, "Actions", 0, "ForwardConfig", "TargetGroups").([]any)
				var out []string
				for _, x := range fwd {
					out = append(out, fmt.Sprintf("%s=%v", name[dig(x, "TargetGroupArn").(string)], dig(x, "Weight")))
				}
				sort.Strings(out) // ECS lists the deployment's blue side first, whichever group that is
				return strings.Join(out, ",")
			}
			run("ecs", "create-service", "--cluster", "prod", "--service-name", "web", "--task-definition", td1, "--desired-count", "2",
				"--deployment-controller", "type=ECS", "--launch-type", "FARGATE",
				"--deployment-configuration", `{"strategy":"CANARY","bakeTimeInMinutes":1,"canaryConfiguration":{"canaryPercent":10,"canaryBakeTimeInMinutes":2},`+
					`"lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":["POST_TEST_TRAFFIC_SHIFT"],"timeoutConfiguration":{"timeoutInMinutes":30,"action":"ROLLBACK"}}]}`,
				"--load-balancers", `[{"targetGroupArn":"`+tgs[0]+`","containerName":"web","containerPort":8080,"advancedConfiguration":{"alternateTargetGroupArn":"`+tgs[1]+
					`","productionListenerRule":"`+rules[0]+`","testListenerRule":"`+rules[1]+`","roleArn":"arn:aws:iam::123456789012:role/ecs-lb"}}]`,
				"--network-configuration", "awsvpcConfiguration={subnets=[subnet-a],securityGroups=[sg-1],assignPublicIp=DISABLED}")
			clk.Advance(time.Minute)

			up := run("ecs", "update-service", "--cluster", "prod", "--service", "web", "--task-definition", register("nginx:2"))
			arn, _ := dig(up, "service", "currentServiceDeployment").(string)
			if arn == "" {
				t.Fatalf("update-service shows no currentServiceDeployment: %v", up)
			}
			clk.Advance(time.Minute)
			d := dig(run("ecs", "describe-service-deployments", "--service-deployment-arns", arn), "serviceDeployments", 0)
			hook, _ := dig(d, "lifecycleHookDetails", 0, "hookId").(string)
			if dig(d, "lifecycleStage") != "POST_TEST_TRAFFIC_SHIFT" || dig(d, "lifecycleHookDetails", 0, "status") != "AWAITING_ACTION" || hook == "" {
				t.Fatalf("a minute in: %v, want POST_TEST_TRAFFIC_SHIFT with a PAUSE hook AWAITING_ACTION", d)
			}
			if got := weights(rules[0]) + " " + weights(rules[1]); got != "web-blue=100,web-green=0 web-blue=0,web-green=100" {
				t.Errorf("while paused: production and test rules %s", got)
			}
			run("ecs", "continue-service-deployment", "--service-deployment-arn", arn, "--hook-id", hook, "--action", "CONTINUE")
			if got := weights(rules[0]); got != "web-blue=90,web-green=10" {
				t.Errorf("after continuing: production %s, want the 10%% canary", got)
			}
			clk.Advance(time.Hour)
			list := run("ecs", "list-service-deployments", "--cluster", "prod", "--service", "web")
			if st := dig(list, "serviceDeployments", 0, "status"); st != "SUCCESSFUL" {
				t.Errorf("list-service-deployments: newest is %v, want SUCCESSFUL: %v", st, list)
			}
			d = dig(run("ecs", "describe-service-deployments", "--service-deployment-arns", arn), "serviceDeployments", 0)
			rev := dig(d, "targetServiceRevision", "arn").(string)
			r := run("ecs", "describe-service-revisions", "--service-revision-arns", rev)
			if dig(r, "serviceRevisions", 0, "loadBalancers", 0, "targetGroupArn") != tgs[1] {
				t.Errorf("describe-service-revisions: %v, want the revision in web-green", r)
			}

			up = run("ecs", "update-service", "--cluster", "prod", "--service", "web", "--task-definition", register("nginx:3"))
			second := dig(up, "service", "currentServiceDeployment").(string)
			clk.Advance(time.Minute)
			d = dig(run("ecs", "describe-service-deployments", "--service-deployment-arns", second), "serviceDeployments", 0)
			if dig(d, "lifecycleStage") != "POST_TEST_TRAFFIC_SHIFT" {
				t.Fatalf("second deployment a minute in: %v", d)
			}
			run("ecs", "stop-service-deployment", "--service-deployment-arn", second, "--stop-type", "ROLLBACK")
			if st := dig(run("ecs", "describe-service-deployments", "--service-deployment-arns", second), "serviceDeployments", 0, "status"); st != "ROLLBACK_REQUESTED" {
				t.Errorf("right after stop-service-deployment: %v, want ROLLBACK_REQUESTED", st)
			}
			clk.Advance(time.Second)
			d = dig(run("ecs", "describe-service-deployments", "--service-deployment-arns", second), "serviceDeployments", 0)
			if dig(d, "status") != "ROLLBACK_IN_PROGRESS" || dig(d, "rollback", "serviceRevisionArn") != rev {
				t.Errorf("after stop-service-deployment: %v, want ROLLBACK_IN_PROGRESS back to %s", d, rev)
			}
			if got := weights(rules[1]); got != "web-blue=0,web-green=100" {
				t.Errorf("test rule after the rollback %s, want it back on web-green", got)
			}
		})
	}
}
