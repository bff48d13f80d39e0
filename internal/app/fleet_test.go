package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/report"
)

// seedServices adds services named names to the simulator's cluster prod,
// each deployed once (all at once) by pipeline 7, and waits until every
// deployment ended.
func seedServices(tb testing.TB, s *sim, names []string) {
	tb.Helper()
	ctx := context.Background()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(s.url)}
	clients := seed.Clients{ECS: s.ecs, ELB: s.elb, CodeDeploy: s.cd, ECR: ecr.NewFromConfig(cfg)}
	var ids []string
	for _, n := range names {
		w, err := seed.Create(ctx, clients, seed.Options{Service: n, Container: "web"})
		if err != nil {
			tb.Fatalf("seeding %s: %v", n, err)
		}
		td, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String(n), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("registry.example/" + n + "@sha256:" + strings.Repeat("d", 64)), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
		})
		if err != nil {
			tb.Fatal(err)
		}
		spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: \"" + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\"\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
		out, err := s.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
			ApplicationName: aws.String(w.Application), DeploymentGroupName: aws.String(w.Group),
			Description: aws.String("[ecs-bluegreen group/" + n + " pipeline 7] https://gitlab.example.com/group/" + n + "/-/pipelines/7 " + strings.Repeat("e", 40)),
			Revision:    &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec)}},
		})
		if err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, aws.ToString(out.DeploymentId))
	}
	for _, id := range ids {
		s.waitFor(tb, "deployment "+id, func() bool {
			d, err := s.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
			return err == nil && d.DeploymentInfo.Status == cdtypes.DeploymentStatusSucceeded
		})
	}
}

