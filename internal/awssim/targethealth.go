package awssim

import (
	"sort"
	"strconv"
	"time"
)

// Target health as ELBv2 documents it (aws-facts §4.3): a registered target
// is initial (Elb.RegistrationInProgress until the first health check, then
// Elb.InitialHealthChecking) until HealthyThresholdCount checks, made every
// HealthCheckIntervalSeconds, have passed; healthy or unhealthy after; unused
// (Target.NotInUse) while no listener or rule forwards to its group, since
// the load balancer checks only groups it routes to; draining
// (Target.DeregistrationInProgress) for the group's
// deregistration_delay.timeout_seconds after it was deregistered, then gone.

const (
	attrDeregistrationDelay = "deregistration_delay.timeout_seconds"
	// defaultDeregistrationDelay is ELBv2's default for the attribute.
	defaultDeregistrationDelay = 300 * time.Second
)

// defaultTargetGroupAttributes are the attributes an application load
// balancer's target group starts with, as DescribeTargetGroupAttributes
// lists them.
func defaultTargetGroupAttributes() map[string]string {
	return map[string]string{
		attrDeregistrationDelay:                                                          "300",
		"stickiness.enabled":                                                             "false",
		"stickiness.type":                                                                "lb_cookie",
		"stickiness.lb_cookie.duration_seconds":                                          "86400",
		"stickiness.app_cookie.cookie_name":                                              "",
		"stickiness.app_cookie.duration_seconds":                                         "86400",
		"slow_start.duration_seconds":                                                    "0",
		"load_balancing.algorithm.type":                                                  "round_robin",
		"load_balancing.algorithm.anomaly_mitigation":                                    "off",
		"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
		"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
		"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
	}
}

// deregistrationDelay is how long a deregistered target drains.
func (tg *targetGroup) deregistrationDelay() time.Duration {
	n, err := strconv.Atoi(tg.attrs[attrDeregistrationDelay])
	if err != nil {
		return defaultDeregistrationDelay
	}
	return time.Duration(n) * time.Second
}

func (tg *targetGroup) interval() time.Duration { return time.Duration(tg.Interval) * time.Second }

// add registers a target (again, when it was draining: it starts over).
func (tg *targetGroup) add(id string, port int, at time.Time, taskDef string) {
	for _, t := range tg.targets {
		if t.id == id && t.port == port {
			if !t.deregistered.IsZero() {
				t.deregistered, t.registered, t.taskDef = time.Time{}, at, taskDef
			}
			return
		}
	}
	tg.targets = append(tg.targets, &target{id: id, port: port, registered: at, taskDef: taskDef})
}

// remove starts draining a target (port 0: on any port); it leaves the group
// when the deregistration delay has passed.
func (tg *targetGroup) remove(id string, port int, at time.Time) {
	for _, t := range tg.targets {
		if t.id == id && (port == 0 || t.port == port) && t.deregistered.IsZero() {
			t.deregistered = at
			return
		}
	}
}

// drainingUntil is when the last of the group's draining targets leaves it
// (zero when none drains).
func (tg *targetGroup) drainingUntil(ids map[string]bool) time.Time {
	var last time.Time
	for _, t := range tg.targets {
		if !t.deregistered.IsZero() && ids[t.id] {
			if end := t.deregistered.Add(tg.deregistrationDelay()); end.After(last) {
				last = end
			}
		}
	}
	return last
}

func (w *World) registerTargets(f formT, register bool) (any, error) {
	tg := w.targetGroups[f.String("TargetGroupArn")]
	if tg == nil {
		return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", f.String("TargetGroupArn"))
	}
	targets := f.List("Targets")
	if len(targets) == 0 {
		return nil, elbErr("ValidationError", "Targets must contain at least one target")
	}
	for _, t := range targets {
		if t.String("Id") == "" {
			return nil, elbErr("ValidationError", "A target needs an Id")
		}
		port := tg.Port
		if n, ok := t.Int("Port"); ok {
			port = int(n)
		}
		if register {
			tg.add(t.String("Id"), port, w.now(), "")
		} else {
			tg.remove(t.String("Id"), port, w.now())
		}
	}
	return struct{}{}, nil
}

