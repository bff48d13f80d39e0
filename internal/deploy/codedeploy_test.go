package deploy

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

func TestDescribeKeepsOriginWhenTruncating(t *testing.T) {
	t.Parallel()
	origin := Origin("group/web", "1234")
	d := Describe(origin, "https://gitlab.example.com/group/web/-/pipelines/1234", strings.Repeat("x", 400))
	if len(d) != maxDescription {
		t.Errorf("len = %d, want %d", len(d), maxDescription)
	}
	if !strings.HasPrefix(d, origin) {
		t.Errorf("description %q lost the origin marker", d)
	}
	if Origin("group/web", "") != "" {
		t.Error("an origin without a pipeline id would match every manual deployment")
	}
}

func TestActiveDeploymentIDFromLimitMessage(t *testing.T) {
	t.Parallel()
	msg := "The Deployment Group 'DgpECS-prod-web' already has an active Deployment 'd-A1B2C3D4E'"
	if got := activeDeploymentID.FindString(msg); got != "d-A1B2C3D4E" {
		t.Errorf("found %q", got)
	}
}

func TestGroupDeploysService(t *testing.T) {
	t.Parallel()
	g := &cdtypes.DeploymentGroupInfo{EcsServices: []cdtypes.ECSService{{ClusterName: aws.String("prod"), ServiceName: aws.String("web")}}}
	for _, tt := range []struct {
		cluster, service string
		want             bool
	}{
		{"prod", "web", true},
		{"arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "web", true},
		{"prod", "api", false},
		{"staging", "web", false},
	} {
		if got := groupDeploysService(g, tt.cluster, tt.service); got != tt.want {
			t.Errorf("groupDeploysService(%q, %q) = %v, want %v", tt.cluster, tt.service, got, tt.want)
		}
	}
}
