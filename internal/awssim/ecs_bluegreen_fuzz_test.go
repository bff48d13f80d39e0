package awssim_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// FuzzECSDeploymentConfiguration creates a service with an arbitrary
// deploymentConfiguration next to a valid advancedConfiguration, deploys a
// new revision to it and lets an hour pass: every answer is a 2xx or a 4xx
// with an error code, never a 5xx or a handler that chokes.
func FuzzECSDeploymentConfiguration(f *testing.F) {
	f.Add(`{"strategy":"BLUE_GREEN","bakeTimeInMinutes":1}`)
	f.Add(`{"strategy":"LINEAR","linearConfiguration":{"stepPercent":3.3,"stepBakeTimeInMinutes":0}}`)
	f.Add(`{"strategy":"CANARY","canaryConfiguration":{"canaryPercent":0.1,"canaryBakeTimeInMinutes":1440},"lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":["PRE_PRODUCTION_TRAFFIC_SHIFT"],"timeoutConfiguration":{"timeoutInMinutes":1,"action":"CONTINUE"}}]}`)
	f.Add(`{"strategy":"CANARY","lifecycleHooks":[{"hookTargetArn":"arn:aws:lambda:eu-west-1:1:function:f","roleArn":"r","lifecycleStages":["RECONCILE_SERVICE","POST_SCALE_UP"]}],"alarms":{"alarmNames":["a"],"enable":true,"rollback":false}}`)
	f.Add(`{"strategy":"LINEAR","linearConfiguration":{"stepPercent":1e308},"deploymentCircuitBreaker":{"enable":true,"rollback":true}}`)
	f.Add(`{"strategy":7,"lifecycleHooks":{"x":1},"bakeTimeInMinutes":-1}`)
	f.Add(`{"strategy":"BLUE_GREEN","bakeTimeInMinutes":1,"lifecycleHooks":[{"targetType":"PAUSE","lifecycleStages":[]}]}`)
	e := newBGEnv(f, seed.ECSNativeOptions{})
	td := e.registerOnly(f, "registry.example/web:2")
	adv := fmt.Sprintf(`{"alternateTargetGroupArn":%q,"productionListenerRule":%q,"testListenerRule":%q,"roleArn":%q}`,
		e.world.GreenTargetGroupARN, e.world.ProdRuleARN, e.world.TestRuleARN, e.world.RoleARN)
	endpoint := aws.ToString(e.ecs.Options().BaseEndpoint)
	n := 0
	f.Fuzz(func(t *testing.T, cfg string) {
		n++
		name := fmt.Sprintf("fuzz-%d", n)
		call := func(op, body string) {
			t.Helper()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint+"/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 || (resp.StatusCode >= 400 && !strings.Contains(string(b), "__type")) {
				t.Fatalf("%s with deploymentConfiguration %s answered %d: %s", op, cfg, resp.StatusCode, b)
			}
		}
		call("CreateService", fmt.Sprintf(`{"cluster":"prod","serviceName":%q,"taskDefinition":%q,"desiredCount":1,"deploymentConfiguration":%s,"loadBalancers":[{"targetGroupArn":%q,"containerName":"web","containerPort":8080,"advancedConfiguration":%s}]}`,
			name, e.world.TaskDefinitionARN, cfg, e.world.BlueTargetGroupARN, adv))
		call("UpdateService", fmt.Sprintf(`{"cluster":"prod","service":%q,"taskDefinition":%q}`, name, td))
		e.clk.Advance(time.Hour)
		call("ListServiceDeployments", fmt.Sprintf(`{"cluster":"prod","service":%q}`, name))
		call("DescribeServices", fmt.Sprintf(`{"cluster":"prod","services":[%q]}`, name))
	})
}
