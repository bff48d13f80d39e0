package awssim

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

type loadBalancer struct {
	ARN, Name, DNS, Type, Scheme string
	Subnets                      []string
	SecurityGroups               []string
	Created                      time.Time
}

type targetGroup struct {
	ARN, Name, Protocol, TargetType string
	VpcID                           string
	Port                            int
	HealthPath                      string
	Interval, Healthy, Unhealthy    int
	targets                         []*target
	world                           *World
	// attrs are the group's attributes (DescribeTargetGroupAttributes),
	// defaults filled in at creation.
	attrs map[string]string
	// inUse tells whether some listener or rule forwards to the group, and
	// usedSince since when: the load balancer health-checks a group's
	// targets only while it routes to it.
	inUse     bool
	usedSince time.Time
}

type target struct {
	id         string
	port       int
	registered time.Time
	taskDef    string // for health: tasks of an unhealthy task definition fail checks
	// deregistered is when DeregisterTargets (or ECS) took the target out:
	// it drains for the group's deregistration delay, then it is gone.
	deregistered time.Time
}

type listener struct {
	ARN, LBARN, Protocol string
	Port                 int
	actions              []action
}

type rule struct {
	ARN, ListenerARN, Priority string
	conditions                 []ruleCondition
	actions                    []action
}

type action struct {
	Type           string
	TargetGroupARN string
	Order          int
	Forward        []weighted // nil when the action has no ForwardConfig
	Stickiness     bool
	FixedStatus    string
	// FixedType and FixedBody complete a fixed-response; Redirect is a
	// redirect's config as sent.
	FixedType, FixedBody string
	Redirect             *xmlRedirect
}

type weighted struct {
	TargetGroupARN string
	Weight         int
}

// XML shapes of ELBv2 responses.
type (
	xmlLB struct {
		LoadBalancerArn  string `xml:"LoadBalancerArn"`
		LoadBalancerName string `xml:"LoadBalancerName"`
		DNSName          string `xml:"DNSName"`
		Scheme           string `xml:"Scheme"`
		Type             string `xml:"Type"`
		CreatedTime      string `xml:"CreatedTime"`
		State            struct {
			Code string `xml:"Code"`
		} `xml:"State"`
		IPAddressType         string   `xml:"IpAddressType"`
		VpcID                 string   `xml:"VpcId"`
		CanonicalHostedZoneID string   `xml:"CanonicalHostedZoneId"`
		SecurityGroups        []string `xml:"SecurityGroups>member"`
		AvailabilityZones     []xmlAZ  `xml:"AvailabilityZones>member"`
	}
	xmlAZ struct {
		ZoneName string `xml:"ZoneName"`
		SubnetID string `xml:"SubnetId"`
	}
	xmlTG struct {
		TargetGroupArn             string `xml:"TargetGroupArn"`
		TargetGroupName            string `xml:"TargetGroupName"`
		Protocol                   string `xml:"Protocol"`
		Port                       int    `xml:"Port"`
		VpcID                      string `xml:"VpcId"`
		TargetType                 string `xml:"TargetType"`
		HealthCheckProtocol        string `xml:"HealthCheckProtocol"`
		HealthCheckPath            string `xml:"HealthCheckPath"`
		HealthCheckPort            string `xml:"HealthCheckPort"`
		HealthCheckEnabled         bool   `xml:"HealthCheckEnabled"`
		HealthCheckIntervalSeconds int    `xml:"HealthCheckIntervalSeconds"`
		HealthyThresholdCount      int    `xml:"HealthyThresholdCount"`
		UnhealthyThresholdCount    int    `xml:"UnhealthyThresholdCount"`
		HealthCheckTimeoutSeconds  int    `xml:"HealthCheckTimeoutSeconds"`
		Matcher                    struct {
			HTTPCode string `xml:"HttpCode"`
		} `xml:"Matcher"`
		IPAddressType    string   `xml:"IpAddressType"`
		ProtocolVersion  string   `xml:"ProtocolVersion"`
		LoadBalancerArns []string `xml:"LoadBalancerArns>member"`
	}
	xmlTGTuple struct {
		TargetGroupArn string `xml:"TargetGroupArn"`
		Weight         int    `xml:"Weight"`
	}
	xmlForward struct {
		TargetGroups []xmlTGTuple `xml:"TargetGroups>member"`
		Stickiness   struct {
			Enabled bool `xml:"Enabled"`
		} `xml:"TargetGroupStickinessConfig"`
	}
	xmlAction struct {
		Type           string       `xml:"Type"`
		TargetGroupArn string       `xml:"TargetGroupArn,omitempty"`
		Order          int          `xml:"Order,omitempty"`
		ForwardConfig  *xmlForward  `xml:"ForwardConfig,omitempty"`
		Fixed          *xmlFixed    `xml:"FixedResponseConfig,omitempty"`
		Redirect       *xmlRedirect `xml:"RedirectConfig,omitempty"`
	}
	xmlListener struct {
		ListenerArn     string      `xml:"ListenerArn"`
		LoadBalancerArn string      `xml:"LoadBalancerArn"`
		Port            int         `xml:"Port"`
		Protocol        string      `xml:"Protocol"`
		DefaultActions  []xmlAction `xml:"DefaultActions>member"`
	}
	xmlRule struct {
		RuleArn    string         `xml:"RuleArn"`
		Priority   string         `xml:"Priority"`
		IsDefault  bool           `xml:"IsDefault"`
		Conditions []xmlCondition `xml:"Conditions>member"`
		Actions    []xmlAction    `xml:"Actions>member"`
	}
	xmlHealth struct {
		Target struct {
			ID   string `xml:"Id"`
			Port int    `xml:"Port"`
		} `xml:"Target"`
		HealthCheckPort string `xml:"HealthCheckPort"`
		TargetHealth    struct {
			State       string `xml:"State"`
			Reason      string `xml:"Reason,omitempty"`
			Description string `xml:"Description,omitempty"`
		} `xml:"TargetHealth"`
	}
	xmlTagDesc struct {
		ResourceArn string `xml:"ResourceArn"`
		Tags        []tag  `xml:"Tags>member"`
	}
)

