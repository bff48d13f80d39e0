package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// URLs left in deploy.env, for environment URLs and people: BG_PROD_URL and
// BG_TEST_URL when set, else the load balancer's address for the production
// and test listeners. They are not BG_ settings, so a later job never
// smoke-checks a URL nobody asked it to.
const (
	envProdURL = "ECS_BLUEGREEN_PROD_URL"
	envTestURL = "ECS_BLUEGREEN_TEST_URL"
)

// routeAPI reads listeners and load balancers.
type routeAPI interface {
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, optFns ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
}

// environmentURLs returns the dotenv entries for the production and test
// URLs: the settings' values, or addresses worked out from the routes. A
// route that cannot be read leaves its URL out; it never fails a deploy.
func (inv *invocation) environmentURLs(ctx context.Context, api routeAPI, prodRoute, testRoute string) map[string]string {
	out := map[string]string{}
	var prodSet, testSet config.URL
	if c, ok := inv.settings["checks"].(*config.Checks); ok {
		prodSet, testSet = c.ProdURL, c.TestURL
	}
	for _, u := range []struct {
		key, route string
		set        config.URL
	}{{envProdURL, prodRoute, prodSet}, {envTestURL, testRoute, testSet}} {
		switch {
		case !u.set.IsZero():
			out[u.key] = u.set.String()
		case u.route != "":
			if v, err := listenerURL(ctx, api, u.route); err == nil {
				out[u.key] = v
			} else {
				inv.log.Debug("no URL for the environment", "route", u.route, "error", err.Error())
			}
		}
	}
	return out
}

// listenerURL is the address a listener (or a listener rule's listener)
// answers on: its load balancer's DNS name, with the port unless it is the
// protocol's default.
func listenerURL(ctx context.Context, api routeAPI, route string) (string, error) {
	listener := listenerOf(route)
	ls, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil || len(ls.Listeners) == 0 {
		return "", fmt.Errorf("reading listener %s: %w", listener, err)
	}
	l := ls.Listeners[0]
	lbs, err := api.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{aws.ToString(l.LoadBalancerArn)}})
	if err != nil || len(lbs.LoadBalancers) == 0 {
		return "", fmt.Errorf("reading load balancer %s: %w", aws.ToString(l.LoadBalancerArn), err)
	}
	scheme := strings.ToLower(string(l.Protocol))
	if scheme != "https" {
		scheme = "http"
	}
	host := aws.ToString(lbs.LoadBalancers[0].DNSName)
	defaultPort := map[string]int32{"http": 80, "https": 443}[scheme]
	if port := aws.ToInt32(l.Port); port != defaultPort {
		host = fmt.Sprintf("%s:%d", host, port)
	}
	return scheme + "://" + host + "/", nil
}

// listenerOf turns a listener rule ARN into its listener's ARN
// (…:listener-rule/app/<lb>/<id>/<listener>/<rule> → …:listener/app/<lb>/<id>/<listener>).
func listenerOf(route string) string {
	i := strings.Index(route, ":listener-rule/")
	if i < 0 {
		return route
	}
	rest := route[i+len(":listener-rule/"):]
	if j := strings.LastIndex(rest, "/"); j >= 0 {
		rest = rest[:j]
	}
	return route[:i] + ":listener/" + rest
}
