package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim"
)

func TestStartSeedsAndServes(t *testing.T) {
	t.Parallel()
	sb, err := Start(context.Background(), Options{Seed: true, Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	out, err := ecs.NewFromConfig(cfg).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices through the sandbox = %+v, %v", out, err)
	}
	exports := strings.Join(sb.Exports(), "\n")
	for _, want := range []string{"AWS_ENDPOINT_URL=" + sb.AWSURL, "AWS_ENDPOINT_URL_STS=", "CI_REGISTRY=" + sb.RegistryHost, "BG_CLUSTER=prod", "BG_SERVICE=web"} {
		if !strings.Contains(exports, want) {
			t.Errorf("exports lack %q:\n%s", want, exports)
		}
	}

	resp0, err := http.Get(sb.ProdURL)
	if err != nil {
		t.Fatal(err)
	}
	resp0.Body.Close()
	if resp0.StatusCode != http.StatusServiceUnavailable && resp0.StatusCode != http.StatusOK {
		t.Errorf("production URL answered %d", resp0.StatusCode)
	}

	// The registry wants credentials, and takes the ECR token's.
	resp, err := http.Get("http://" + sb.RegistryHost + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous /v2/ = %d, want 401", resp.StatusCode)
	}
	tok, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	data := tok.AuthorizationData[0]
	if got := aws.ToString(data.ProxyEndpoint); got != "http://"+sb.RegistryHost {
		t.Errorf("proxyEndpoint = %q", got)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	user, pass, _ := strings.Cut(string(raw), ":")
	req, _ := http.NewRequest(http.MethodGet, "http://"+sb.RegistryHost+"/v2/", nil)
	req.SetBasicAuth(user, pass)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/v2/ with the ECR token = %d, want 200", resp.StatusCode)
	}
}

// TestStartSeedsTheListenerModel checks the listener model next to the
// CodeDeploy service: shop-blue and shop-green in the same cluster, healthy
// when Start returns, production on blue and the test listener on green,
// each on its own loopback port, and exported under names that leave the
// CodeDeploy service's BG_ settings alone.
func TestStartSeedsTheListenerModel(t *testing.T) {
	t.Parallel()
	sb, err := Start(context.Background(), Options{Seed: true, Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	out, err := ecs.NewFromConfig(cfg).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web", "shop-blue", "shop-green"}})
	if err != nil || len(out.Services) != 3 || len(out.Failures) != 0 {
		t.Fatalf("DescribeServices through the sandbox = %+v, %v", out, err)
	}
	repos, err := ecr.NewFromConfig(cfg).DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"shop"}})
	if err != nil || len(repos.Repositories) != 1 {
		t.Errorf("ECR repository shop: %+v, %v", repos, err)
	}

	lines := sb.Exports()
	exports := strings.Join(lines, "\n")
	for _, want := range []string{
		"SANDBOX_SWITCH_BLUE_SERVICE=shop-blue", "SANDBOX_SWITCH_GREEN_SERVICE=shop-green",
		"SANDBOX_SWITCH_LISTENER_ARN=" + sb.Switch.ProdListenerARN, "SANDBOX_SWITCH_TEST_LISTENER_ARN=" + sb.Switch.TestListenerARN,
		"SANDBOX_SWITCH_ECR_REPOSITORY=shop", "SANDBOX_SWITCH_PROD_URL=" + sb.SwitchProdURL, "SANDBOX_SWITCH_TEST_URL=" + sb.SwitchTestURL,
		"BG_SERVICE=web", "BG_PROD_URL=" + sb.ProdURL,
	} {
		if !strings.Contains(exports, want) {
			t.Errorf("exports lack %q:\n%s", want, exports)
		}
	}
	// A shell that evaluates them still drives the CodeDeploy service.
	for _, k := range []string{"BG_BLUE_SERVICE", "BG_GREEN_SERVICE", "BG_LISTENER_ARN", "BG_TEST_LISTENER_ARN", "BG_MODE"} {
		if strings.Contains(exports, "export "+k+"=") {
			t.Errorf("exports set %s, which would select the listener model:\n%s", k, exports)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "export BG_TEST_URL=") {
		t.Errorf("last export is %q; scripts wait for BG_TEST_URL", last)
	}
	if got := sb.SwitchSettings(); len(got) == 0 || got[0] != "BG_CLUSTER=prod" {
		t.Errorf("SwitchSettings() = %v", got)
	}

	// Both colours answer at once, each behind its own listener, apart from
	// the CodeDeploy service's.
	urls := map[string]bool{}
	for url, tg := range map[string]string{sb.SwitchProdURL: "shop-blue", sb.SwitchTestURL: "shop-green", sb.ProdURL: "web-blue"} {
		urls[url] = true
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var a awssim.TaskAnswer
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || a.TargetGroup != tg {
			t.Errorf("%s answered %d from target group %q (%v), want 200 from %s", url, resp.StatusCode, a.TargetGroup, err, tg)
		}
	}
	if len(urls) != 3 || urls[sb.TestURL] {
		t.Errorf("listeners share addresses: prod %s, test %s, switch prod %s, switch test %s", sb.ProdURL, sb.TestURL, sb.SwitchProdURL, sb.SwitchTestURL)
	}
}

// TestStartSeedsTheECSModel checks the ecs model's service next to the
// others: ECS deploys it (LINEAR, a PAUSE hook after test traffic), blue
// serves its production and test rules when Start returns, and its names are
// exported as SANDBOX_ECS_*, leaving the CodeDeploy service's BG_ settings
// alone.
func TestStartSeedsTheECSModel(t *testing.T) {
	t.Parallel()
	sb, err := Start(context.Background(), Options{Seed: true, Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	out, err := ecs.NewFromConfig(cfg).DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{ECSService}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s) = %+v, %v", ECSService, out, err)
	}
	svc := out.Services[0]
	dc := svc.DeploymentConfiguration
	if svc.DeploymentController == nil || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeEcs || dc == nil || dc.Strategy != ecstypes.DeploymentStrategyLinear ||
		len(dc.LifecycleHooks) != 1 || dc.LifecycleHooks[0].TargetType != ecstypes.DeploymentLifecycleHookTargetTypePause ||
		len(dc.LifecycleHooks[0].LifecycleStages) != 1 || dc.LifecycleHooks[0].LifecycleStages[0] != ecstypes.DeploymentLifecycleHookStagePostTestTrafficShift {
		t.Errorf("%s is not ECS-deployed LINEAR with a PAUSE hook after test traffic: %+v %+v", ECSService, svc.DeploymentController, dc)
	}
	if len(svc.LoadBalancers) != 1 || svc.LoadBalancers[0].AdvancedConfiguration == nil || aws.ToString(svc.LoadBalancers[0].AdvancedConfiguration.TestListenerRule) != sb.ECS.TestRuleARN {
		t.Errorf("load balancers %+v, want the advanced configuration with the test rule %s", svc.LoadBalancers, sb.ECS.TestRuleARN)
	}
	if _, err := ecr.NewFromConfig(cfg).DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{ECSService}}); err != nil {
		t.Errorf("ECR repository %s: %v", ECSService, err)
	}

	lines := sb.Exports()
	exports := strings.Join(lines, "\n")
	for _, want := range []string{
		"export SANDBOX_ECS_SERVICE=" + ECSService, "export SANDBOX_ECS_ECR_REPOSITORY=" + ECSService,
		"export SANDBOX_ECS_PROD_URL=" + sb.ECSProdURL, "export SANDBOX_ECS_TEST_URL=" + sb.ECSTestURL, "export BG_SERVICE=web",
	} {
		if !strings.Contains(exports, want) {
			t.Errorf("exports lack %q:\n%s", want, exports)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "export BG_TEST_URL=") {
		t.Errorf("last export is %q; scripts wait for BG_TEST_URL", last)
	}
	if got := sb.ECSSettings(); len(got) == 0 || got[0] != "BG_CLUSTER=prod" || got[1] != "BG_SERVICE="+ECSService {
		t.Errorf("ECSSettings() = %v", got)
	}
	for url, tg := range map[string]string{sb.ECSProdURL: ECSService + "-blue", sb.ECSTestURL: ECSService + "-blue"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var a awssim.TaskAnswer
		err = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || a.TargetGroup != tg {
			t.Errorf("%s answered %d from target group %q (%v), want 200 from %s", url, resp.StatusCode, a.TargetGroup, err, tg)
		}
	}
	if sb.ECSProdURL == sb.ProdURL || sb.ECSProdURL == sb.ECSTestURL {
		t.Errorf("listeners share addresses: %s %s %s", sb.ECSProdURL, sb.ECSTestURL, sb.ProdURL)
	}
}
