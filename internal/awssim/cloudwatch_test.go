package awssim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

func (e *env) cloudWatch(t *testing.T) *cloudwatch.Client {
	t.Helper()
	// The sim_test env exposes only the base URL through the other clients'
	// options; build CloudWatch the same way.
	return cloudwatch.NewFromConfig(aws.Config{
		Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: e.ecs.Options().BaseEndpoint, RetryMaxAttempts: 1,
	})
}

// The Go SDK speaks Smithy RPC v2 CBOR to CloudWatch (aws-facts §1.4).
func TestCloudWatchOverCBOR(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	cw, ctx := e.cloudWatch(t), context.Background()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("HTTPCode_Target_5XX_Count"), Namespace: aws.String("AWS/ApplicationELB"),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(5),
		Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{"web-5xx"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.MetricAlarms) != 1 || out.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm || out.MetricAlarms[0].StateUpdatedTimestamp == nil {
		t.Errorf("DescribeAlarms = %+v", out.MetricAlarms)
	}
	var nf *cwtypes.ResourceNotFound
	_, err = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("nope"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("x")})
	if !errors.As(err, &nf) {
		t.Errorf("SetAlarmState(unknown) = %v, want *types.ResourceNotFound", err)
	}
}

func TestAlarmStopsDeployment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{Alarms: []string{"web-5xx"}, DeploymentConfig: "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"})
	cw, ctx := e.cloudWatch(t), context.Background()
	if _, err := cw.PutMetricAlarm(ctx, &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String("web-5xx"), MetricName: aws.String("m"), Namespace: aws.String("n"),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanThreshold, EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(1), Period: aws.Int32(60), Statistic: cwtypes.StatisticSum,
	}); err != nil {
		t.Fatal(err)
	}
	_, id := e.deploy(t, "registry.example/web:5", "")
	e.clk.Advance(2 * time.Minute) // into the linear shift
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String("web-5xx"), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx")}); err != nil {
		t.Fatal(err)
	}
	d := e.status(t, id)
	if d.Status != cdtypes.DeploymentStatusStopped || d.ErrorInformation.Code != cdtypes.ErrorCodeAlarmActive || d.RollbackInfo == nil {
		t.Fatalf("deployment = %s %+v, want Stopped ALARM_ACTIVE with rollback", d.Status, d.ErrorInformation)
	}
	e.clk.Advance(10 * time.Second)
	if w := e.prodWeights(t); w[e.world.BlueTargetGroupARN] == 0 {
		t.Errorf("production weights after the alarm rollback = %v, want all on blue", w)
	}
}
