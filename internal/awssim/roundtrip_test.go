package awssim_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// TestRoundTripEveryOperation calls each implemented operation through the
// real SDK client and checks that the answer parses into a populated typed
// output. (The lifecycle tests cover the operations that drive deployments.)
func TestRoundTripEveryOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	w := e.world
	_, id := e.deploy(t, "registry.example/web:rt", "")
	e.clk.Advance(time.Minute)
	stsc := sts.NewFromConfig(aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "S", ""), BaseEndpoint: e.ecs.Options().BaseEndpoint})
	checks := []struct {
		op  string
		run func() (bool, error)
	}{
		{"ecs:DescribeClusters", func() (bool, error) {
			o, err := e.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
			return err == nil && aws.ToString(o.Clusters[0].ClusterArn) != "" && o.Clusters[0].ActiveServicesCount == 1, err
		}},
		{"ecs:ListTaskDefinitions", func() (bool, error) {
			o, err := e.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("web"), Sort: ecstypes.SortOrderDesc, MaxResults: aws.Int32(1)})
			return err == nil && len(o.TaskDefinitionArns) == 1 && aws.ToString(o.NextToken) != "", err
		}},
		{"ecs:DescribeTaskDefinition", func() (bool, error) {
			o, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web"), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
			return err == nil && o.TaskDefinition.Revision == 2 && o.TaskDefinition.RegisteredAt != nil && o.Tags != nil, err
		}},
		{"ecs:DeregisterTaskDefinition+DeleteTaskDefinitions", func() (bool, error) {
			if _, err := e.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(w.TaskDefinitionARN)}); err != nil {
				return false, err
			}
			o, err := e.ecs.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{w.TaskDefinitionARN, "web:2"}})
			return err == nil && len(o.TaskDefinitions) == 1 && o.TaskDefinitions[0].Status == ecstypes.TaskDefinitionStatusDeleteInProgress && len(o.Failures) == 1, err
		}},
		{"ecs:ListTasks+DescribeTasks", func() (bool, error) {
			l, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
			if err != nil || len(l.TaskArns) == 0 {
				return false, err
			}
			o, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: l.TaskArns})
			return err == nil && len(o.Tasks) == len(l.TaskArns) && aws.ToString(o.Tasks[0].LastStatus) == "RUNNING" && len(o.Tasks[0].Containers) == 1, err
		}},
		{"ecs:TagResource+ListTagsForResource", func() (bool, error) {
			svcARN := "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
			if _, err := e.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(svcARN), Tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
				return false, err
			}
			o, err := e.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(svcARN)})
			return err == nil && len(o.Tags) == 1 && aws.ToString(o.Tags[0].Value) == "a", err
		}},
		{"ecs:UpdateService(desiredCount)", func() (bool, error) {
			o, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)})
			return err == nil && o.Service.DesiredCount == 3, err
		}},
		{"elasticloadbalancing:DescribeLoadBalancers", func() (bool, error) {
			o, err := e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"web-alb"}})
			return err == nil && aws.ToString(o.LoadBalancers[0].DNSName) != "" && o.LoadBalancers[0].State.Code == elbtypes.LoadBalancerStateEnumActive, err
		}},
		{"elasticloadbalancing:DescribeTargetGroups", func() (bool, error) {
			// After the deployment production forwards to green and to blue at
			// weight 0, as CodeDeploy leaves it: both stay associated.
			o, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(w.LoadBalancerARN)})
			return err == nil && len(o.TargetGroups) == 2 && o.TargetGroups[0].Matcher != nil, err
		}},
		{"elasticloadbalancing:CreateRule+DescribeRules+ModifyRule", func() (bool, error) {
			r, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{
				ListenerArn: aws.String(w.ProdListenerARN), Priority: aws.Int32(10),
				Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
				Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(w.BlueTargetGroupARN)}},
			})
			if err != nil {
				return false, err
			}
			if _, err := e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r.Rules[0].RuleArn, Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(w.GreenTargetGroupARN)}}}); err != nil {
				return false, err
			}
			o, err := e.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(w.ProdListenerARN)})
			return err == nil && len(o.Rules) == 2 && aws.ToString(o.Rules[0].Actions[0].TargetGroupArn) == w.GreenTargetGroupARN && aws.ToBool(o.Rules[1].IsDefault), err
		}},
		{"elasticloadbalancing:RegisterTargets+DescribeTargetHealth+DeregisterTargets", func() (bool, error) {
			tgt := []elbtypes.TargetDescription{{Id: aws.String("10.9.9.9"), Port: aws.Int32(8080)}}
			if _, err := e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN), Targets: tgt}); err != nil {
				return false, err
			}
			h, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN)})
			if err != nil || len(h.TargetHealthDescriptions) == 0 || h.TargetHealthDescriptions[len(h.TargetHealthDescriptions)-1].TargetHealth.Reason != elbtypes.TargetHealthReasonEnumRegistrationInProgress {
				return false, err
			}
			_, err = e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(w.GreenTargetGroupARN), Targets: tgt})
			return err == nil, err
		}},
		{"elasticloadbalancing:AddTags+DescribeTags+RemoveTags", func() (bool, error) {
			if _, err := e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{w.BlueTargetGroupARN}, Tags: []elbtypes.Tag{{Key: aws.String("IsProduction"), Value: aws.String("True")}}}); err != nil {
				return false, err
			}
			o, err := e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{w.BlueTargetGroupARN}})
			if err != nil || len(o.TagDescriptions[0].Tags) != 1 {
				return false, err
			}
			_, err = e.elb.RemoveTags(ctx, &elb.RemoveTagsInput{ResourceArns: []string{w.BlueTargetGroupARN}, TagKeys: []string{"IsProduction"}})
			return err == nil, err
		}},
		{"codedeploy:GetApplication+ListApplications", func() (bool, error) {
			a, err := e.cd.GetApplication(ctx, &codedeploy.GetApplicationInput{ApplicationName: aws.String(w.Application)})
			if err != nil || a.Application.ComputePlatform != cdtypes.ComputePlatformEcs {
				return false, err
			}
			l, err := e.cd.ListApplications(ctx, &codedeploy.ListApplicationsInput{})
			return err == nil && len(l.Applications) == 1, err
		}},
		{"codedeploy:ListDeploymentGroups", func() (bool, error) {
			o, err := e.cd.ListDeploymentGroups(ctx, &codedeploy.ListDeploymentGroupsInput{ApplicationName: aws.String(w.Application)})
			return err == nil && len(o.DeploymentGroups) == 1, err
		}},
		{"codedeploy:CreateDeploymentConfig+GetDeploymentConfig", func() (bool, error) {
			if _, err := e.cd.CreateDeploymentConfig(ctx, &codedeploy.CreateDeploymentConfigInput{
				DeploymentConfigName: aws.String("canary25"), ComputePlatform: cdtypes.ComputePlatformEcs,
				TrafficRoutingConfig: &cdtypes.TrafficRoutingConfig{Type: cdtypes.TrafficRoutingTypeTimeBasedCanary, TimeBasedCanary: &cdtypes.TimeBasedCanary{CanaryPercentage: 25, CanaryInterval: 2}},
			}); err != nil {
				return false, err
			}
			o, err := e.cd.GetDeploymentConfig(ctx, &codedeploy.GetDeploymentConfigInput{DeploymentConfigName: aws.String("canary25")})
			return err == nil && o.DeploymentConfigInfo.TrafficRoutingConfig.TimeBasedCanary.CanaryPercentage == 25, err
		}},
		{"codedeploy:ListDeployments+BatchGetDeployments", func() (bool, error) {
			l, err := e.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(w.Application), DeploymentGroupName: aws.String(w.Group)})
			if err != nil || len(l.Deployments) != 1 {
				return false, err
			}
			o, err := e.cd.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: l.Deployments})
			return err == nil && aws.ToString(o.DeploymentsInfo[0].DeploymentId) == id && o.DeploymentsInfo[0].Revision.AppSpecContent.Sha256 != nil, err
		}},
		{"codedeploy:ListDeploymentTargets+GetDeploymentTarget", func() (bool, error) {
			l, err := e.cd.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
			if err != nil || len(l.TargetIds) != 1 || l.TargetIds[0] != "prod:web" {
				return false, err
			}
			o, err := e.cd.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{DeploymentId: aws.String(id), TargetId: aws.String("prod:web")})
			return err == nil && o.DeploymentTarget.EcsTarget != nil && len(o.DeploymentTarget.EcsTarget.LifecycleEvents) == 8, err
		}},
		{"ecr:DescribeRepositories+DeleteRepository", func() (bool, error) {
			o, err := e.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
			if err != nil || len(o.Repositories) != 1 || aws.ToString(o.Repositories[0].RepositoryUri) == "" {
				return false, err
			}
			_, err = e.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("web")})
			return err == nil, err
		}},
		{"ecr:GetAuthorizationToken", func() (bool, error) {
			o, err := e.ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			return err == nil && o.AuthorizationData[0].ExpiresAt != nil && aws.ToString(o.AuthorizationData[0].ProxyEndpoint) != "", err
		}},
		{"sts:GetCallerIdentity", func() (bool, error) {
			o, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err == nil && aws.ToString(o.Account) == "123456789012", err
		}},
		{"sts:AssumeRole", func() (bool, error) {
			o, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("local")})
			return err == nil && o.Credentials.Expiration != nil && aws.ToString(o.AssumedRoleUser.Arn) != "", err
		}},
		{"sts:AssumeRoleWithWebIdentity", func() (bool, error) {
			token := jwt(map[string]any{"sub": "project_path:g/web:ref_type:branch:ref:main"})
			o, err := stsc.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/deploy"), RoleSessionName: aws.String("gitlab-1"), WebIdentityToken: aws.String(token)})
			calls := e.sim.World().WebIdentityCalls()
			return err == nil && o.Credentials.Expiration != nil && len(calls) == 1 && calls[0].Token == token, err
		}},
	}
	for _, c := range checks {
		ok, err := c.run()
		if err != nil {
			t.Errorf("%s: %v", c.op, err)
		} else if !ok {
			t.Errorf("%s: the answer parsed but is not populated as expected", c.op)
		}
	}
}
