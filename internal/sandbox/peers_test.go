package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/testutil"
)

// TestECRImagesFromTheRegistry: what a push put in the sandbox registry is
// what ECR's image operations answer, and PutImage tags it there.
func TestECRImagesFromTheRegistry(t *testing.T) {
	t.Parallel()
	sb, err := Start(context.Background(), Options{Seed: true, Speed: 60})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	ctx := context.Background()
	user, pass := sb.Sim.ECRCredentials()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(sb.Sim.RepositoryURI(SwitchService)+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	size, _ := img.Size()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(sb.AWSURL)}
	api := ecr.NewFromConfig(cfg)
	repo := aws.String(SwitchService)
	desc, err := api.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo})
	if err != nil || len(desc.ImageDetails) != 1 || aws.ToString(desc.ImageDetails[0].ImageDigest) != digest.String() || desc.ImageDetails[0].ImageTags[0] != "v1" {
		t.Fatalf("DescribeImages = %+v, %v; want the pushed image %s", desc, err, digest)
	}
	if got := aws.ToInt64(desc.ImageDetails[0].ImageSizeInBytes); got <= 0 || got > size*10 {
		t.Errorf("imageSizeInBytes = %d", got)
	}
	got, err := api.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(got.Images) != 1 {
		t.Fatalf("BatchGetImage = %+v, %v", got, err)
	}
	// Retag by manifest, as `aws ecr put-image` promotes an image.
	if _, err := api.PutImage(ctx, &ecr.PutImageInput{
		RepositoryName: repo, ImageManifest: got.Images[0].ImageManifest, ImageTag: aws.String("live"),
		ImageManifestMediaType: got.Images[0].ImageManifestMediaType,
	}); err != nil {
		t.Fatal(err)
	}
	liveRef, _ := name.ParseReference(sb.Sim.RepositoryURI(SwitchService)+":live", name.Insecure)
	d, err := remote.Head(liveRef, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err != nil || d.Digest != digest {
		t.Errorf("the registry's live tag = %v, %v; want %s", d, err, digest)
	}
	list, err := api.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: repo})
	if err != nil || len(list.ImageIds) != 2 {
		t.Errorf("ListImages = %+v, %v; want v1 and live", list, err)
	}
}

// TestAWSECSDeploy drives `aws ecs deploy`, the AWS CLI's own CodeDeploy
// command, end to end against the sandbox with a group that continues at
// Ready (the CLI never calls ContinueDeployment). Only the CLI v1 with
// AWS_ENDPOINT_URL reaches a local CodeDeploy (aws-facts §7).
func TestAWSECSDeploy(t *testing.T) {
	t.Parallel()
	bin := testutil.RequirePeer(t, "aws")
	if out, err := exec.Command(bin, "--version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "aws-cli/1") {
		testutil.MissingPeer(t, "`aws` is not the AWS CLI v1, the only one whose ecs deploy honours AWS_ENDPOINT_URL")
	}
	sb, err := Start(context.Background(), Options{Seed: true, Speed: 600, Group: GroupOptions{
		ReadyAction: "CONTINUE_DEPLOYMENT", DeploymentConfig: "CodeDeployDefault.ECSAllAtOnce", TerminationWaitMinutes: 0,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	dir := t.TempDir()
	w := sb.World
	taskDef := `{"family":"` + w.Service + `","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
  "containerDefinitions":[{"name":"` + w.Container + `","image":"` + sb.Sim.RepositoryURI(w.Repository) + `:v2","essential":true,"portMappings":[{"containerPort":8080}]}]}`
	appspec := "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        TaskDefinition: <TASK_DEFINITION>\n        LoadBalancerInfo:\n          ContainerName: " + w.Container + "\n          ContainerPort: 8080\n"
	for f, body := range map[string]string{"taskdef.json": taskDef, "appspec.yaml": appspec} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "ecs", "deploy", "--cluster", w.Cluster, "--service", w.Service,
		"--task-definition", filepath.Join(dir, "taskdef.json"), "--codedeploy-appspec", filepath.Join(dir, "appspec.yaml"),
		"--codedeploy-application", w.Application, "--codedeploy-deployment-group", w.Group)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_ACCESS_KEY_ID=ecs-deploy")
	for _, line := range sb.Exports() {
		if kv := strings.TrimPrefix(line, "export "); strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		_ = errors.As(err, &ee)
		t.Fatalf("aws ecs deploy: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Successfully deployed") {
		t.Errorf("aws ecs deploy said:\n%s", out)
	}
	// Production now answers from the new task definition.
	resp, err := http.Get(sb.ProdURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		Images []string `json:"images"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	if len(answer.Images) != 1 || !strings.HasSuffix(answer.Images[0], ":v2") {
		t.Errorf("production answers with %v, want the image aws ecs deploy shipped", answer.Images)
	}
	// The call log tells the CLI's calls apart by its access key.
	calls := map[string]int{}
	for _, c := range sb.Sim.Calls() {
		if c.AccessKeyID == "ecs-deploy" {
			calls[c.Service+":"+c.Operation]++
			if c.ErrorCode != "" {
				t.Errorf("aws ecs deploy got %s on %s", c.ErrorCode, c.Operation)
			}
		}
	}
	for _, op := range []string{"ecs:DescribeServices", "ecs:RegisterTaskDefinition", "codedeploy:GetApplication", "codedeploy:GetDeploymentGroup", "codedeploy:CreateDeployment", "codedeploy:GetDeployment"} {
		if calls[op] == 0 {
			t.Errorf("aws ecs deploy made no %s call (calls: %v)", op, calls)
		}
	}
	t.Logf("aws ecs deploy against the sandbox: %v", calls)
}
