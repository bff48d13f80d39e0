package deploy

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeRoutes answers one listener and one rule, and records the rewrites.
type fakeRoutes struct {
	listenerELB
	actions  []elbtypes.Action
	modified *elb.ModifyListenerInput
	rule     *elb.ModifyRuleInput
}

func (f *fakeRoutes) DescribeListeners(context.Context, *elb.DescribeListenersInput, ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{{DefaultActions: f.actions}}}, nil
}

func (f *fakeRoutes) DescribeRules(context.Context, *elb.DescribeRulesInput, ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{Actions: f.actions}}}, nil
}

func (f *fakeRoutes) ModifyListener(_ context.Context, in *elb.ModifyListenerInput, _ ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	f.modified = in
	return &elb.ModifyListenerOutput{}, nil
}

func (f *fakeRoutes) ModifyRule(_ context.Context, in *elb.ModifyRuleInput, _ ...func(*elb.Options)) (*elb.ModifyRuleOutput, error) {
	f.rule = in
	return &elb.ModifyRuleOutput{}, nil
}

// TestSetWeightsKeepsTheRest: a step rewrites only the forward action's
// weights; authentication before it, its order and stickiness stay.
func TestSetWeightsKeepsTheRest(t *testing.T) {
	t.Parallel()
	auth := elbtypes.Action{Type: elbtypes.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1), AuthenticateOidcConfig: &elbtypes.AuthenticateOidcActionConfig{Issuer: aws.String("https://idp.example.com")}}
	sticky := &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(300)}
	f := &fakeRoutes{actions: []elbtypes.Action{auth, {
		Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(2),
		ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroupStickinessConfig: sticky, TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("blue"), Weight: aws.Int32(1)}}},
	}}}
	l := &Listener{ELB: f}
	const listener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/1/2"
	if err := l.setWeights(context.Background(), listener, "green", "blue", 10); err != nil {
		t.Fatal(err)
	}
	want := []elbtypes.Action{auth, {
		Type: elbtypes.ActionTypeEnumForward, Order: aws.Int32(2),
		ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroupStickinessConfig: sticky, TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String("green"), Weight: aws.Int32(10)}, {TargetGroupArn: aws.String("blue"), Weight: aws.Int32(90)},
		}},
	}}
	if f.modified == nil || aws.ToString(f.modified.ListenerArn) != listener {
		t.Fatalf("ModifyListener called with %+v", f.modified)
	}
	if d := cmp.Diff(want, f.modified.DefaultActions, cmpopts.IgnoreUnexported(elbtypes.Action{}, elbtypes.ForwardActionConfig{}, elbtypes.TargetGroupTuple{}, elbtypes.TargetGroupStickinessConfig{}, elbtypes.AuthenticateOidcActionConfig{})); d != "" {
		t.Errorf("rewritten actions (-want +got):\n%s", d)
	}
	// A rule is rewritten with ModifyRule.
	const rule = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/1/2/3"
	if err := l.setWeights(context.Background(), rule, "green", "blue", 100); err != nil || f.rule == nil || aws.ToString(f.rule.RuleArn) != rule {
		t.Errorf("rule rewrite: %v, %+v", err, f.rule)
	}
	// A route with no forward action is not ours to move.
	f.actions = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	if err := l.setWeights(context.Background(), listener, "green", "blue", 50); err == nil {
		t.Error("a route without a forward action was rewritten")
	}
}
