package sandbox

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
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