func elbErr(code, format string, args ...any) error {
	e := wire.Errorf(code+"Exception", format, args...)
	if code == "ValidationError" {
		e.Type = "ValidationError"
	}
	return e.WithCode(code)
}

func (w *World) elbOp(op string, f formT) (any, error) {
	switch op {
	case "CreateLoadBalancer":
		return w.createLoadBalancer(f)
	case "DescribeLoadBalancers":
		return w.describeLoadBalancers(f)
	case "CreateTargetGroup":
		return w.createTargetGroup(f)
	case "DescribeTargetGroups":
		return w.describeTargetGroups(f)
	case "CreateListener":
		return w.createListener(f)
	case "DescribeListeners":
		return w.describeListeners(f)
	case "ModifyListener":
		return w.modifyListener(f)
	case "CreateRule":
		return w.createRule(f)
	case "DescribeRules":
		return w.describeRules(f)
	case "ModifyRule":
		return w.modifyRule(f)
	case "RegisterTargets":
		return w.registerTargets(f, true)
	case "DeregisterTargets":
		return w.registerTargets(f, false)
	case "DescribeTargetHealth":
		return w.describeTargetHealth(f)
	case "DescribeTargetGroupAttributes":
		return w.describeTargetGroupAttributes(f)
	case "ModifyTargetGroupAttributes":
		return w.modifyTargetGroupAttributes(f)
	case "AddTags":
		return w.addTags(f)
	case "RemoveTags":
		return w.removeTags(f)
	case "DescribeTags":
		return w.describeTags(f)
	}
	if out, err, ok := w.elbAdminOp(op, f); ok {
		return out, err
	}
	return nil, (&wire.Error{Type: "InvalidAction", Message: "the ELBv2 simulator does not implement " + op}).WithCode("InvalidAction")
}

func (w *World) createLoadBalancer(f formT) (any, error) {
	name := f.String("Name")
	if name == "" {
		return nil, elbErr("ValidationError", "Name is required")
	}
	for _, lb := range w.loadBalancers {
		if lb.Name == name {
			return lbResult{LoadBalancers: []xmlLB{lbOut(lb)}}, nil
		}
	}
	typ := f.String("Type")
	if typ == "" {
		typ = "application"
	}
	scheme := f.String("Scheme")
	if scheme == "" {
		scheme = "internet-facing"
	}
	id := hexID(16)
	lb := &loadBalancer{
		ARN: w.arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+id), Name: name, Type: typ, Scheme: scheme,
		DNS: name + "-" + id[:8] + "." + w.env.Region + ".elb.amazonaws.com", Created: w.now(),
		Subnets: f.Strings("Subnets"), SecurityGroups: f.Strings("SecurityGroups"),
	}
	w.loadBalancers[lb.ARN] = lb
	w.elbTags[lb.ARN] = tagsFromForm(f)
	return lbResult{LoadBalancers: []xmlLB{lbOut(lb)}}, nil
}

