package snapshot

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
)

func TestForwardWeights(t *testing.T) {
	t.Parallel()
	fwd := func(tgs ...elbtypes.TargetGroupTuple) elbtypes.Action {
		return elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}
	}
	tg := func(arn string, w int32) elbtypes.TargetGroupTuple {
		return elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(w)}
	}
	tests := []struct {
		name    string
		actions []elbtypes.Action
		want    map[string]float64
	}{
		{name: "single_arn", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("a")}}, want: map[string]float64{"a": 100}},
		{name: "echoed_both_forms_prefers_forward_config", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("a"), ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{tg("a", 1)}}}}, want: map[string]float64{"a": 100}},
		{name: "canary_weights", actions: []elbtypes.Action{fwd(tg("a", 90), tg("b", 10))}, want: map[string]float64{"a": 90, "b": 10}},
		{name: "weights_are_relative", actions: []elbtypes.Action{fwd(tg("a", 999), tg("b", 333))}, want: map[string]float64{"a": 75, "b": 25}},
		{name: "all_zero", actions: []elbtypes.Action{fwd(tg("a", 0), tg("b", 0))}, want: map[string]float64{}},
		{name: "fixed_response_only", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}, want: map[string]float64{}},
		{name: "authenticate_then_forward", actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumAuthenticateOidc}, fwd(tg("a", 0), tg("b", 1))}, want: map[string]float64{"a": 0, "b": 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ForwardWeights(tt.actions)); diff != "" {
				t.Errorf("ForwardWeights() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLive(t *testing.T) {
	t.Parallel()
	s := &Snapshot{Colours: []ColourState{{Colour: Blue, ProductionWeight: 90}, {Colour: Green, ProductionWeight: 10}}}
	if got := live(s); got != "" {
		t.Errorf("live() during a canary = %q, want none", got)
	}
	s.Colours[0].ProductionWeight, s.Colours[1].ProductionWeight = 0, 100
	if got := live(s); got != Green {
		t.Errorf("live() = %q, want green", got)
	}
	if Blue.Other() != Green || Green.Other() != Blue {
		t.Error("Other() does not swap colours")
	}
}
