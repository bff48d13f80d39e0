package awssim_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
)

// TestAWSCLITargetGroupAttributesAndHealth reads and changes a target
// group's attributes and reads target health with a Targets filter through
// both AWS CLIs: their parsers accept the answers, and the states are the
// ones ELBv2 documents.
func TestAWSCLITargetGroupAttributesAndHealth(t *testing.T) {
	t.Parallel()
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(awssim.New(awssim.WithClock(clock.NewScaled(1))))
			t.Cleanup(srv.Close)
			u := srv.URL
			tg := cli(t, bin, u, "elbv2", "create-target-group", "--name", "idle", "--protocol", "HTTP", "--port", "80", "--vpc-id", "vpc-1", "--target-type", "ip")
			arn := tg["TargetGroups"].([]any)[0].(map[string]any)["TargetGroupArn"].(string)
			attrs := func(out map[string]any) map[string]string {
				m := map[string]string{}
				for _, a := range out["Attributes"].([]any) {
					kv := a.(map[string]any)
					m[kv["Key"].(string)] = kv["Value"].(string)
				}
				return m
			}
			if got := attrs(cli(t, bin, u, "elbv2", "describe-target-group-attributes", "--target-group-arn", arn)); got["deregistration_delay.timeout_seconds"] != "300" {
				t.Errorf("default attributes = %v", got)
			}
			mod := attrs(cli(t, bin, u, "elbv2", "modify-target-group-attributes", "--target-group-arn", arn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=45"))
			if mod["deregistration_delay.timeout_seconds"] != "45" || mod["stickiness.enabled"] != "false" {
				t.Errorf("modify-target-group-attributes answered %v", mod)
			}
			if out := cliError(t, bin, u, "elbv2", "modify-target-group-attributes", "--target-group-arn", arn, "--attributes", "Key=deregistration_delay.timeout_seconds,Value=9999"); !strings.Contains(out, "InvalidConfigurationRequest") {
				t.Errorf("an out-of-range delay: %s", out)
			}
			cli(t, bin, u, "elbv2", "register-targets", "--target-group-arn", arn, "--targets", "Id=10.0.0.9,Port=80")
			h := cli(t, bin, u, "elbv2", "describe-target-health", "--target-group-arn", arn, "--targets", "Id=10.0.0.9,Port=80", "Id=10.0.0.10,Port=80")
			var got []string
			for _, d := range h["TargetHealthDescriptions"].([]any) {
				th := d.(map[string]any)["TargetHealth"].(map[string]any)
				got = append(got, th["State"].(string)+" "+th["Reason"].(string))
			}
			// No listener forwards to the group; the second target was never registered.
			if want := "unused Target.NotInUse,unused Target.NotRegistered"; strings.Join(got, ",") != want {
				t.Errorf("describe-target-health = %v, want %s", got, want)
			}
		})
	}
}

// TestAWSCLIServicesStableAfterARollingDeployment runs a rolling deployment
// and waits for it with the CLI's own waiter (`aws ecs wait services-stable`:
// one deployment left and the running count at the desired count), then
// reads the deployment as COMPLETED and the service's events.
func TestAWSCLIServicesStableAfterARollingDeployment(t *testing.T) {
	t.Parallel()
	for name, bin := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(awssim.New(awssim.WithClock(clock.NewScaled(600))))
			t.Cleanup(srv.Close)
			u := srv.URL
			cli(t, bin, u, "ecs", "create-cluster", "--cluster-name", "prod")
			var tds []string
			for _, image := range []string{"api:1", "api:2"} {
				td := cli(t, bin, u, "ecs", "register-task-definition", "--family", "api", "--container-definitions", `[{"name":"api","image":"`+image+`"}]`)
				tds = append(tds, td["taskDefinition"].(map[string]any)["taskDefinitionArn"].(string))
			}
			cli(t, bin, u, "ecs", "create-service", "--cluster", "prod", "--service-name", "api", "--task-definition", tds[0], "--desired-count", "2",
				"--deployment-configuration", "deploymentCircuitBreaker={enable=true,rollback=true},maximumPercent=200,minimumHealthyPercent=100")
			cli(t, bin, u, "ecs", "update-service", "--cluster", "prod", "--service", "api", "--task-definition", tds[1])
			cli(t, bin, u, "ecs", "wait", "services-stable", "--cluster", "prod", "--services", "api")
			s := cli(t, bin, u, "ecs", "describe-services", "--cluster", "prod", "--services", "api")["services"].([]any)[0].(map[string]any)
			deps := s["deployments"].([]any)
			if len(deps) != 1 || deps[0].(map[string]any)["rolloutState"] != "COMPLETED" || deps[0].(map[string]any)["taskDefinition"] != tds[1] {
				t.Errorf("deployments after the waiter = %v", deps)
			}
			cb := s["deploymentConfiguration"].(map[string]any)["deploymentCircuitBreaker"].(map[string]any)
			if cb["enable"] != true || cb["rollback"] != true {
				t.Errorf("deploymentConfiguration.deploymentCircuitBreaker = %v", cb)
			}
			if ev := s["events"].([]any); len(ev) == 0 || ev[0].(map[string]any)["message"] != "(service api) has reached a steady state." {
				t.Errorf("newest event = %v, want the steady state", ev)
			}
		})
	}
}
