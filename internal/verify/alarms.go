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

// Alarm is one alarm as CloudWatch reports it.
type Alarm struct {
	Name   string
	State  cwtypes.StateValue
	Reason string
}

// ReadAlarms reads the named metric and composite alarms in one call
// (DescribeAlarms takes 100 names; a deployment group has at most 10). A
// name CloudWatch does not know is absent from the result.
func ReadAlarms(ctx context.Context, cw cloudWatchAPI, names []string) (map[string]Alarm, error) {
	out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		return nil, fmt.Errorf("reading alarms %s: %w", strings.Join(names, ", "), err)
	}
	found := map[string]Alarm{}
	for _, a := range out.MetricAlarms {
		found[aws.ToString(a.AlarmName)] = Alarm{Name: aws.ToString(a.AlarmName), State: a.StateValue, Reason: aws.ToString(a.StateReason)}
	}
	for _, a := range out.CompositeAlarms {
		found[aws.ToString(a.AlarmName)] = Alarm{Name: aws.ToString(a.AlarmName), State: a.StateValue, Reason: aws.ToString(a.StateReason)}
	}
	return found, nil
}

// Firing returns the alarms in ALARM, sorted by name.
func Firing(alarms map[string]Alarm) []Alarm {
	var out []Alarm
	for _, a := range alarms {
		if a.State == cwtypes.StateValueAlarm {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
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
	found, err := ReadAlarms(ctx, cw, names)
	if err != nil {
		r.Message = err.Error()
		return r
	}
	var firing, missing []string
	for _, a := range Firing(found) {
		firing = append(firing, a.Name)
	}
	for _, n := range names {
		if _, ok := found[n]; !ok {
			missing = append(missing, n)
		}
	}
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
