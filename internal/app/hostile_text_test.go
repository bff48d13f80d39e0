package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestTextFromAWSIsEscaped: a deployment someone else started, with a
// description that would colour, clear and fold the job log, inject HTML
// and break the status table, shows as text in status's log and reports.
func TestTextFromAWSIsEscaped(t *testing.T) {
	t.Parallel()
	s := startSim(t, seed.Options{ReadyWaitMinutes: 1440})
	const hostile = "\x1b[2J\x1b[31mred\x1b[0m \x1b[0Ksection_end:1764000000:deploy\r\x1b[0K\x1b[0Ksection_start:1764000000:fake[collapsed=true]\r\x1b[0K" +
		" <script>alert(1)</script> a | b \u202eevil\nsecond line | forged |"
	ctx := context.Background()
	td, err := s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc, RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String("registry.example/web:9"), PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	spec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: " + aws.ToString(td.TaskDefinition.TaskDefinitionArn) + "\n        LoadBalancerInfo:\n          ContainerName: web\n          ContainerPort: 8080\n"
	sum := sha256.Sum256([]byte(spec))
	if _, err := s.cd.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName: aws.String(s.world.Application), DeploymentGroupName: aws.String(s.world.Group), Description: aws.String(hostile),
		Revision: &cdtypes.RevisionLocation{RevisionType: cdtypes.RevisionLocationTypeAppSpecContent, AppSpecContent: &cdtypes.AppSpecContent{Content: aws.String(spec), Sha256: aws.String(hex.EncodeToString(sum[:]))}},
	}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runIn(t, s.environ("GITLAB_CI=true"), "status")
	if code != ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	md, err := os.ReadFile(filepath.Join(s.out, "status.md"))
	if err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(s.out, "status.html"))
	for name, text := range map[string]string{"log": stdout + stderr, "status.md": string(md), "status.html": string(html)} {
		if strings.ContainsAny(text, "\x1b\r\u202e") {
			t.Errorf("%s carries the description's control characters raw:\n%q", name, text)
		}
		if strings.Contains(text, "<script>") {
			t.Errorf("%s carries the description's HTML raw", name)
		}
	}
	if !strings.Contains(string(md), "Deployment in progress") || !strings.Contains(string(md), `\x1b[31mred`) {
		t.Errorf("status.md does not show the description as text:\n%s", md)
	}
	for _, line := range strings.Split(string(md), "\n") {
		if strings.Contains(line, "forged") && strings.HasPrefix(line, "|") {
			t.Errorf("the description added a table row: %q", line)
		}
	}
}
