package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// routeAPI reads listeners and load balancers.
type routeAPI interface {
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, optFns ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, optFns ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
}

// environmentURLs returns the dotenv entries for the production and test
// URLs: the settings' values, or addresses worked out from the routes (one
// DescribeListeners and one DescribeLoadBalancers for both). A route that
// cannot be read leaves its URL out; it never fails a deploy.
func environmentURLs(ctx context.Context, log *slog.Logger, api routeAPI, checks *config.Checks, prodRoute, testRoute string) map[string]string {
	out := map[string]string{}
	var prodSet, testSet config.URL
	if c := checks; c != nil {
		prodSet, testSet = c.ProdURL, c.TestURL
	}
	wanted := map[string]string{} // dotenv key -> listener ARN
	for _, u := range []struct {
		key, route string
		set        config.URL
	}{{EnvProdURL, prodRoute, prodSet}, {EnvTestURL, testRoute, testSet}} {
		switch {
		case !u.set.IsZero():
			out[u.key] = u.set.String()
		case u.route != "":
			wanted[u.key] = listenerOf(u.route)
		}
	}
	if len(wanted) == 0 {
		return out
	}
	urls, err := listenerURLs(ctx, api, slices.Sorted(maps.Values(wanted)))
	if err != nil {
		log.Debug("no URL for the environments", "error", err.Error())
	}
	for key, listener := range wanted {
		if u, ok := urls[listener]; ok {
			out[key] = u
		}
	}
	return out
}

// listenerURLs are the addresses listeners answer on: their load balancer's
// DNS name, with the port unless it is the protocol's default.
func listenerURLs(ctx context.Context, api routeAPI, listeners []string) (map[string]string, error) {
	listeners = slices.Compact(listeners)
	ls, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: listeners})
	if err != nil {
		return nil, fmt.Errorf("reading listeners %s: %w", strings.Join(listeners, ", "), err)
	}
	var lbARNs []string
	for _, l := range ls.Listeners {
		if !slices.Contains(lbARNs, aws.ToString(l.LoadBalancerArn)) {
			lbARNs = append(lbARNs, aws.ToString(l.LoadBalancerArn))
		}
	}
	if len(lbARNs) == 0 {
		return nil, fmt.Errorf("listeners %s not found", strings.Join(listeners, ", "))
	}
	lbs, err := api.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: lbARNs})
	if err != nil {
		return nil, fmt.Errorf("reading load balancers %s: %w", strings.Join(lbARNs, ", "), err)
	}
	dns := map[string]string{}
	for _, lb := range lbs.LoadBalancers {
		dns[aws.ToString(lb.LoadBalancerArn)] = aws.ToString(lb.DNSName)
	}
	out := map[string]string{}
	for _, l := range ls.Listeners {
		host, ok := dns[aws.ToString(l.LoadBalancerArn)]
		if !ok {
			continue
		}
		scheme := strings.ToLower(string(l.Protocol))
		if scheme != "https" {
			scheme = "http"
		}
		defaultPort := map[string]int32{"http": 80, "https": 443}[scheme]
		if port := aws.ToInt32(l.Port); port != defaultPort {
			host = fmt.Sprintf("%s:%d", host, port)
		}
		out[aws.ToString(l.ListenerArn)] = scheme + "://" + host + "/"
	}
	return out, nil
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