// usedTargetGroups is the set of groups some listener's default action or
// rule forwards to; a forward at weight 0 counts, as CodeDeploy relies on it
// to have the replacement's targets checked during Install.
func (w *World) usedTargetGroups() map[string]bool {
	used := map[string]bool{}
	mark := func(as []action) {
		for _, a := range as {
			if a.TargetGroupARN != "" {
				used[a.TargetGroupARN] = true
			}
			for _, fw := range a.Forward {
				used[fw.TargetGroupARN] = true
			}
		}
	}
	for _, l := range w.listeners {
		mark(l.actions)
	}
	for _, r := range w.rules {
		mark(r.actions)
	}
	return used
}

// loadBalancersOf lists the load balancers whose listeners forward to the
// group, by a default action or by a rule.
func (w *World) loadBalancersOf(tgARN string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(lbARN string) {
		if !seen[lbARN] {
			seen[lbARN] = true
			out = append(out, lbARN)
		}
	}
	for _, l := range sortedByKey(w.listeners) {
		if l.uses(tgARN) {
			add(l.LBARN)
		}
	}
	for _, r := range sortedByKey(w.rules) {
		if l := w.listeners[r.ListenerARN]; l != nil && (&listener{actions: r.actions}).uses(tgARN) {
			add(l.LBARN)
		}
	}
	return out
}

// settleTargetGroup notes when the group starts or stops being routed to
// and lets targets whose deregistration delay is over go.
func (w *World) settleTargetGroup(tg *targetGroup, used bool, now time.Time) {
	if used != tg.inUse {
		tg.inUse = used
		tg.usedSince = time.Time{}
		if used {
			tg.usedSince = now
		}
	}
	keep := tg.targets[:0]
	for _, t := range tg.targets {
		if t.deregistered.IsZero() || now.Before(t.deregistered.Add(tg.deregistrationDelay())) {
			keep = append(keep, t)
		}
	}
	tg.targets = keep
}

// checksFrom is when the load balancer began checking a target: when it was
// registered, or when its group began to be routed to, whichever is later.
func (tg *targetGroup) checksFrom(t *target) time.Time {
	if tg.usedSince.After(t.registered) {
		return tg.usedSince
	}
	return t.registered
}

// checks is how many health checks the target has had by now.
func (tg *targetGroup) checks(t *target, now time.Time) int {
	if tg.Interval <= 0 {
		return 0
	}
	return int(now.Sub(tg.checksFrom(t)) / tg.interval())
}

// dueTimes reports when a target's health changes next: its next health
// check that crosses a threshold, or the end of its draining.
func (tg *targetGroup) dueTimes(due func(time.Time)) {
	for _, t := range tg.targets {
		if !t.deregistered.IsZero() {
			due(t.deregistered.Add(tg.deregistrationDelay()))
			continue
		}
		if !tg.inUse {
			continue
		}
		from := tg.checksFrom(t)
		for _, k := range []int{1, tg.Healthy, tg.Unhealthy, tg.Unhealthy + 1} {
			due(from.Add(time.Duration(k) * tg.interval()))
		}
	}
}

// health is a target's state now.
func (tg *targetGroup) health(t *target, now time.Time) (state, reason, desc string) {
	if !t.deregistered.IsZero() {
		return "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"
	}
	if !tg.inUse {
		return "unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"
	}
	n := tg.checks(t, now)
	if n < 1 {
		return "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
	}
	if tg.world.unhealthy[t.taskDef] {
		if n < tg.Unhealthy {
			return "initial", "Elb.InitialHealthChecking", "Initial health checks in progress"
		}
		return "unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [503]"
	}
	if n < tg.Healthy {
		return "initial", "Elb.InitialHealthChecking", "Initial health checks in progress"
	}
	return "healthy", "", ""
}

// healthyCount counts targets passing and failing health checks.
func (tg *targetGroup) healthyCount(now time.Time) (healthy, unhealthy int) {
	for _, t := range tg.targets {
		switch s, _, _ := tg.health(t, now); s {
		case "healthy":
			healthy++
		case "unhealthy":
			unhealthy++
		}
	}
	return healthy, unhealthy
}

