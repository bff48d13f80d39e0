package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

type cloudWatchAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// CheckAlarms checks that the alarms that guard deployments (the CodeDeploy
// group's, or BG_ALARMS in the listener model) exist and are not in ALARM.
// An alarm that does not exist fails the check: CodeDeploy would fail a
// deployment on it (unless told to ignore poll failures).
func CheckAlarms(ctx context.Context, cw cloudWatchAPI, names []string) CheckResult {
	r := CheckResult{Name: "alarms are OK"}
	if len(names) == 0 {
		r.Skipped, r.Message = true, "no alarms to watch (none on the deployment group, BG_ALARMS unset)"
		return r
	}
	found := map[string]cwtypes.StateValue{}
	// DescribeAlarms takes at most 100 names per call; a group has at most 10.
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		r.Message = "reading alarms: " + err.Error()
		return r
	}
	for _, a := range out.MetricAlarms {
		found[aws.ToString(a.AlarmName)] = a.StateValue
	}
	for _, a := range out.CompositeAlarms {
		found[aws.ToString(a.AlarmName)] = a.StateValue
	}
	var firing, missing []string
	for _, n := range names {
		state, ok := found[n]
		switch {
		case !ok:
			missing = append(missing, n)
		case state == cwtypes.StateValueAlarm:
			firing = append(firing, n)
		}
	}
	sort.Strings(firing)
	sort.Strings(missing)
	var problems []string
	if len(firing) > 0 {
		problems = append(problems, "in ALARM: "+strings.Join(firing, ", "))
	}
	if len(missing) > 0 {
		problems = append(problems, "missing: "+strings.Join(missing, ", "))
	}
	if len(problems) > 0 {
		r.Message = strings.Join(problems, "; ")
		return r
	}
	r.Passed, r.Message = true, fmt.Sprintf("%d alarms OK or without data", len(names))
	return r
}