type lbResult struct {
	LoadBalancers []xmlLB `xml:"LoadBalancers>member"`
}

func lbOut(lb *loadBalancer) xmlLB {
	x := xmlLB{
		LoadBalancerArn: lb.ARN, LoadBalancerName: lb.Name, DNSName: lb.DNS, Scheme: lb.Scheme, Type: lb.Type, CreatedTime: wire.ISO8601(lb.Created),
		IPAddressType: "ipv4", VpcID: "vpc-0sim", CanonicalHostedZoneID: "Z32O12XQLNTSW2", SecurityGroups: lb.SecurityGroups,
	}
	x.State.Code = "active"
	for i, sn := range lb.Subnets {
		x.AvailabilityZones = append(x.AvailabilityZones, xmlAZ{ZoneName: "eu-west-1" + string(rune('a'+i%3)), SubnetID: sn})
	}
	return x
}

func (w *World) describeLoadBalancers(f formT) (any, error) {
	arns, names := f.Strings("LoadBalancerArns"), f.Strings("Names")
	var out []xmlLB
	for _, lb := range sortedByKey(w.loadBalancers) {
		if (len(arns) > 0 && !contains(arns, lb.ARN)) || (len(names) > 0 && !contains(names, lb.Name)) {
			continue
		}
		out = append(out, lbOut(lb))
	}
	if len(out) < len(arns)+len(names) {
		return nil, elbErr("LoadBalancerNotFound", "One or more load balancers not found")
	}
	return lbResult{LoadBalancers: out}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedByKey[T any](m map[string]T) []T {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func tagsFromForm(f formT) []tag {
	var out []tag
	for _, m := range f.List("Tags") {
		out = append(out, tag{Key: m.String("Key"), Value: m.String("Value")})
	}
	return out
}

func (w *World) createTargetGroup(f formT) (any, error) {
	name := f.String("Name")
	if name == "" || len(name) > 32 {
		return nil, elbErr("ValidationError", "Target group name must be 1 to 32 characters")
	}
	for _, tg := range w.targetGroups {
		if tg.Name == name {
			return nil, elbErr("DuplicateTargetGroupName", "A target group with the same name '%s' exists", name)
		}
	}
	port, _ := f.Int("Port")
	tg := &targetGroup{
		ARN: w.arn("elasticloadbalancing", "targetgroup/"+name+"/"+hexID(16)), Name: name, Protocol: f.String("Protocol"),
		Port: int(port), TargetType: f.String("TargetType"), HealthPath: f.String("HealthCheckPath"), VpcID: f.String("VpcId"),
		Interval: 30, Healthy: 5, Unhealthy: 2, world: w, attrs: defaultTargetGroupAttributes(),
	}
	if tg.TargetType == "" {
		tg.TargetType = "instance"
	}
	if tg.Protocol == "" {
		tg.Protocol = "HTTP"
	}
	if tg.HealthPath == "" {
		tg.HealthPath = "/"
	}
	if n, ok := f.Int("HealthCheckIntervalSeconds"); ok {
		tg.Interval = int(n)
	}
	if n, ok := f.Int("HealthyThresholdCount"); ok {
		tg.Healthy = int(n)
	}
	if n, ok := f.Int("UnhealthyThresholdCount"); ok {
		tg.Unhealthy = int(n)
	}
	w.targetGroups[tg.ARN] = tg
	w.elbTags[tg.ARN] = tagsFromForm(f)
	return tgResult{TargetGroups: []xmlTG{w.tgOut(tg)}}, nil
}

type tgResult struct {
	TargetGroups []xmlTG `xml:"TargetGroups>member"`
}

func (w *World) tgOut(tg *targetGroup) xmlTG {
	x := xmlTG{
		TargetGroupArn: tg.ARN, TargetGroupName: tg.Name, Protocol: tg.Protocol, Port: tg.Port, VpcID: tg.VpcID,
		HealthCheckTimeoutSeconds: 5, IPAddressType: "ipv4", ProtocolVersion: "HTTP1",
		TargetType: tg.TargetType, HealthCheckProtocol: tg.Protocol, HealthCheckPath: tg.HealthPath, HealthCheckPort: "traffic-port",
		HealthCheckEnabled: true, HealthCheckIntervalSeconds: tg.Interval, HealthyThresholdCount: tg.Healthy, UnhealthyThresholdCount: tg.Unhealthy,
	}
	x.Matcher.HTTPCode = "200"
	w.tgHealthOut(tg, &x)
	x.LoadBalancerArns = w.loadBalancersOf(tg.ARN)
	return x
}

func (l *listener) uses(tgARN string) bool {
	for _, a := range l.actions {
		if a.TargetGroupARN == tgARN {
			return true
		}
		for _, fw := range a.Forward {
			if fw.TargetGroupARN == tgARN {
				return true
			}
		}
	}
	return false
}

func (w *World) describeTargetGroups(f formT) (any, error) {
	arns, names, lbARN := f.Strings("TargetGroupArns"), f.Strings("Names"), f.String("LoadBalancerArn")
	var out []xmlTG
	for _, tg := range sortedByKey(w.targetGroups) {
		x := w.tgOut(tg)
		if (len(arns) > 0 && !contains(arns, tg.ARN)) || (len(names) > 0 && !contains(names, tg.Name)) || (lbARN != "" && !contains(x.LoadBalancerArns, lbARN)) {
			continue
		}
		out = append(out, x)
	}
	if len(arns)+len(names) > 0 && len(out) < len(arns)+len(names) {
		return nil, elbErr("TargetGroupNotFound", "One or more target groups not found")
	}
	return tgResult{TargetGroups: out}, nil
}

// parseActions reads an action list and normalises it as AWS echoes it: a
// single-target-group forward appears both as TargetGroupArn and as a
// ForwardConfig with weight 1 (aws-facts §4.2).
func (w *World) parseActions(forms []formT) ([]action, error) {
	if len(forms) == 0 {
		return nil, elbErr("ValidationError", "At least one action must be specified")
	}
	var out []action
	for i, m := range forms {
		a := action{Type: m.String("Type"), TargetGroupARN: m.String("TargetGroupArn")}
		if n, ok := m.Int("Order"); ok {
			a.Order = int(n)
		} else if len(forms) > 1 {
			a.Order = i + 1
		}
		switch a.Type {
		case "forward":
			for _, t := range m.List("ForwardConfig.TargetGroups") {
				wt := 1
				if n, ok := t.Int("Weight"); ok {
					wt = int(n)
				}
				if wt < 0 || wt > 999 {
					return nil, elbErr("ValidationError", "Target group weight must be between 0 and 999")
				}
				a.Forward = append(a.Forward, weighted{TargetGroupARN: t.String("TargetGroupArn"), Weight: wt})
			}
			if len(a.Forward) == 0 && a.TargetGroupARN == "" {
				return nil, elbErr("ValidationError", "A forward action needs TargetGroupArn or ForwardConfig")
			}
			if len(a.Forward) == 0 {
				a.Forward = []weighted{{TargetGroupARN: a.TargetGroupARN, Weight: 1}}
			}
			if len(a.Forward) == 1 {
				a.TargetGroupARN = a.Forward[0].TargetGroupARN
			} else {
				a.TargetGroupARN = ""
			}
			for _, fw := range a.Forward {
				if _, ok := w.targetGroups[fw.TargetGroupARN]; !ok {
					return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", fw.TargetGroupARN)
				}
			}
			if b, ok := m.Bool("ForwardConfig.TargetGroupStickinessConfig.Enabled"); ok {
				a.Stickiness = b
			}
		case "fixed-response":
			a.FixedStatus, a.FixedType, a.FixedBody = m.String("FixedResponseConfig.StatusCode"), m.String("FixedResponseConfig.ContentType"), m.String("FixedResponseConfig.MessageBody")
			if err := checkFixed(a); err != nil {
				return nil, err
			}
		case "redirect":
			r, err := parseRedirect(m.At("RedirectConfig."))
			if err != nil {
				return nil, err
			}
			a.Redirect = r
		case "authenticate-oidc", "authenticate-cognito", "jwt-validation":
		default:
			return nil, elbErr("ValidationError", "Unknown action type '%s'", a.Type)
		}
		out = append(out, a)
	}
	return out, nil
}

func actionsOut(as []action) []xmlAction {
	out := make([]xmlAction, 0, len(as))
	for _, a := range as {
		x := xmlAction{Type: a.Type, TargetGroupArn: a.TargetGroupARN, Order: a.Order}
		if a.Forward != nil {
			x.ForwardConfig = &xmlForward{}
			for _, fw := range a.Forward {
				x.ForwardConfig.TargetGroups = append(x.ForwardConfig.TargetGroups, xmlTGTuple{TargetGroupArn: fw.TargetGroupARN, Weight: fw.Weight})
			}
			x.ForwardConfig.Stickiness.Enabled = a.Stickiness
		}
		if a.FixedStatus != "" {
			x.Fixed = &xmlFixed{StatusCode: a.FixedStatus, ContentType: a.FixedType, MessageBody: a.FixedBody}
		}
		x.Redirect = a.Redirect
		out = append(out, x)
	}
	return out
}

func (w *World) createListener(f formT) (any, error) {
	lbARN := f.String("LoadBalancerArn")
	if _, ok := w.loadBalancers[lbARN]; !ok {
		return nil, elbErr("LoadBalancerNotFound", "Load balancer '%s' not found", lbARN)
	}
	port, ok := f.Int("Port")
	if !ok || port < 1 || port > 65535 {
		return nil, elbErr("ValidationError", "Port must be between 1 and 65535")
	}
	for _, l := range w.listeners {
		if l.LBARN == lbARN && l.Port == int(port) {
			return nil, elbErr("DuplicateListener", "A listener already exists on this port for this load balancer")
		}
	}
	actions, err := w.parseActions(f.List("DefaultActions"))
	if err != nil {
		return nil, err
	}
	l := &listener{ARN: w.arn("elasticloadbalancing", "listener/app/"+lbARNTail(lbARN)+"/"+hexID(16)), LBARN: lbARN, Port: int(port), Protocol: f.String("Protocol"), actions: actions}
	if l.Protocol == "" {
		l.Protocol = "HTTP"
	}
	w.listeners[l.ARN] = l
	return listenersResult{Listeners: []xmlListener{listenerOut(l)}}, nil
}

func lbARNTail(arn string) string {
	const marker = "loadbalancer/app/"
	for i := 0; i+len(marker) <= len(arn); i++ {
		if arn[i:i+len(marker)] == marker {
			return arn[i+len(marker):]
		}
	}
	return arn
}

type listenersResult struct {
	Listeners []xmlListener `xml:"Listeners>member"`
}

func listenerOut(l *listener) xmlListener {
	return xmlListener{ListenerArn: l.ARN, LoadBalancerArn: l.LBARN, Port: l.Port, Protocol: l.Protocol, DefaultActions: actionsOut(l.actions)}
}

func (w *World) describeListeners(f formT) (any, error) {
	arns, lbARN := f.Strings("ListenerArns"), f.String("LoadBalancerArn")
	if len(arns) == 0 && lbARN == "" {
		return nil, elbErr("ValidationError", "You must specify either listener ARNs or a load balancer ARN")
	}
	var out []xmlListener
	for _, l := range sortedByKey(w.listeners) {
		if (len(arns) > 0 && !contains(arns, l.ARN)) || (lbARN != "" && l.LBARN != lbARN) {
			continue
		}
		out = append(out, listenerOut(l))
	}
	if len(out) < len(arns) {
		return nil, elbErr("ListenerNotFound", "One or more listeners not found")
	}
	return listenersResult{Listeners: out}, nil
}

func (w *World) modifyListener(f formT) (any, error) {
	l := w.listeners[f.String("ListenerArn")]
	if l == nil {
		return nil, elbErr("ListenerNotFound", "Listener '%s' not found", f.String("ListenerArn"))
	}
	if f.Has("DefaultActions") {
		actions, err := w.parseActions(f.List("DefaultActions"))
		if err != nil {
			return nil, err
		}
		l.actions = actions
	}
	if n, ok := f.Int("Port"); ok {
		l.Port = int(n)
	}
	return listenersResult{Listeners: []xmlListener{listenerOut(l)}}, nil
}

type rulesResult struct {
	Rules []xmlRule `xml:"Rules>member"`
}

func (w *World) createRule(f formT) (any, error) {
	l := w.listeners[f.String("ListenerArn")]
	if l == nil {
		return nil, elbErr("ListenerNotFound", "Listener '%s' not found", f.String("ListenerArn"))
	}
	prio, ok := f.Int("Priority")
	if !ok || prio < 1 || prio > 50000 {
		return nil, elbErr("ValidationError", "Priority must be between 1 and 50000")
	}
	for _, r := range w.rules {
		if r.ListenerARN == l.ARN && r.Priority == strconv.FormatInt(prio, 10) {
			return nil, elbErr("PriorityInUse", "Priority '%d' is currently in use", prio)
		}
	}
	actions, err := w.parseActions(f.List("Actions"))
	if err != nil {
		return nil, err
	}
	conditions, err := parseConditions(f.List("Conditions"))
	if err != nil {
		return nil, err
	}
	if len(conditions) == 0 {
		return nil, elbErr("ValidationError", "A rule needs at least one condition")
	}
	// A rule's ARN extends its listener's: listener-rule/app/<lb name>/<lb id>/<listener id>/<rule id>.
	_, listenerTail, _ := strings.Cut(l.ARN, ":listener/app/")
	r := &rule{ARN: w.arn("elasticloadbalancing", "listener-rule/app/"+listenerTail+"/"+hexID(16)), ListenerARN: l.ARN, Priority: strconv.FormatInt(prio, 10), actions: actions, conditions: conditions}
	w.elbTags[r.ARN] = tagsFromForm(f)
	w.rules[r.ARN] = r
	return rulesResult{Rules: []xmlRule{ruleOut(r)}}, nil
}

func ruleOut(r *rule) xmlRule {
	return xmlRule{RuleArn: r.ARN, Priority: r.Priority, Conditions: conditionsOut(r.conditions), Actions: actionsOut(r.actions)}
}

func (w *World) describeRules(f formT) (any, error) {
	lARN, arns := f.String("ListenerArn"), f.Strings("RuleArns")
	var out []xmlRule
	if lARN != "" {
		l := w.listeners[lARN]
		if l == nil {
			return nil, elbErr("ListenerNotFound", "Listener '%s' not found", lARN)
		}
		for _, r := range sortedByKey(w.rules) {
			if r.ListenerARN == lARN {
				out = append(out, ruleOut(r))
			}
		}
		out = append(out, xmlRule{RuleArn: w.arn("elasticloadbalancing", "listener-rule/default/"+lbARNTail(lARN)), Priority: "default", IsDefault: true, Actions: actionsOut(l.actions)})
		return rulesResult{Rules: out}, nil
	}
	for _, a := range arns {
		r := w.rules[a]
		if r == nil {
			return nil, elbErr("RuleNotFound", "One or more rules not found")
		}
		out = append(out, ruleOut(r))
	}
	return rulesResult{Rules: out}, nil
}

func (w *World) modifyRule(f formT) (any, error) {
	r := w.rules[f.String("RuleArn")]
	if r == nil {
		return nil, elbErr("RuleNotFound", "Rule '%s' not found", f.String("RuleArn"))
	}
	if f.Has("Actions") {
		actions, err := w.parseActions(f.List("Actions"))
		if err != nil {
			return nil, err
		}
		r.actions = actions
	}
	if f.Has("Conditions") {
		conditions, err := parseConditions(f.List("Conditions"))
		if err != nil {
			return nil, err
		}
		r.conditions = conditions
	}
	return rulesResult{Rules: []xmlRule{ruleOut(r)}}, nil
}

func (w *World) elbResourceExists(arn string) bool {
	_, a := w.loadBalancers[arn]
	_, b := w.targetGroups[arn]
	_, c := w.listeners[arn]
	_, d := w.rules[arn]
	return a || b || c || d
}

func (w *World) addTags(f formT) (any, error) {
	for _, arn := range f.Strings("ResourceArns") {
		if !w.elbResourceExists(arn) {
			return nil, elbErr("TargetGroupNotFound", "Resource '%s' not found", arn)
		}
		w.elbTags[arn] = mergeTags(w.elbTags[arn], tagsFromForm(f))
	}
	return struct{}{}, nil
}

func (w *World) removeTags(f formT) (any, error) {
	keys := f.Strings("TagKeys")
	for _, arn := range f.Strings("ResourceArns") {
		var kept []tag
		for _, t := range w.elbTags[arn] {
			if !contains(keys, t.Key) {
				kept = append(kept, t)
			}
		}
		w.elbTags[arn] = kept
	}
	return struct{}{}, nil
}

func (w *World) describeTags(f formT) (any, error) {
	type result struct {
		TagDescriptions []xmlTagDesc `xml:"TagDescriptions>member"`
	}
	arns := f.Strings("ResourceArns")
	if len(arns) > 20 {
		return nil, elbErr("ValidationError", "At most 20 resource ARNs can be given")
	}
	var out []xmlTagDesc
	for _, arn := range arns {
		if !w.elbResourceExists(arn) {
			return nil, elbErr("LoadBalancerNotFound", "Resource '%s' not found", arn)
		}
		out = append(out, xmlTagDesc{ResourceArn: arn, Tags: w.elbTags[arn]})
	}
	return result{TagDescriptions: out}, nil
}
