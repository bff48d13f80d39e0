package awssim

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ELBv2 operations that change or remove resources and read their
// attributes, beyond the core of elbv2.go.
var elbAdminOps = map[string]func(*World, formT) (any, error){
	"DescribeLoadBalancerAttributes": (*World).describeLBAttributes,
	"ModifyLoadBalancerAttributes":   (*World).modifyLBAttributes,
	"DescribeListenerAttributes":     (*World).describeListenerAttributes,
	"ModifyListenerAttributes":       (*World).modifyListenerAttributes,
	"ModifyTargetGroup":              (*World).modifyTargetGroup,
	"SetRulePriorities":              (*World).setRulePriorities,
	"DeleteRule":                     (*World).deleteRule,
	"DeleteListener":                 (*World).deleteListener,
	"DeleteTargetGroup":              (*World).deleteTargetGroup,
	"DeleteLoadBalancer":             (*World).deleteLoadBalancer,
}

// elbAdminOp answers the operations of elbAdminOps; ok is false for others.
func (w *World) elbAdminOp(op string, f formT) (out any, err error, ok bool) {
	fn := elbAdminOps[op]
	if fn == nil {
		return nil, nil, false
	}
	out, err = fn(w, f)
	return out, err, true
}

// Attribute defaults of an Application Load Balancer and its HTTP listeners,
// as DescribeLoadBalancerAttributes and DescribeListenerAttributes list them
// (botocore elbv2 LoadBalancerAttribute, ListenerAttribute).
var (
	albAttributeDefaults = map[string]string{
		"deletion_protection.enabled":                              "false",
		"load_balancing.cross_zone.enabled":                        "true",
		"access_logs.s3.enabled":                                   "false",
		"access_logs.s3.bucket":                                    "",
		"access_logs.s3.prefix":                                    "",
		"connection_logs.s3.enabled":                               "false",
		"connection_logs.s3.bucket":                                "",
		"connection_logs.s3.prefix":                                "",
		"health_check_logs.s3.enabled":                             "false",
		"health_check_logs.s3.bucket":                              "",
		"health_check_logs.s3.prefix":                              "",
		"idle_timeout.timeout_seconds":                             "60",
		"client_keep_alive.seconds":                                "3600",
		"routing.http.desync_mitigation_mode":                      "defensive",
		"routing.http.drop_invalid_header_fields.enabled":          "false",
		"routing.http.preserve_host_header.enabled":                "false",
		"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
		"routing.http.xff_client_port.enabled":                     "false",
		"routing.http.xff_header_processing.mode":                  "append",
		"routing.http2.enabled":                                    "true",
		"waf.fail_open.enabled":                                    "false",
		"zonal_shift.config.enabled":                               "false",
		"secondary_ips.auto_assigned.per_subnet":                   "0",
	}
	httpListenerAttributeDefaults = map[string]string{
		"routing.http.response.server.enabled":                                "true",
		"routing.http.response.strict_transport_security.header_value":        "",
		"routing.http.response.access_control_allow_origin.header_value":      "",
		"routing.http.response.access_control_allow_methods.header_value":     "",
		"routing.http.response.access_control_allow_headers.header_value":     "",
		"routing.http.response.access_control_allow_credentials.header_value": "",
		"routing.http.response.access_control_expose_headers.header_value":    "",
		"routing.http.response.access_control_max_age.header_value":           "",
		"routing.http.response.content_security_policy.header_value":          "",
		"routing.http.response.x_content_type_options.header_value":           "",
		"routing.http.response.x_frame_options.header_value":                  "",
	}
)

// xmlAttribute (targethealth.go) is the Key/Value shape of every ELBv2
// attribute list.

type attributesResult struct {
	Attributes []xmlAttribute `xml:"Attributes>member"`
}