// servicesFile writes a services file naming each service of the cluster
// prod by name, and one entry per broken name whose service does not exist.
func servicesFile(tb testing.TB, names, broken []string) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("services:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - name: %s\n    env: {BG_CLUSTER: prod, BG_SERVICE: %s}\n", n, n)
	}
	for _, n := range broken {
		fmt.Fprintf(&b, "  - name: %s\n    env: {BG_CLUSTER: prod, BG_SERVICE: %s-gone}\n", n, n)
	}
	path := filepath.Join(tb.TempDir(), "services.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// TestManyServicesAgainstSimulator runs verify and status over three
// services and one that does not exist: the broken one is reported in its
// row, its suite and its log section (exit 2: the service it names does not exist), and the others are read in full, each with its own page.
func TestManyServicesAgainstSimulator(t *testing.T) {
	t.Parallel()
	s, rec, _ := startRecordedSim(t, seed.Options{})
	good := []string{"api", "shop", "cart"}
	seedServices(t, s, good)
	file := servicesFile(t, good, []string{"gone"})
	out := t.TempDir()
	// The job's own settings name no service: the entries do.
	environ := []string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + s.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_OUTPUT_DIR=" + out, "BG_LOG_LEVEL=warn", "BG_SERVICES_FILE=" + file, "BG_SERVICES_CONCURRENCY=2",
	}

	m := rec.mark()
	code, stdout, stderr := runIn(t, environ, "verify")
	calls := rec.since(m)
	if code != ExitUsage {
		t.Errorf("verify with a broken service: exit %d, want %d\n%s\n%s", code, ExitUsage, stdout, stderr)
	}
	if !strings.Contains(stderr, "1 of 4 services failed: gone") || !strings.Contains(stderr, "ECS service gone-gone not found") {
		t.Errorf("the log does not say which service failed and why:\n%s", stderr)
	}
	t.Logf("verify over %d services: %d AWS calls", len(good)+1, len(calls))

	raw, err := os.ReadFile(filepath.Join(out, "status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Services []report.ServiceStatus `json:"services"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Services) != 4 {
		t.Fatalf("status.json has %d services, want 4", len(page.Services))
	}
	for i, svc := range page.Services[:3] {
		if svc.Name != good[i] || svc.Status == nil || svc.Status.Live != "green" || len(svc.Status.History) != 1 || svc.Status.History[0].StartedBy != "pipeline 7" || svc.ExitCode != ExitOK {
			t.Errorf("service %d: %+v", i, svc)
		}
		if _, err := os.Stat(filepath.Join(out, svc.Detail)); err != nil {
			t.Errorf("service %s's detail page: %v", svc.Name, err)
		}
	}
	if b := page.Services[3]; b.Name != "gone" || b.Status != nil || b.ExitCode != ExitUsage || !strings.Contains(b.Error, "not found") {
		t.Errorf("the broken service: %+v", b)
	}
	junit, err := os.ReadFile(filepath.Join(out, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(good, "gone") {
		if !strings.Contains(string(junit), `<testsuite name="`+n+`"`) {
			t.Errorf("junit.xml has no suite for %s", n)
		}
	}
	if !strings.Contains(string(junit), `<testcase name="service can be read" classname="gone"`) {
		t.Errorf("junit.xml does not fail the broken service:\n%s", junit)
	}
	html, err := os.ReadFile(filepath.Join(out, "status.html"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), `<tr class="service`); n != 4 {
		t.Errorf("status.html has %d service rows, want 4", n)
	}
	if !strings.Contains(string(html), `href="services/api/status.html"`) || !strings.Contains(stdout, "### 4 services: 1 need attention") {
		t.Errorf("the overview does not link the services' pages or count the broken one:\n%s", stdout)
	}

	// status: the same rows, no junit.xml of its own.
	out2 := t.TempDir()
	environ[4] = "BG_OUTPUT_DIR=" + out2
	m = rec.mark()
	code, stdout, _ = runIn(t, environ, "status")
	statusCalls := rec.since(m)
	n := len(statusCalls)
	t.Logf("status calls: %s", perOperation(statusCalls))
	if code != ExitUsage || !strings.Contains(stdout, "| `api` | green is live |") {
		t.Errorf("status over the services: exit %d\n%s", code, stdout)
	}
	if _, err := os.Stat(filepath.Join(out2, "junit.xml")); err == nil {
		t.Error("status wrote a junit.xml")
	}
	// Each good service: the 8 reads of a snapshot (no registry configured),
	// the GetDeployment that finds its deployment group from its task set
	// (no BG_CODEDEPLOY_* given) and 2 for the history; the broken one
	// stops at DescribeServices.
	if want := 3*11 + 1; n != want {
		t.Errorf("status over 3 services and a broken one made %d AWS calls, want %d", n, want)
	}
	t.Logf("status with history: %d AWS calls for 3 services and a broken one (%.1f per good service)", n, float64(n-1)/3)
}

// BenchmarkStatusManyServices is status over 20 services, 4 at once (the
// default BG_SERVICES_CONCURRENCY), against the simulator over loopback.
func BenchmarkStatusManyServices(b *testing.B) {
	s, rec, _ := startRecordedSim(b, seed.Options{})
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("svc%02d", i))
	}
	seedServices(b, s, names)
	file := servicesFile(b, names, nil)
	environ := []string{
		"AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL=" + s.url, "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=SECRET",
		"BG_OUTPUT_DIR=" + b.TempDir(), "BG_LOG_LEVEL=warn", "BG_SERVICES_FILE=" + file,
	}
	m := rec.mark()
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		if code, _, stderr := runIn(b, environ, "status"); code != ExitOK {
			b.Fatalf("status exit %d\n%s", code, stderr)
		}
	}
	b.StopTimer()
	per := time.Since(start) / time.Duration(b.N)
	calls := float64(len(rec.since(m))) / float64(b.N) / 20
	b.ReportMetric(calls, "calls/service")
	b.ReportMetric(per.Seconds(), "s/20-services")
	fmt.Printf("status over 20 services (4 at once): %v per run, %.1f AWS calls per service\n", per.Round(time.Millisecond), calls)
}

// TestManyServices_refusesSecretsAndBadFiles: a services file that sets a
// secret, or is not a services file, is bad input (exit 2) before any AWS
// call, naming what is wrong.
func TestManyServices_refusesSecretsAndBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, want string
	}{
		{name: "secret", file: "services:\n  - name: web\n    env: {BG_CLUSTER: prod, BG_ID_TOKEN: eyJhbGciOi, AWS_SECRET_ACCESS_KEY: x}\n", want: "the services file sets secrets (web: AWS_SECRET_ACCESS_KEY, web: BG_ID_TOKEN)"},
		{name: "not_a_list", file: "services: web\n", want: "not YAML or JSON"},
		{name: "bad_name", file: "services:\n  - name: ../x\n", want: `the name "../x" must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "services.yml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			// No AWS endpoint: a call would fail differently.
			code, _, stderr := runIn(t, []string{"AWS_REGION=eu-west-1", "BG_OUTPUT_DIR=" + t.TempDir(), "BG_SERVICES_FILE=" + path}, "verify")
			if code != ExitUsage || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "eyJhbGciOi") {
				t.Errorf("exit %d, want %d with %q (and no secret):\n%s", code, ExitUsage, tt.want, stderr)
			}
		})
	}
}