func (w *World) describeTargetHealth(f formT) (any, error) {
	tg := w.targetGroups[f.String("TargetGroupArn")]
	if tg == nil {
		return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", f.String("TargetGroupArn"))
	}
	type result struct {
		Descriptions []xmlHealth `xml:"TargetHealthDescriptions>member"`
	}
	now := w.now()
	describe := func(t *target) xmlHealth {
		var h xmlHealth
		h.Target.ID, h.Target.Port, h.HealthCheckPort = t.id, t.port, strconv.Itoa(t.port)
		h.TargetHealth.State, h.TargetHealth.Reason, h.TargetHealth.Description = tg.health(t, now)
		return h
	}
	out := []xmlHealth{}
	asked := f.List("Targets")
	if len(asked) == 0 {
		for _, t := range tg.targets {
			out = append(out, describe(t))
		}
		return result{Descriptions: out}, nil
	}
	// With Targets, the answer is exactly the targets asked for, in order;
	// one the group does not hold is unused / Target.NotRegistered.
	for _, a := range asked {
		id := a.String("Id")
		if id == "" {
			return nil, elbErr("ValidationError", "A target needs an Id")
		}
		port := tg.Port
		if n, ok := a.Int("Port"); ok {
			port = int(n)
		}
		var found *target
		for _, t := range tg.targets {
			if t.id == id && t.port == port {
				found = t
			}
		}
		if found != nil {
			out = append(out, describe(found))
			continue
		}
		var h xmlHealth
		h.Target.ID, h.Target.Port, h.HealthCheckPort = id, port, strconv.Itoa(port)
		h.TargetHealth.State, h.TargetHealth.Reason, h.TargetHealth.Description = "unused", "Target.NotRegistered", "Target is not registered to the target group"
		out = append(out, h)
	}
	return result{Descriptions: out}, nil
}

type xmlAttribute struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type tgAttributesResult struct {
	Attributes []xmlAttribute `xml:"Attributes>member"`
}

func (tg *targetGroup) attributesOut() tgAttributesResult {
	keys := make([]string, 0, len(tg.attrs))
	for k := range tg.attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := tgAttributesResult{Attributes: []xmlAttribute{}}
	for _, k := range keys {
		out.Attributes = append(out.Attributes, xmlAttribute{Key: k, Value: tg.attrs[k]})
	}
	return out
}

func (w *World) describeTargetGroupAttributes(f formT) (any, error) {
	tg := w.targetGroups[f.String("TargetGroupArn")]
	if tg == nil {
		return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", f.String("TargetGroupArn"))
	}
	return tg.attributesOut(), nil
}

// modifyTargetGroupAttributes checks every attribute before it changes any,
// as ELBv2 does, and answers with all of them.
func (w *World) modifyTargetGroupAttributes(f formT) (any, error) {
	tg := w.targetGroups[f.String("TargetGroupArn")]
	if tg == nil {
		return nil, elbErr("TargetGroupNotFound", "Target group '%s' not found", f.String("TargetGroupArn"))
	}
	attrs := f.List("Attributes")
	if len(attrs) == 0 {
		return nil, elbErr("ValidationError", "Attributes must contain at least one attribute")
	}
	set := map[string]string{}
	for _, a := range attrs {
		key, value := a.String("Key"), a.String("Value")
		if _, ok := tg.attrs[key]; !ok {
			return nil, elbErr("InvalidConfigurationRequest", "Target group attribute key '%s' is not recognized", key)
		}
		if err := validTargetGroupAttribute(key, value); err != nil {
			return nil, err
		}
		set[key] = value
	}
	for k, v := range set {
		tg.attrs[k] = v
	}
	return tg.attributesOut(), nil
}

func validTargetGroupAttribute(key, value string) error {
	number := func(lo, hi int) error {
		n, err := strconv.Atoi(value)
		if err != nil || n < lo || n > hi {
			return elbErr("InvalidConfigurationRequest", "'%s' must be a number from %d to %d, not '%s'", key, lo, hi, value)
		}
		return nil
	}
	switch key {
	case attrDeregistrationDelay:
		return number(0, 3600)
	case "stickiness.lb_cookie.duration_seconds", "stickiness.app_cookie.duration_seconds":
		return number(1, 604800)
	case "slow_start.duration_seconds":
		if value == "0" {
			return nil
		}
		return number(30, 900)
	case "stickiness.enabled":
		if value != "true" && value != "false" {
			return elbErr("InvalidConfigurationRequest", "'%s' must be true or false, not '%s'", key, value)
		}
	case "stickiness.type":
		if value != "lb_cookie" && value != "app_cookie" {
			return elbErr("InvalidConfigurationRequest", "'%s' must be lb_cookie or app_cookie for an application load balancer, not '%s'", key, value)
		}
	case "load_balancing.algorithm.type":
		switch value {
		case "round_robin", "least_outstanding_requests", "weighted_random":
		default:
			return elbErr("InvalidConfigurationRequest", "'%s' must be round_robin, least_outstanding_requests or weighted_random, not '%s'", key, value)
		}
	}
	return nil
}
