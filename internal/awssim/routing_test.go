package awssim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/seed"
)

// send makes one request to the data plane and returns the status, the
// target group that answered and the Location of a redirect.
func send(t *testing.T, url string, header http.Header) (status int, targetGroup, location string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			if k == "Host" {
				req.Host = v
				continue
			}
			req.Header.Add(k, v)
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	tg := ""
	if resp.Header.Get("Content-Type") == "application/json" {
		var a struct {
			TargetGroup string `json:"targetGroup"`
		}
		_ = json.Unmarshal(body, &a)
		tg = a.TargetGroup
	} else {
		tg = "fixed:" + string(body)
	}
	return resp.StatusCode, tg, resp.Header.Get("Location")
}

// TestDataPlaneRoutesByListenerRules: a production listener whose default
// action answers 404 and whose rule forwards to blue (the listener model's
// rule-routed production route), plus rules of higher priority with each
// kind of condition, routed as an ALB routes them.
func TestDataPlaneRoutesByListenerRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seed.Options{})
	ctx := context.Background()
	sw, err := seed.CreateTwoServices(ctx, seed.Clients{ECS: e.ecs, ELB: e.elb, CodeDeploy: e.cd, ECR: e.ecr}, seed.TwoServicesOptions{
		Options: seed.Options{Cluster: e.world.Cluster, Service: "shop", Container: "shop"}, ProdRule: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	forward := func(tg string) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
	}
	blue, green := sw.BlueTargetGroupARN, sw.GreenTargetGroupARN
	rules := []struct {
		prio       int32
		conditions []elbtypes.RuleCondition
		actions    []elbtypes.Action
	}{
		{1, []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"*.GREEN.example"}}}}, forward(green)},
		{2, []elbtypes.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Colour"), Values: []string{"gr?en"}}}}, forward(green)},
		{3, []elbtypes.RuleCondition{{Field: aws.String("query-string"), QueryStringConfig: &elbtypes.QueryStringConditionConfig{Values: []elbtypes.QueryStringKeyValuePair{{Key: aws.String("colour"), Value: aws.String("green")}}}}}, forward(green)},
		// Both conditions must match: /api/ alone, or the header alone, is not enough.
		{4, []elbtypes.RuleCondition{
			{Field: aws.String("path-pattern"), Values: []string{"/api/*"}},
			{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String("X-Beta"), Values: []string{"1"}}},
		}, forward(green)},
		{
			5,
			[]elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/old/*"}}}},
			[]elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{Path: aws.String("/new/#{path}"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}},
		},
		{
			6,
			[]elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/maintenance"}}},
			[]elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down for maintenance")}}},
		},
	}
	for _, r := range rules {
		if _, err := e.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(sw.ProdListenerARN), Priority: aws.Int32(r.prio), Conditions: r.conditions, Actions: r.actions}); err != nil {
			t.Fatalf("CreateRule %d: %v", r.prio, err)
		}
	}
	dp := e.sim.DataPlane()
	t.Cleanup(dp.Close)
	addr, err := dp.Bind(ctx, sw.ProdListenerARN, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	for _, c := range []struct {
		name, path           string
		header               http.Header
		wantStatus           int
		wantTG, wantLocation string
	}{
		{name: "no_rule_of_higher_priority_matches_so_the_catch_all_rule_forwards_to_blue", path: "/", wantStatus: 200, wantTG: "shop-blue"},
		{name: "host_header_without_case_and_port", path: "/", header: http.Header{"Host": {"www.green.example:80"}}, wantStatus: 200, wantTG: "shop-green"},
		{name: "host_header_wildcard_needs_a_subdomain", path: "/", header: http.Header{"Host": {"green.example"}}, wantStatus: 200, wantTG: "shop-blue"},
		{name: "http_header_single_character_wildcard", path: "/", header: http.Header{"X-Colour": {"GREEN"}}, wantStatus: 200, wantTG: "shop-green"},
		{name: "http_header_other_value", path: "/", header: http.Header{"X-Colour": {"blue"}}, wantStatus: 200, wantTG: "shop-blue"},
		{name: "query_string_pair", path: "/?a=1&colour=Green", wantStatus: 200, wantTG: "shop-green"},
		{name: "query_string_other_key", path: "/?color=green", wantStatus: 200, wantTG: "shop-blue"},
		{name: "path_and_header_both_match", path: "/api/orders", header: http.Header{"X-Beta": {"1"}}, wantStatus: 200, wantTG: "shop-green"},
		{name: "path_without_header", path: "/api/orders", wantStatus: 200, wantTG: "shop-blue"},
		{name: "path_pattern_is_case_sensitive", path: "/API/orders", header: http.Header{"X-Beta": {"1"}}, wantStatus: 200, wantTG: "shop-blue"},
		{name: "redirect_keeps_the_path", path: "/old/page?x=1", header: http.Header{"Host": {"shop.example"}}, wantStatus: 301, wantTG: "fixed:", wantLocation: "http://shop.example:80/new/old/page?x=1"},
		{name: "fixed_response", path: "/maintenance", wantStatus: 503, wantTG: "fixed:down for maintenance"},
	} {
		status, tg, loc := send(t, base+c.path, c.header)
		if status != c.wantStatus || tg != c.wantTG || loc != c.wantLocation {
			t.Errorf("%s: got %d %q %q, want %d %q %q", c.name, status, tg, loc, c.wantStatus, c.wantTG, c.wantLocation)
		}
	}

	// The catch-all rule carries a weighted forward: traffic follows it,
	// and with the rule gone the default action (404) answers.
	if _, err := e.elb.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(sw.ProdRuleARN), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(blue), Weight: aws.Int32(80)}, {TargetGroupArn: aws.String(green), Weight: aws.Int32(20)}},
	}}}}); err != nil {
		t.Fatal(err)
	}
	greens := 0
	for range 100 {
		if _, tg, _ := send(t, base+"/", nil); tg == "shop-green" {
			greens++
		}
	}
	if greens != 20 {
		t.Errorf("%d of 100 requests reached green at 80/20 on the rule, want 20", greens)
	}
	if _, err := e.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(sw.ProdRuleARN)}); err != nil {
		t.Fatal(err)
	}
	if status, tg, _ := send(t, base+"/", nil); status != 404 || tg != "fixed:no route" {
		t.Errorf("without the rule: %d %q, want the default action's 404", status, tg)
	}
}