// attributesOut lists defaults overlaid with what was set, sorted by key.
func attributesOut(defaults, set map[string]string) attributesResult {
	merged := map[string]string{}
	for k, v := range defaults {
		merged[k] = v
	}
	for k, v := range set {
		merged[k] = v
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := attributesResult{Attributes: []xmlAttribute{}}
	for _, k := range keys {
		out.Attributes = append(out.Attributes, xmlAttribute{Key: k, Value: merged[k]})
	}
	return out
}

// readAttributes reads Attributes.member.N and checks each key against the
// known ones and each value against its kind.
func readAttributes(f formT, known map[string]string, what string) (map[string]string, error) {
	items := f.List("Attributes")
	if len(items) == 0 {
		return nil, elbErr("ValidationError", "At least one attribute must be specified")
	}
	out := map[string]string{}
	for _, a := range items {
		k, v := a.String("Key"), a.String("Value")
		def, ok := known[k]
		if !ok {
			return nil, elbErr("ValidationError", "%s attribute key '%s' is not recognized", what, k)
		}
		if err := checkAttributeValue(k, v, def); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func checkAttributeValue(key, value, def string) error {
	switch {
	case def == "true" || def == "false" || strings.HasSuffix(key, ".enabled"):
		if value != "true" && value != "false" {
			return elbErr("InvalidConfigurationRequest", "The value of '%s' must be 'true' or 'false'", key)
		}
	case key == "idle_timeout.timeout_seconds":
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 4000 {
			return elbErr("InvalidConfigurationRequest", "The value of '%s' must be between 1 and 4000", key)
		}
	case key == "client_keep_alive.seconds":
		if n, err := strconv.Atoi(value); err != nil || n < 60 || n > 604800 {
			return elbErr("InvalidConfigurationRequest", "The value of '%s' must be between 60 and 604800", key)
		}
	case key == "routing.http.desync_mitigation_mode":
		if value != "monitor" && value != "defensive" && value != "strictest" {
			return elbErr("InvalidConfigurationRequest", "The value of '%s' must be one of monitor, defensive, strictest", key)
		}
	case key == "routing.http.xff_header_processing.mode":
		if value != "append" && value != "preserve" && value != "remove" {
			return elbErr("InvalidConfigurationRequest", "The value of '%s' must be one of append, preserve, remove", key)
		}
	}
	return nil
}

func (w *World) describeLBAttributes(f formT) (any, error) {
	arn := f.String("LoadBalancerArn")
	if w.loadBalancers[arn] == nil {
		return nil, elbErr("LoadBalancerNotFound", "Load balancer '%s' not found", arn)
	}
	return attributesOut(albAttributeDefaults, w.ext.lbAttrs[arn]), nil
}

func (w *World) modifyLBAttributes(f formT) (any, error) {
	arn := f.String("LoadBalancerArn")
	if w.loadBalancers[arn] == nil {
		return nil, elbErr("LoadBalancerNotFound", "Load balancer '%s' not found", arn)
	}
	set, err := readAttributes(f, albAttributeDefaults, "Load balancer")
	if err != nil {
		return nil, err
	}
	attrs := lazyMap(&w.ext.lbAttrs)
	if attrs[arn] == nil {
		attrs[arn] = map[string]string{}
	}
	for k, v := range set {
		attrs[arn][k] = v
	}
	// AWS answers with the attributes as they are now, all of them.
	return attributesOut(albAttributeDefaults, attrs[arn]), nil
}

func (w *World) describeListenerAttributes(f formT) (any, error) {
	arn := f.String("ListenerArn")
	if w.listeners[arn] == nil {
		return nil, elbErr("ListenerNotFound", "Listener '%s' not found", arn)
	}
	return attributesOut(httpListenerAttributeDefaults, w.ext.listenerAttrs[arn]), nil
}

func (w *World) modifyListenerAttributes(f formT) (any, error) {
	arn := f.String("ListenerArn")
	if w.listeners[arn] == nil {
		return nil, elbErr("ListenerNotFound", "Listener '%s' not found", arn)
	}
	set, err := readAttributes(f, httpListenerAttributeDefaults, "Listener")
	if err != nil {
		return nil, err
	}
	attrs := lazyMap(&w.ext.listenerAttrs)
	if attrs[arn] == nil {
		attrs[arn] = map[string]string{}
	}
	for k, v := range set {
		attrs[arn][k] = v
	}
	return attributesOut(httpListenerAttributeDefaults, attrs[arn]), nil
}

// listenerAttribute is a listener's attribute now (the data plane reads
// routing.http.response.server.enabled).
func (w *World) listenerAttribute(arn, key string) string {
	if v, ok := w.ext.listenerAttrs[arn][key]; ok {
		return v
	}
	return httpListenerAttributeDefaults[key]
}

// tgHealthCheck is what ModifyTargetGroup changes that the core target
// group does not keep.
type tgHealthCheck struct {
	protocol, port string
	enabled        bool
	timeout        int
	matcher        string
}

func (w *World) tgHealthOf(tg *targetGroup) *tgHealthCheck {
	if h := w.ext.tgHealth[tg.ARN]; h != nil {
		return h
	}
	return &tgHealthCheck{protocol: tg.Protocol, port: "traffic-port", enabled: true, timeout: 5, matcher: "200"}
}

// tgHealthOut puts the health check settings ModifyTargetGroup changed into
// a target group's description.
func (w *World) tgHealthOut(tg *targetGroup, x *xmlTG) {
	h := w.tgHealthOf(tg)
	x.HealthCheckProtocol, x.HealthCheckPort, x.HealthCheckEnabled, x.HealthCheckTimeoutSeconds = h.protocol, h.port, h.enabled, h.timeout
	x.Matcher.HTTPCode = h.matcher
}

var matcherPattern = regexp.MustCompile(`^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$`)

func (w *World) modifyTargetGroup(f formT) (any, error) {
	tg := w.targetGroups[f.String("TargetGroupArn")]
	if tg == nil {
		return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", f.String("TargetGroupArn"))
	}
	h := *w.tgHealthOf(tg)
	interval, healthy, unhealthy := tg.Interval, tg.Healthy, tg.Unhealthy
	if v := f.String("HealthCheckProtocol"); v != "" {
		if v != "HTTP" && v != "HTTPS" {
			return nil, elbErr("ValidationError", "Health check protocol '%s' must be HTTP or HTTPS for an Application Load Balancer target group", v)
		}
		h.protocol = v
	}
	if v := f.String("HealthCheckPort"); v != "" {
		if n, err := strconv.Atoi(v); v != "traffic-port" && (err != nil || n < 1 || n > 65535) {
			return nil, elbErr("ValidationError", "Health check port '%s' must be 'traffic-port' or 1 to 65535", v)
		}
		h.port = v
	}
	if b, ok := f.Bool("HealthCheckEnabled"); ok {
		h.enabled = b
	}
	if v := f.String("HealthCheckPath"); v != "" {
		if !strings.HasPrefix(v, "/") || len(v) > 1024 {
			return nil, elbErr("ValidationError", "Health check path must begin with '/' and be at most 1024 characters")
		}
	}
	if n, ok := f.Int("HealthCheckIntervalSeconds"); ok {
		if n < 5 || n > 300 {
			return nil, elbErr("ValidationError", "Health check interval must be between 5 and 300 seconds")
		}
		interval = int(n)
	}
	if n, ok := f.Int("HealthCheckTimeoutSeconds"); ok {
		if n < 2 || n > 120 {
			return nil, elbErr("ValidationError", "Health check timeout must be between 2 and 120 seconds")
		}
		h.timeout = int(n)
	}
	if n, ok := f.Int("HealthyThresholdCount"); ok {
		if n < 2 || n > 10 {
			return nil, elbErr("ValidationError", "Healthy threshold count must be between 2 and 10")
		}
		healthy = int(n)
	}
	if n, ok := f.Int("UnhealthyThresholdCount"); ok {
		if n < 2 || n > 10 {
			return nil, elbErr("ValidationError", "Unhealthy threshold count must be between 2 and 10")
		}
		unhealthy = int(n)
	}
	if v := f.String("Matcher.HttpCode"); v != "" {
		if !matcherPattern.MatchString(v) {
			return nil, elbErr("ValidationError", "Health check matcher HTTP code '%s' must be codes between 200 and 499, as '200', '200,202' or '200-299'", v)
		}
		h.matcher = v
	}
	if h.timeout >= interval {
		return nil, elbErr("ValidationError", "Health check timeout '%d' must be smaller than the interval '%d'", h.timeout, interval)
	}
	if v := f.String("HealthCheckPath"); v != "" {
		tg.HealthPath = v
	}
	tg.Interval, tg.Healthy, tg.Unhealthy = interval, healthy, unhealthy
	lazyMap(&w.ext.tgHealth)[tg.ARN] = &h
	return tgResult{TargetGroups: []xmlTG{w.tgOut(tg)}}, nil
}

func (w *World) setRulePriorities(f formT) (any, error) {
	items := f.List("RulePriorities")
	if len(items) == 0 {
		return nil, elbErr("ValidationError", "At least one rule priority must be specified")
	}
	want := map[*rule]string{}
	for _, it := range items {
		arn := it.String("RuleArn")
		r := w.rules[arn]
		if r == nil {
			if strings.Contains(arn, "listener-rule/default/") {
				return nil, elbErr("OperationNotPermitted", "The default rule's priority cannot be changed")
			}
			return nil, elbErr("RuleNotFound", "One or more rules not found")
		}
		p, ok := it.Int("Priority")
		if !ok || p < 1 || p > 50000 {
			return nil, elbErr("ValidationError", "Priority must be between 1 and 50000")
		}
		want[r] = strconv.FormatInt(p, 10)
	}
	// Every priority is checked against the listener as it will be, so two
	// rules may swap priorities in one call.
	for r, p := range want {
		for _, other := range w.rules {
			if other == r || other.ListenerARN != r.ListenerARN {
				continue
			}
			op := other.Priority
			if np, moving := want[other]; moving {
				op = np
			}
			if op == p {
				return nil, elbErr("PriorityInUse", "Priority '%s' is currently in use", p)
			}
		}
	}
	var out []xmlRule
	for _, it := range items {
		r := w.rules[it.String("RuleArn")]
		r.Priority = want[r]
		out = append(out, ruleOut(r))
	}
	return rulesResult{Rules: out}, nil
}

func (w *World) deleteRule(f formT) (any, error) {
	arn := f.String("RuleArn")
	if w.rules[arn] == nil {
		if strings.Contains(arn, "listener-rule/default/") {
			return nil, elbErr("OperationNotPermitted", "The default rule cannot be deleted")
		}
		return nil, elbErr("RuleNotFound", "Rule '%s' not found", arn)
	}
	delete(w.rules, arn)
	delete(w.elbTags, arn)
	return struct{}{}, nil
}

func (w *World) dropListener(arn string) {
	for ra, r := range w.rules {
		if r.ListenerARN == arn {
			delete(w.rules, ra)
			delete(w.elbTags, ra)
		}
	}
	delete(w.listeners, arn)
	delete(w.elbTags, arn)
	delete(w.ext.listenerAttrs, arn)
}

func (w *World) deleteListener(f formT) (any, error) {
	arn := f.String("ListenerArn")
	if w.listeners[arn] == nil {
		return nil, elbErr("ListenerNotFound", "Listener '%s' not found", arn)
	}
	w.dropListener(arn)
	return struct{}{}, nil
}

// deleteTargetGroup refuses a target group an action still forwards to;
// one that does not exist is already deleted, as AWS answers.
func (w *World) deleteTargetGroup(f formT) (any, error) {
	arn := f.String("TargetGroupArn")
	tg := w.targetGroups[arn]
	if tg == nil {
		if arn == "" {
			return nil, elbErr("ValidationError", "TargetGroupArn is required")
		}
		return struct{}{}, nil
	}
	for _, l := range sortedByKey(w.listeners) {
		if w.listenerUses(l, arn) {
			return nil, (&wire.Error{Type: "ResourceInUseException", Message: "Target group '" + arn + "' is currently in use by a listener or a rule"}).WithCode("ResourceInUse")
		}
	}
	delete(w.targetGroups, arn)
	delete(w.elbTags, arn)
	delete(w.ext.tgHealth, arn)
	return struct{}{}, nil
}

// listenerUses tells whether a listener's default actions or any of its
// rules forward to the target group.
func (w *World) listenerUses(l *listener, tgARN string) bool {
	if l.uses(tgARN) {
		return true
	}
	for _, r := range w.rulesOf(l.ARN) {
		if (&listener{actions: r.actions}).uses(tgARN) {
			return true
		}
	}
	return false
}

// deleteLoadBalancer removes a load balancer with its listeners and rules,
// unless deletion protection is on; an unknown one is already deleted.
func (w *World) deleteLoadBalancer(f formT) (any, error) {
	arn := f.String("LoadBalancerArn")
	if w.loadBalancers[arn] == nil {
		if arn == "" {
			return nil, elbErr("ValidationError", "LoadBalancerArn is required")
		}
		return struct{}{}, nil
	}
	if w.ext.lbAttrs[arn]["deletion_protection.enabled"] == "true" {
		return nil, elbErr("OperationNotPermitted", "Load balancer '%s' cannot be deleted because deletion protection is enabled", arn)
	}
	for la, l := range w.listeners {
		if l.LBARN == arn {
			w.dropListener(la)
		}
	}
	delete(w.loadBalancers, arn)
	delete(w.elbTags, arn)
	delete(w.ext.lbAttrs, arn)
	return struct{}{}, nil
}
