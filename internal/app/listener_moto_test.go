package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// TestListenerModelAgainstMoto runs status and switch against moto_server,
// an AWS implementation we did not write: the listener model must read and
// rewrite its listeners, rules and tags as it does the simulator's.
func TestListenerModelAgainstMoto(t *testing.T) {
	t.Parallel()
	endpoint := testutil.StartMoto(t)
	ctx := context.Background()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(endpoint)}
	ecsClient, elbClient := ecs.NewFromConfig(cfg), elb.NewFromConfig(cfg)
	vpc := motoEC2(t, endpoint, "Action=CreateVpc&CidrBlock=10.0.0.0%2F16", "vpcId")
	subnets := []string{
		motoEC2(t, endpoint, "Action=CreateSubnet&VpcId="+vpc+"&CidrBlock=10.0.1.0%2F24&AvailabilityZone=eu-west-1a", "subnetId"),
		motoEC2(t, endpoint, "Action=CreateSubnet&VpcId="+vpc+"&CidrBlock=10.0.2.0%2F24&AvailabilityZone=eu-west-1b", "subnetId"),
	}
	sg := motoEC2(t, endpoint, "Action=CreateSecurityGroup&VpcId="+vpc+"&GroupName=web&GroupDescription=web", "groupId")
	for _, rule := range []bool{false, true} {
		t.Run(fmt.Sprintf("prod_rule_%v", rule), func(t *testing.T) {
			name := "web"
			if rule {
				name = "api"
			}
			w, err := seed.CreateTwoServices(ctx, seed.Clients{ECS: ecsClient, ELB: elbClient}, seed.TwoServicesOptions{
				Options: seed.Options{Cluster: "prod-" + name, Service: name, VpcID: vpc, Subnets: subnets, SecurityGroups: []string{sg}}, ProdRule: rule,
			})
			if err != nil {
				t.Fatalf("seeding moto: %v", err)
			}
			// moto's ECS starts no tasks behind the load balancer: register
			// a target in each colour, as ECS would.
			for i, tg := range []string{w.BlueTargetGroupARN, w.GreenTargetGroupARN} {
				if _, err := elbClient.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tg), Targets: []elbtypes.TargetDescription{{Id: aws.String(fmt.Sprintf("10.0.1.%d", 10+i)), Port: aws.Int32(8080)}}}); err != nil {
					t.Fatal(err)
				}
			}
			prod := w.ProdListenerARN
			if rule {
				prod = w.ProdRuleARN
			}
			environ := []string{
				"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
				"BG_CLUSTER=" + w.Cluster, "BG_BLUE_SERVICE=" + w.BlueService, "BG_GREEN_SERVICE=" + w.GreenService,
				"BG_LISTENER_ARN=" + prod, "BG_TEST_LISTENER_ARN=" + w.TestListenerARN, "BG_OUTPUT_DIR=" + t.TempDir(),
			}
			code, stdout, stderr := runIn(t, environ, "status")
			if code != ExitOK || !strings.Contains(stdout, "blue") {
				t.Fatalf("status against moto: exit %d\n%s\n%s", code, stdout, stderr)
			}
			code, _, stderr = runIn(t, environ, "switch")
			if code != ExitOK {
				t.Fatalf("switch against moto: exit %d\n%s", code, stderr)
			}
			r := &snapshot.Reader{ECS: ecsClient, ELB: elbClient}
			s, err := r.ReadListener(ctx, w.Cluster, w.BlueService, w.GreenService, prod, w.TestListenerARN)
			if err != nil {
				t.Fatal(err)
			}
			g, b := s.Colour(snapshot.Green), s.Colour(snapshot.Blue)
			if s.Live != snapshot.Green || b.TestWeight != 100 || g.IsProduction != "true" || b.IsProduction != "false" {
				t.Errorf("after switch, moto says: live %q, blue test weight %.0f, IsProduction green=%q blue=%q", s.Live, b.TestWeight, g.IsProduction, b.IsProduction)
			}
		})
	}
}

// motoEC2 makes one EC2 query call (the project has no EC2 client: only the
// network moto checks load balancers against) and returns one element.
func motoEC2(t *testing.T, endpoint, form, element string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form+"&Version=2016-11-15"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto routes by the credential scope's service.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile("<" + element + ">([^<]+)</" + element + ">").FindSubmatch(body)
	if m == nil {
		t.Fatalf("EC2 %s: no %s in %s", url.QueryEscape(form), element, body)
	}
	return string(m[1])
}
