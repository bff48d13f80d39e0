package awssim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ECS-native blue/green, linear and canary deployments (deploymentController
// ECS with deploymentConfiguration.strategy BLUE_GREEN, LINEAR or CANARY), as
// the ECS developer guide describes them (aws-facts §5.2). ECS, not
// CodeDeploy, runs the deployment: it starts the green revision's tasks in
// the target group that does not carry production, walks the lifecycle
// stages, and writes the weights of the production and test listener rules
// named in loadBalancers[].advancedConfiguration itself, so the data plane
// routes by them. Each stage runs its work, then the lifecycle hooks
// registered for it; a PAUSE hook waits for ContinueServiceDeployment or its
// timeout, a Lambda hook answers at once with what SetLifecycleHookAnswer
// says (SUCCEEDED unless told otherwise).

// bgStages is the order of a blue/green service deployment's lifecycle
// stages. RECONCILE_SERVICE only runs when more than one revision is active.
var bgStages = []string{
	"RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
	"PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
}

// hookStagesOf are the hook stages whose hooks run at the end of a lifecycle
// stage. PRE_PRODUCTION_TRAFFIC_SHIFT is a hook stage but not a lifecycle
// stage of its own: its hooks run after POST_TEST_TRAFFIC_SHIFT's, before
// production traffic moves.
var hookStagesOf = map[string][]string{
	"RECONCILE_SERVICE": {"RECONCILE_SERVICE"}, "PRE_SCALE_UP": {"PRE_SCALE_UP"}, "POST_SCALE_UP": {"POST_SCALE_UP"},
	"TEST_TRAFFIC_SHIFT": {"TEST_TRAFFIC_SHIFT"}, "POST_TEST_TRAFFIC_SHIFT": {"POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"},
	"PRODUCTION_TRAFFIC_SHIFT": {"PRODUCTION_TRAFFIC_SHIFT"}, "POST_PRODUCTION_TRAFFIC_SHIFT": {"POST_PRODUCTION_TRAFFIC_SHIFT"},
}

var hookableStages = []string{
	"RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
	"PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
}

// advancedConfig is loadBalancers[].advancedConfiguration.
type advancedConfig struct {
	AlternateTargetGroupArn string `json:"alternateTargetGroupArn,omitempty"`
	ProductionListenerRule  string `json:"productionListenerRule,omitempty"`
	TestListenerRule        string `json:"testListenerRule,omitempty"`
	RoleArn                 string `json:"roleArn,omitempty"`
}

// bgHookConfig is one of deploymentConfiguration.lifecycleHooks.
type bgHookConfig struct {
	TargetType      string          `json:"targetType"`
	HookTargetArn   string          `json:"hookTargetArn"`
	RoleArn         string          `json:"roleArn"`
	LifecycleStages []string        `json:"lifecycleStages"`
	HookDetails     json.RawMessage `json:"hookDetails"`
	Timeout         *struct {
		Minutes *int   `json:"timeoutInMinutes"`
		Action  string `json:"action"`
	} `json:"timeoutConfiguration"`
}

// bgConfig is the part of deploymentConfiguration a blue/green, linear or
// canary deployment runs by, with ECS's defaults filled in.
type bgConfig struct {
	Strategy string `json:"strategy"`
	Bake     *int   `json:"bakeTimeInMinutes"`
	Linear   *struct {
		StepPercent *float64 `json:"stepPercent"`
		StepBake    *int     `json:"stepBakeTimeInMinutes"`
	} `json:"linearConfiguration"`
	Canary *struct {
		Percent *float64 `json:"canaryPercent"`
		Bake    *int     `json:"canaryBakeTimeInMinutes"`
	} `json:"canaryConfiguration"`
	Hooks  []bgHookConfig `json:"lifecycleHooks"`
	Alarms *struct {
		Names    []string `json:"alarmNames"`
		Enable   bool     `json:"enable"`
		Rollback bool     `json:"rollback"`
	} `json:"alarms"`
}

// pauseTimeoutDefault is a PAUSE hook's wait when it has no
// timeoutConfiguration. [model choice: the docs give no default; the
// largest timeoutInMinutes, 14 days, is taken]
const pauseTimeoutDefault = 20160 * time.Minute

// lambdaTimeout is how long a Lambda hook may stay IN_PROGRESS by default.
const lambdaTimeout = 60 * time.Minute

// isBlueGreen tells whether ECS runs the service's deployments as
// blue/green, linear or canary.
func (s *service) isBlueGreen() bool {
	if s.controller != "ECS" {
		return false
	}
	switch s.strategy() {
	case "BLUE_GREEN", "LINEAR", "CANARY":
		return true
	}
	return false
}

func (s *service) strategy() string {
	var v string
	if raw, ok := s.deployConfig["strategy"]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}

func (s *service) bgConfig() bgConfig {
	var c bgConfig
	raw, _ := json.Marshal(s.deployConfig)
	_ = json.Unmarshal(raw, &c)
	return c
}

// checkStrategy refuses a deployment configuration ECS would refuse, with
// InvalidParameterException as ECS answers.
func (w *World) checkStrategy(s *service) error {
	st := s.strategy()
	switch st {
	case "", "ROLLING":
		return nil
	case "BLUE_GREEN", "LINEAR", "CANARY":
	default:
		return invalidParam("deploymentConfiguration.strategy %q is not valid: use ROLLING, BLUE_GREEN, LINEAR or CANARY.", st)
	}
	if s.controller != "ECS" {
		return invalidParam("The %s deployment strategy needs deploymentController type ECS; this service has %s.", st, s.controller)
	}
	c := s.bgConfig()
	if st == "BLUE_GREEN" && c.Bake == nil {
		return invalidParam("deploymentConfiguration.bakeTimeInMinutes is required for the BLUE_GREEN strategy.")
	}
	if c.Bake != nil && (*c.Bake < 0 || *c.Bake > 1440) {
		return invalidParam("bakeTimeInMinutes must be from 0 to 1440.")
	}
	if l := c.Linear; l != nil {
		if st != "LINEAR" {
			return invalidParam("linearConfiguration is only valid with the LINEAR strategy.")
		}
		if p := l.StepPercent; p != nil && (*p < 3 || *p > 100 || !tenths(*p)) {
			return invalidParam("linearConfiguration.stepPercent must be a multiple of 0.1 from 3.0 to 100.0.")
		}
		if b := l.StepBake; b != nil && (*b < 0 || *b > 1440) {
			return invalidParam("linearConfiguration.stepBakeTimeInMinutes must be from 0 to 1440.")
		}
	}
	if k := c.Canary; k != nil {
		if st != "CANARY" {
			return invalidParam("canaryConfiguration is only valid with the CANARY strategy.")
		}
		if p := k.Percent; p != nil && (*p < 0.1 || *p > 100 || !tenths(*p)) {
			return invalidParam("canaryConfiguration.canaryPercent must be a multiple of 0.1 from 0.1 to 100.0.")
		}
		if b := k.Bake; b != nil && (*b < 0 || *b > 1440) {
			return invalidParam("canaryConfiguration.canaryBakeTimeInMinutes must be from 0 to 1440.")
		}
	}
	for i, h := range c.Hooks {
		if err := checkHook(i, h); err != nil {
			return err
		}
	}
	if len(s.loadBalancers) == 0 {
		return invalidParam("The %s deployment strategy needs a load balancer with advancedConfiguration on service %s.", st, s.name)
	}
	for _, lb := range s.loadBalancers {
		if err := w.checkAdvanced(st, lb); err != nil {
			return err
		}
	}
	return nil
}

func tenths(p float64) bool { return math.Abs(p*10-math.Round(p*10)) < 1e-9 }

func checkHook(i int, h bgHookConfig) error {
	switch h.TargetType {
	case "", "AWS_LAMBDA":
		if h.HookTargetArn == "" || h.RoleArn == "" {
			return invalidParam("lifecycleHooks[%d]: an AWS_LAMBDA hook needs hookTargetArn and roleArn.", i)
		}
	case "PAUSE":
		if h.HookTargetArn != "" {
			return invalidParam("lifecycleHooks[%d]: a PAUSE hook takes no hookTargetArn.", i)
		}
	default:
		return invalidParam("lifecycleHooks[%d].targetType must be AWS_LAMBDA or PAUSE.", i)
	}
	if len(h.LifecycleStages) == 0 {
		return invalidParam("lifecycleHooks[%d].lifecycleStages cannot be empty.", i)
	}
	for _, st := range h.LifecycleStages {
		if !contains(hookableStages, st) {
			return invalidParam("lifecycleHooks[%d]: %s is not a lifecycle stage a hook can run at.", i, st)
		}
	}
	if t := h.Timeout; t != nil {
		if t.Minutes != nil && (*t.Minutes < 1 || *t.Minutes > 20160) {
			return invalidParam("lifecycleHooks[%d].timeoutConfiguration.timeoutInMinutes must be from 1 to 20160.", i)
		}
		if t.Action != "" && t.Action != "ROLLBACK" && t.Action != "CONTINUE" {
			return invalidParam("lifecycleHooks[%d].timeoutConfiguration.action must be ROLLBACK or CONTINUE.", i)
		}
	}
	return nil
}

func (w *World) checkAdvanced(st string, lb lbRef) error {
	a := lb.AdvancedConfiguration
	if a == nil {
		return invalidParam("The %s deployment strategy needs loadBalancers[].advancedConfiguration (alternateTargetGroupArn, productionListenerRule, roleArn) for target group %s.", st, lb.TargetGroupArn)
	}
	if a.AlternateTargetGroupArn == "" || a.ProductionListenerRule == "" || a.RoleArn == "" {
		return invalidParam("advancedConfiguration needs alternateTargetGroupArn, productionListenerRule and roleArn.")
	}
	if a.AlternateTargetGroupArn == lb.TargetGroupArn {
		return invalidParam("advancedConfiguration.alternateTargetGroupArn must differ from targetGroupArn %s.", lb.TargetGroupArn)
	}
	if _, ok := w.targetGroups[a.AlternateTargetGroupArn]; !ok {
		return invalidParam("The target group %s does not exist.", a.AlternateTargetGroupArn)
	}
	for _, r := range []string{a.ProductionListenerRule, a.TestListenerRule} {
		if r == "" {
			continue
		}
		if w.rules[r] == nil && w.listeners[r] == nil {
			return invalidParam("The listener rule %s does not exist.", r)
		}
	}
	return nil
}

// updateLoadBalancers takes UpdateService's loadBalancers for an
// ECS-controller service (how advancedConfiguration gets set on a service
// that exists, as the migration from CodeDeploy does).
func (w *World) updateLoadBalancers(s *service, body []byte) error {
	var in struct {
		LoadBalancers *[]lbRef `json:"loadBalancers"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil || in.LoadBalancers == nil || s.controller != "ECS" {
		return err
	}
	for _, lb := range *in.LoadBalancers {
		if _, ok := w.targetGroups[lb.TargetGroupArn]; !ok {
			return invalidParam("The target group %s does not exist.", lb.TargetGroupArn)
		}
	}
	s.loadBalancers = *in.LoadBalancers
	return nil
}

// snapshot keeps what UpdateService may change before it is sure it can,
// and gives a func that puts it back.
func (s *service) snapshot() func() {
	controller, lbs, breaker := s.controller, slices.Clone(s.loadBalancers), s.breaker
	var cfg map[string]json.RawMessage
	if s.deployConfig != nil {
		cfg = maps.Clone(s.deployConfig)
	}
	var primaryRollout string
	if p := s.primarySet(); p != nil {
		primaryRollout = p.rollout
	}
	return func() {
		s.controller, s.loadBalancers, s.breaker, s.deployConfig = controller, lbs, breaker, cfg
		if p := s.primarySet(); p != nil {
			p.rollout = primaryRollout
		}
	}
}

// updateController takes UpdateService's deploymentController: a
// CODE_DEPLOY service becomes an ECS one (AWS's migration to ECS
// blue/green), its task set the service's deployment. Refused while a
// CodeDeploy deployment runs (more than one task set), as the migration
// guide asks; other changes are not modelled and refused saying so.
func (w *World) updateController(s *service, body []byte) error {
	var in struct {
		Controller *struct {
			Type string `json:"type"`
		} `json:"deploymentController"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil || in.Controller == nil || in.Controller.Type == "" || in.Controller.Type == s.controller {
		return err
	}
	if s.controller != "CODE_DEPLOY" || in.Controller.Type != "ECS" {
		return invalidParam("The simulator changes a service's deployment controller only from CODE_DEPLOY to ECS (service %s is %s).", s.name, s.controller)
	}
	live := 0
	for _, ts := range s.taskSets {
		if ts.status != "DRAINING" {
			live++
		}
	}
	if live != 1 {
		return invalidParam("Service %s has a deployment in progress (%d task sets): wait for the CodeDeploy deployment to finish, or stop it, before changing the deployment controller.", s.name, live)
	}
	s.controller = "ECS"
	if p := s.primarySet(); p != nil {
		p.rollout = "COMPLETED"
		// The task set that was serving production is the service's
		// revision from now on; its target group is where the service's
		// tasks are, whatever loadBalancers now names first.
		if lazyMap(&w.bg.revisionOf)[p] == "" {
			w.bg.revisionOf[p] = w.newRevision(s, p.taskDefinition, p.loadBalancers, w.now())
		}
	}
	return nil
}

// serviceRevision is what DescribeServiceRevisions shows: the service's
// configuration as one deployment made it.
type serviceRevision struct {
	arn, taskDefinition string
	loadBalancers       []lbRef
	created             time.Time
}

// bgState is what blue/green deployments keep beyond the service.
type bgState struct {
	revisions   map[string]*serviceRevision
	revisionOf  map[*taskSet]string // the revision a task set runs
	hookAnswers map[string]string   // Lambda ARN -> SUCCEEDED, FAILED, IN_PROGRESS
}

func (w *World) newRevision(s *service, taskDef string, lbs []lbRef, at time.Time) string {
	r := &serviceRevision{
		arn:            w.arn("ecs", "service-revision/"+s.cluster+"/"+s.name+"/"+randomID(19, "0123456789")),
		taskDefinition: taskDef, loadBalancers: slices.Clone(lbs), created: at,
	}
	lazyMap(&w.bg.revisions)[r.arn] = r
	return r.arn
}

// bgLB is one load balancer of a deployment: which of its two groups is
// blue (carries production when the deployment starts) and which green.
type bgLB struct {
	blueTG, greenTG    string
	prodRule, testRule string
}

// hookRun is one hook's run at one stage (lifecycleHookDetails).
type hookRun struct {
	id, targetType, targetArn, status, timeoutAction string
	expires                                          time.Time
	// nextCall is when ECS invokes a Lambda hook that answered
	// IN_PROGRESS again.
	nextCall time.Time
}

// lambdaCallBack is how long ECS waits before invoking a Lambda hook that
// answered IN_PROGRESS again (the default; callBackDelay is not modelled).
const lambdaCallBack = 30 * time.Second

// bgDeployment is a blue/green, linear or canary service deployment's
// progress.
type bgDeployment struct {
	strategy     string
	cfg          bgConfig
	stage        string
	stageAt      time.Time
	workDone     bool
	hooksStarted bool
	// hooks are the current stage's hook runs; ran every run of the
	// deployment, which lifecycleHookDetails lists.
	hooks, ran        []*hookRun
	lbs               []bgLB
	blue, green       *taskSet
	greenLBs          []lbRef
	sourceRev, target string
	// prodPct and testPct are the green revision's requested weights;
	// stepUntil ends the wait after a production step or the bake time.
	prodPct, testPct float64
	stepUntil        time.Time
	alarmStatus      string
	triggered        []string
	rollbackReason   string
	// networkChecked tells that the rules were found to reach both groups.
	networkChecked bool
	// requested and requestedAt are a StopServiceDeployment's reason and
	// time while the deployment is ROLLBACK_REQUESTED.
	requested   string
	requestedAt time.Time
}

// rollbackRequestDelay is how long a stopped deployment stays
// ROLLBACK_REQUESTED before its rollback starts. [model choice: the guide
// names the state, not how long it lasts]
const rollbackRequestDelay = time.Second

// requestRollback is StopServiceDeployment ROLLBACK: the deployment is
// ROLLBACK_REQUESTED and rolls back a moment later.
func (w *World) requestRollback(d *serviceDeployment, reason string) {
	d.status, d.bg.requested, d.bg.requestedAt = "ROLLBACK_REQUESTED", reason, w.now()
}

// startBlueGreen starts a service deployment of taskDef on a blue/green,
// linear or canary service. A deployment still in flight is stopped and the
// new one first reconciles the revisions it left running.
func (w *World) startBlueGreen(s *service, taskDef string) {
	now := w.now()
	blue := w.productionSet(s)
	if blue == nil {
		return
	}
	revOf := lazyMap(&w.bg.revisionOf)
	if revOf[blue] == "" {
		revOf[blue] = w.newRevision(s, blue.taskDefinition, blue.loadBalancers, blue.created)
	}
	for _, d := range s.serviceDeployments {
		if d.status == "IN_PROGRESS" || d.status == "PENDING" || d.status == "ROLLBACK_REQUESTED" || d.status == "ROLLBACK_IN_PROGRESS" {
			d.status, d.reason, d.done = "STOPPED", "superseded by a newer deployment", now
		}
	}
	cfg := s.bgConfig()
	bg := &bgDeployment{strategy: s.strategy(), cfg: cfg, blue: blue, sourceRev: revOf[blue], stageAt: now}
	blueTGs := map[string]bool{}
	for _, lb := range blue.loadBalancers {
		blueTGs[lb.TargetGroupArn] = true
	}
	var greenLBs []lbRef
	for _, lb := range s.loadBalancers {
		a := lb.AdvancedConfiguration
		if a == nil {
			continue
		}
		x := bgLB{blueTG: lb.TargetGroupArn, greenTG: a.AlternateTargetGroupArn, prodRule: a.ProductionListenerRule, testRule: a.TestListenerRule}
		if blueTGs[a.AlternateTargetGroupArn] {
			x.blueTG, x.greenTG = x.greenTG, x.blueTG
		}
		bg.lbs = append(bg.lbs, x)
		g := lb
		g.TargetGroupArn = x.greenTG
		greenLBs = append(greenLBs, g)
	}
	bg.target = w.newRevision(s, taskDef, greenLBs, now)
	active := 0
	for _, ts := range s.taskSets {
		if ts.status != "DRAINING" {
			active++
		}
	}
	bg.stage = "PRE_SCALE_UP"
	if active > 1 {
		bg.stage = "RECONCILE_SERVICE"
	}
	d := &serviceDeployment{
		arn:    w.arn("ecs", "service-deployment/"+s.cluster+"/"+s.name+"/"+randomID(21, idAlphabet)),
		status: "IN_PROGRESS", source: blue.taskDefinition, target: taskDef, created: now, started: now,
		threshold: failureThreshold(s.desired), bg: bg, sourceRev: bg.sourceRev, targetRev: bg.target,
	}
	d.breakerStatus = "DISABLED"
	if s.breaker.enable {
		d.breakerStatus = "MONITORING"
	}
	bg.alarmStatus = "DISABLED"
	if a := cfg.Alarms; a != nil && a.Enable && len(a.Names) > 0 {
		bg.alarmStatus = "MONITORING"
	}
	bg.greenLBs = greenLBs
	s.serviceDeployments = append(s.serviceDeployments, d)
	s.steadyNoted = false
	w.serviceEvent(s, fmt.Sprintf("service deployment %s started (%s).", d.arn, bg.strategy))
}

// productionSet is the task set that carries the most production traffic:
// the blue side of the next deployment, also when a deployment that was
// still shifting is superseded.
func (w *World) productionSet(s *service) *taskSet {
	for _, lb := range s.loadBalancers {
		a := lb.AdvancedConfiguration
		if a == nil {
			continue
		}
		var as []action
		if r := w.rules[a.ProductionListenerRule]; r != nil {
			as = r.actions
		} else if l := w.listeners[a.ProductionListenerRule]; l != nil {
			as = l.actions
		}
		best, weight := "", -1
		for _, x := range as {
			if x.TargetGroupARN != "" && len(x.Forward) == 0 && weight < 1 {
				best, weight = x.TargetGroupARN, 1
			}
			for _, f := range x.Forward {
				if f.Weight > weight {
					best, weight = f.TargetGroupARN, f.Weight
				}
			}
		}
		for _, ts := range s.taskSets {
			if ts.status != "DRAINING" && len(ts.loadBalancers) > 0 && ts.loadBalancers[0].TargetGroupArn == best {
				return ts
			}
		}
	}
	return s.primarySet()
}

// primarySet is the task set serving the service: its PRIMARY one.
func (s *service) primarySet() *taskSet {
	for _, ts := range s.taskSets {
		if ts.status == "PRIMARY" {
			return ts
		}
	}
	if len(s.taskSets) > 0 {
		return s.taskSets[0]
	}
	return nil
}

// advanceBlueGreen moves a blue/green deployment on as far as the world's
// time allows: each stage's work, then its hooks, then the next stage.
func (w *World) advanceBlueGreen(s *service, d *serviceDeployment, now time.Time) {
	bg := d.bg
	for range len(bgStages) + 2 {
		switch d.status {
		case "ROLLBACK_REQUESTED":
			if now.Before(bg.requestedAt.Add(rollbackRequestDelay)) {
				return
			}
			w.bgRollback(s, d, bg.requested)
			continue
		case "ROLLBACK_IN_PROGRESS":
			if bg.green == nil || bg.green.removed {
				d.status, d.done = "ROLLBACK_SUCCESSFUL", now
				w.finishMonitors(d)
				w.serviceEvent(s, fmt.Sprintf("service deployment %s rolled back to %s.", d.arn, bg.sourceRev))
			}
			return
		case "IN_PROGRESS":
		default:
			return
		}
		if w.alarmTriggered(s, d) {
			return
		}
		if !bg.networkChecked {
			bg.networkChecked = true
			if !w.rulesReachBoth(bg) {
				w.bgRollback(s, d, "Service deployment rolled back because of invalid networking configuration. Both targetGroup and alternateTargetGroup must be associated with the productionListenerRule or testListenerRule.")
				continue
			}
		}
		if !bg.workDone {
			if !w.stageWork(s, d, now) {
				return
			}
			bg.workDone = true
		}
		if !w.runHooks(s, d, now) {
			return
		}
		i := slices.Index(bgStages, bg.stage)
		if i == len(bgStages)-1 {
			d.status, d.done = "SUCCESSFUL", now
			bg.green.rollout, bg.green.updated = "COMPLETED", now
			w.finishMonitors(d)
			w.serviceEvent(s, fmt.Sprintf("service deployment %s has completed.", d.arn))
			return
		}
		bg.stage, bg.stageAt, bg.workDone, bg.hooksStarted, bg.hooks = bgStages[i+1], now, false, false, nil
	}
}

func (w *World) finishMonitors(d *serviceDeployment) {
	if d.breakerStatus == "MONITORING" {
		d.breakerStatus = "MONITORING_COMPLETE"
	}
	if d.bg.alarmStatus == "MONITORING" {
		d.bg.alarmStatus = "MONITORING_COMPLETE"
	}
}

// stageWork does what a stage does, and tells whether it is done.
func (w *World) stageWork(s *service, d *serviceDeployment, now time.Time) bool {
	bg := d.bg
	switch bg.stage {
	case "RECONCILE_SERVICE":
		// A deployment that was stopped left its green revision running:
		// production and test go back to the revision that serves
		// production, and every other revision drains.
		w.writeWeights(bg, 0, 0)
		for _, ts := range slices.Clone(s.taskSets) {
			if ts != bg.blue && ts.status != "DRAINING" {
				w.drainTaskSet(s, ts)
			}
		}
		return true
	case "SCALE_UP":
		if bg.green == nil {
			bg.blue.setStatus("ACTIVE", now)
			g := w.newTaskSet(s, d.target, bg.greenLBs, "", "")
			g.status, g.rollout = "PRIMARY", "IN_PROGRESS"
			s.taskSets = append([]*taskSet{g}, s.taskSets...)
			s.taskDefinition = d.target
			bg.green, d.taskSet = g, g
			lazyMap(&w.bg.revisionOf)[g] = bg.target
		}
		return w.taskSetHealthy(s, bg.green, now)
	case "TEST_TRAFFIC_SHIFT":
		bg.testPct = 100
		w.writeWeights(bg, bg.prodPct, bg.testPct)
		return true
	case "PRODUCTION_TRAFFIC_SHIFT":
		if now.Before(bg.stepUntil) {
			return false
		}
		if bg.prodPct >= 100 {
			return true
		}
		next, wait := 100.0, time.Duration(0)
		c := bg.cfg
		switch bg.strategy {
		case "LINEAR":
			step, bake := 10.0, 6
			if c.Linear != nil && c.Linear.StepPercent != nil {
				step = *c.Linear.StepPercent
			}
			if c.Linear != nil && c.Linear.StepBake != nil {
				bake = *c.Linear.StepBake
			}
			next = math.Min(100, math.Round((bg.prodPct+step)*10)/10)
			wait = time.Duration(bake) * time.Minute
		case "CANARY":
			if bg.prodPct == 0 {
				pct, bake := 5.0, 10
				if c.Canary != nil && c.Canary.Percent != nil {
					pct = *c.Canary.Percent
				}
				if c.Canary != nil && c.Canary.Bake != nil {
					bake = *c.Canary.Bake
				}
				next, wait = pct, time.Duration(bake)*time.Minute
			}
		}
		bg.prodPct = next
		w.writeWeights(bg, bg.prodPct, bg.testPct)
		w.serviceEvent(s, fmt.Sprintf("service deployment %s shifted %.1f%% of production traffic to %s.", d.arn, next, bg.target))
		if next >= 100 {
			return true
		}
		bg.stepUntil = now.Add(wait) // the step bake time is not applied after 100 %
		return false
	case "BAKE_TIME":
		bake := 0
		if bg.cfg.Bake != nil {
			bake = *bg.cfg.Bake
		}
		bg.stepUntil = bg.stageAt.Add(time.Duration(bake) * time.Minute)
		return !now.Before(bg.stepUntil)
	case "CLEAN_UP":
		if bg.blue.status != "DRAINING" && !bg.blue.removed {
			w.drainTaskSet(s, bg.blue)
		}
		return bg.blue.removed
	}
	return true
}

// rulesReachBoth tells whether, for every load balancer, both target
// groups are in the production or the test rule's forward action, as ECS
// requires when a deployment starts (the migration guide quotes the error).
func (w *World) rulesReachBoth(bg *bgDeployment) bool {
	for _, lb := range bg.lbs {
		var as []action
		for _, arn := range []string{lb.prodRule, lb.testRule} {
			if r := w.rules[arn]; r != nil {
				as = append(as, r.actions...)
			} else if l := w.listeners[arn]; l != nil {
				as = append(as, l.actions...)
			}
		}
		if both := (&listener{actions: as}); !both.uses(lb.blueTG) || !both.uses(lb.greenTG) {
			return false
		}
	}
	return true
}

// writeWeights writes the green revision's production and test weights
// (percent) to the listener rules, the blue one getting the rest. ELBv2
// weights are whole numbers: a weight is rounded, and a green share above 0
// stays at least 1.
func (w *World) writeWeights(bg *bgDeployment, prod, test float64) {
	for _, lb := range bg.lbs {
		w.forwardRule(lb.prodRule, lb.blueTG, lb.greenTG, prod)
		if lb.testRule != "" {
			w.forwardRule(lb.testRule, lb.blueTG, lb.greenTG, test)
		}
	}
}

func (w *World) forwardRule(ruleARN, blue, green string, pct float64) {
	g := int(math.Round(pct))
	if pct > 0 && g == 0 {
		g = 1
	}
	a := action{Type: "forward", Forward: []weighted{{TargetGroupARN: blue, Weight: 100 - g}, {TargetGroupARN: green, Weight: g}}}
	if r := w.rules[ruleARN]; r != nil {
		r.actions = []action{a}
		return
	}
	if l := w.listeners[ruleARN]; l != nil {
		l.actions = []action{a}
	}
}

// runHooks starts the stage's hooks and tells whether they have all
// finished so the deployment may go on; a hook that failed, or timed out
// with action ROLLBACK, rolls the deployment back.
func (w *World) runHooks(s *service, d *serviceDeployment, now time.Time) bool {
	bg := d.bg
	if !bg.hooksStarted {
		bg.hooksStarted = true
		for _, h := range bg.cfg.Hooks {
			if !overlaps(h.LifecycleStages, hookStagesOf[bg.stage]) {
				continue
			}
			run := &hookRun{targetType: h.TargetType, targetArn: h.HookTargetArn, timeoutAction: "ROLLBACK"}
			if run.targetType == "" {
				run.targetType = "AWS_LAMBDA"
			}
			timeout := lambdaTimeout
			if run.targetType == "PAUSE" {
				timeout = pauseTimeoutDefault
			}
			if t := h.Timeout; t != nil {
				if t.Minutes != nil {
					timeout = time.Duration(*t.Minutes) * time.Minute
				}
				if t.Action != "" {
					run.timeoutAction = t.Action
				}
			}
			run.expires = now.Add(timeout)
			if run.targetType == "PAUSE" {
				run.id, run.status = "ecs-pause-"+randomID(43, idAlphabet+"abcdefghijklmnopqrstuvwxyz_"), "AWAITING_ACTION"
				w.serviceEvent(s, fmt.Sprintf("service deployment %s is paused at %s for ContinueServiceDeployment (hook %s).", d.arn, bg.stage, run.id))
			} else {
				run.id, run.status = "ecs-lambda-"+randomID(43, idAlphabet+"abcdefghijklmnopqrstuvwxyz_"), "IN_PROGRESS"
			}
			bg.hooks = append(bg.hooks, run)
			bg.ran = append(bg.ran, run)
		}
	}
	done := true
	for _, h := range bg.hooks {
		if h.targetType == "AWS_LAMBDA" && h.status == "IN_PROGRESS" && !now.Before(h.nextCall) {
			switch w.bg.hookAnswers[h.targetArn] {
			case "", "SUCCEEDED":
				h.status = "SUCCEEDED"
			case "FAILED":
				h.status = "FAILED"
			default: // IN_PROGRESS: invoked again later
				h.nextCall = now.Add(lambdaCallBack)
			}
		}
		if (h.status == "AWAITING_ACTION" || h.status == "IN_PROGRESS") && !now.Before(h.expires) {
			h.status = "TIMED_OUT"
			if h.timeoutAction == "ROLLBACK" {
				w.bgRollback(s, d, fmt.Sprintf("The lifecycle hook %s timed out at %s.", h.id, bg.stage))
				return false
			}
		}
		switch h.status {
		case "FAILED":
			w.bgRollback(s, d, fmt.Sprintf("The lifecycle hook %s failed at %s.", h.id, bg.stage))
			return false
		case "AWAITING_ACTION", "IN_PROGRESS":
			done = false
		}
	}
	return done
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

// alarmTriggered rolls the deployment back (or stops it) when one of its
// alarms is in ALARM while it is being monitored.
func (w *World) alarmTriggered(s *service, d *serviceDeployment) bool {
	bg := d.bg
	a := bg.cfg.Alarms
	if bg.alarmStatus != "MONITORING" || a == nil {
		return false
	}
	var firing []string
	for _, name := range a.Names {
		if al := w.alarms[name]; al != nil && al.state == "ALARM" {
			firing = append(firing, name)
		}
	}
	if len(firing) == 0 {
		return false
	}
	bg.alarmStatus, bg.triggered = "TRIGGERED", firing
	reason := fmt.Sprintf("CloudWatch alarm %s is in the ALARM state.", firing[0])
	if a.Rollback {
		w.bgRollback(s, d, reason)
	} else {
		d.status, d.reason, d.done = "STOPPED", reason, w.now()
	}
	return true
}

// bgRollback moves production and test traffic back to the blue revision
// at once and takes the green one away; the rollback is done once the green
// revision's tasks have drained.
func (w *World) bgRollback(s *service, d *serviceDeployment, reason string) {
	now := w.now()
	bg := d.bg
	d.status, d.reason, d.rollbackAt = "ROLLBACK_IN_PROGRESS", reason, now
	bg.rollbackReason = reason
	bg.prodPct, bg.testPct = 0, 0
	w.writeWeights(bg, 0, 0)
	for _, h := range bg.hooks {
		if h.status == "AWAITING_ACTION" || h.status == "IN_PROGRESS" {
			h.status = "FAILED"
		}
	}
	bg.blue.setStatus("PRIMARY", now)
	s.taskDefinition = bg.blue.taskDefinition
	if g := bg.green; g != nil && !g.removed {
		g.rollout, g.rolloutReason = "FAILED", reason
		if g.status != "DRAINING" {
			w.drainTaskSet(s, g)
		}
	}
	w.serviceEvent(s, fmt.Sprintf("service deployment %s is rolling back: %s", d.arn, reason))
}

// bgDueTimes reports when a blue/green deployment moves on by itself: a
// production step's or the bake time's end, a hook's expiry.
func (w *World) bgDueTimes(s *service, due func(time.Time)) {
	for _, d := range s.serviceDeployments {
		if d.bg != nil && d.status == "ROLLBACK_REQUESTED" {
			due(d.bg.requestedAt.Add(rollbackRequestDelay))
		}
		if d.bg == nil || d.status != "IN_PROGRESS" {
			continue
		}
		due(d.bg.stepUntil)
		if d.bg.stage == "BAKE_TIME" && d.bg.cfg.Bake != nil {
			due(d.bg.stageAt.Add(time.Duration(*d.bg.cfg.Bake) * time.Minute))
		}
		for _, h := range d.bg.hooks {
			if h.status == "AWAITING_ACTION" || h.status == "IN_PROGRESS" {
				due(h.expires)
			}
			if h.status == "IN_PROGRESS" {
				due(h.nextCall)
			}
		}
	}
}

// bgDeploymentOut is a blue/green deployment as ListServiceDeployments
// (full false) and DescribeServiceDeployments show it.
func (w *World) bgDeploymentOut(s *service, d *serviceDeployment, full bool) map[string]any {
	bg := d.bg
	out := map[string]any{
		"serviceDeploymentArn": d.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN, "status": d.status,
		"createdAt": wire.EpochSeconds(d.created), "startedAt": wire.EpochSeconds(d.started), "targetServiceRevisionArn": bg.target,
	}
	if d.reason != "" {
		out["statusReason"] = d.reason
	}
	if !d.done.IsZero() {
		out["finishedAt"] = wire.EpochSeconds(d.done)
	}
	if !full {
		return out
	}
	now := w.now()
	count := func(ts *taskSet) (int, int) {
		if ts == nil || ts.removed {
			return 0, 0
		}
		r := ts.running(now)
		return r, len(ts.tasks) - r
	}
	greenReq := 0
	if bg.green != nil && !bg.green.removed {
		greenReq = bg.green.computedDesired(s)
	}
	gr, gp := count(bg.green)
	out["targetServiceRevision"] = map[string]any{
		"arn": bg.target, "requestedTaskCount": greenReq, "runningTaskCount": gr, "pendingTaskCount": gp,
		"requestedProductionTrafficWeight": bg.prodPct, "requestedTestTrafficWeight": bg.testPct,
	}
	blueReq := 0
	if !bg.blue.removed {
		blueReq = bg.blue.computedDesired(s)
	}
	br, bp := count(bg.blue)
	out["sourceServiceRevisions"] = []any{map[string]any{
		"arn": bg.sourceRev, "requestedTaskCount": blueReq, "runningTaskCount": br, "pendingTaskCount": bp,
		"requestedProductionTrafficWeight": 100 - bg.prodPct, "requestedTestTrafficWeight": 100 - bg.testPct,
	}}
	if d.status == "IN_PROGRESS" {
		out["lifecycleStage"] = bg.stage
	}
	hooks := []any{}
	for _, h := range bg.ran {
		x := map[string]any{"hookId": h.id, "targetType": h.targetType, "status": h.status, "timeoutAction": h.timeoutAction, "expiresAt": wire.EpochSeconds(h.expires)}
		if h.targetArn != "" {
			x["targetArn"] = h.targetArn
		}
		hooks = append(hooks, x)
	}
	out["lifecycleHookDetails"] = hooks
	out["deploymentConfiguration"] = s.deploymentConfigurationOut()
	updated := d.started
	for _, t := range []time.Time{bg.stageAt, d.rollbackAt, d.done} {
		if t.After(updated) {
			updated = t
		}
	}
	out["updatedAt"] = wire.EpochSeconds(updated)
	out["deploymentCircuitBreaker"] = map[string]any{"status": d.breakerStatus, "failureCount": d.failures, "threshold": d.threshold}
	alarms := map[string]any{"status": bg.alarmStatus, "alarmNames": []string{}, "triggeredAlarmNames": nonNilStrings(bg.triggered)}
	if a := bg.cfg.Alarms; a != nil {
		alarms["alarmNames"] = nonNilStrings(a.Names)
	}
	out["alarms"] = alarms
	if !d.rollbackAt.IsZero() {
		out["rollback"] = map[string]any{"reason": d.reason, "startedAt": wire.EpochSeconds(d.rollbackAt), "serviceRevisionArn": bg.sourceRev}
	}
	if d.status == "STOPPED" || d.status == "ROLLBACK_SUCCESSFUL" {
		out["stoppedAt"] = wire.EpochSeconds(d.done)
	}
	return out
}

// continueServiceDeployment resumes a deployment paused at a PAUSE hook.
func (w *World) continueServiceDeployment(body []byte) (any, error) {
	var in struct {
		ARN    string `json:"serviceDeploymentArn"`
		HookID string `json:"hookId"`
		Action string `json:"action"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.ARN == "" || in.HookID == "" {
		return nil, invalidParam("serviceDeploymentArn and hookId are required.")
	}
	s, d := w.findServiceDeployment(in.ARN)
	if d == nil {
		return nil, wire.Errorf("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", in.ARN)
	}
	if in.Action == "" {
		in.Action = "CONTINUE"
	}
	if in.Action != "CONTINUE" && in.Action != "ROLLBACK" {
		return nil, invalidParam("action must be CONTINUE or ROLLBACK.")
	}
	var hook *hookRun
	if d.bg != nil {
		for _, h := range d.bg.ran {
			if h.id == in.HookID {
				hook = h
			}
		}
	}
	if hook == nil {
		return nil, invalidParam("The service deployment %s has no lifecycle hook %s: take hookId from DescribeServiceDeployments' lifecycleHookDetails.", in.ARN, in.HookID)
	}
	if d.status != "IN_PROGRESS" || hook.status != "AWAITING_ACTION" {
		return nil, wire.Errorf("ConflictException", "The lifecycle hook %s is %s and the service deployment %s; only a PAUSE hook AWAITING_ACTION of an IN_PROGRESS deployment can be continued.", in.HookID, hook.status, d.status)
	}
	if in.Action == "ROLLBACK" {
		hook.status = "FAILED"
		w.bgRollback(s, d, fmt.Sprintf("ContinueServiceDeployment rolled back at the lifecycle hook %s.", hook.id))
	} else {
		hook.status = "SUCCEEDED"
	}
	return map[string]string{"serviceDeploymentArn": d.arn}, nil
}

// describeServiceRevisions answers DescribeServiceRevisions.
func (w *World) describeServiceRevisions(body []byte) (any, error) {
	var in struct {
		ARNs []string `json:"serviceRevisionArns"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.ARNs) == 0 || len(in.ARNs) > 20 {
		return nil, invalidParam("serviceRevisionArns must hold 1 to 20 ARNs.")
	}
	out, failures := []any{}, []any{}
	for _, arn := range in.ARNs {
		r := w.bg.revisions[arn]
		if r == nil {
			failures = append(failures, map[string]string{"arn": arn, "reason": "MISSING"})
			continue
		}
		s := w.services[revisionService(arn)]
		x := map[string]any{"serviceRevisionArn": r.arn, "taskDefinition": r.taskDefinition, "loadBalancers": r.loadBalancers, "createdAt": wire.EpochSeconds(r.created)}
		if s != nil {
			x["serviceArn"], x["clusterArn"], x["launchType"] = s.arn, s.clusterARN, s.launchType
			if len(s.network) > 0 {
				x["networkConfiguration"] = s.network
			}
			if s.platformVersion != "" {
				x["platformVersion"] = s.platformVersion
			}
		}
		if td := w.taskDefByARN(r.taskDefinition); td != nil {
			imgs := []any{}
			for _, c := range td.containers {
				imgs = append(imgs, map[string]string{"containerName": c.Name, "image": c.Image})
			}
			x["containerImages"] = imgs
		}
		out = append(out, x)
	}
	return map[string]any{"serviceRevisions": out, "failures": failures}, nil
}

// revisionService is "cluster/service" of a service revision ARN.
func revisionService(arn string) string {
	_, rest, ok := strings.Cut(arn, ":service-revision/")
	if i := strings.LastIndex(rest, "/"); ok && i > 0 {
		return rest[:i]
	}
	return ""
}

// revisionOfTaskDef is the latest service revision of the service that
// ran taskDef, made now if none did.
func (w *World) revisionOfTaskDef(s *service, taskDef string) string {
	for i := len(s.serviceDeployments) - 1; i >= 0; i-- {
		if d := s.serviceDeployments[i]; d.target == taskDef && d.targetRev != "" {
			return d.targetRev
		}
	}
	return w.newRevision(s, taskDef, s.loadBalancers, w.now())
}

// bgServiceOut adds what a blue/green service shows beyond a rolling one:
// its current service deployment and the revisions it runs.
func (w *World) bgServiceOut(s *service, out map[string]any) {
	if s.controller != "ECS" || len(s.serviceDeployments) == 0 {
		return
	}
	out["currentServiceDeployment"] = s.serviceDeployments[len(s.serviceDeployments)-1].arn
	if !s.isBlueGreen() {
		return
	}
	now := w.now()
	revs := []any{}
	for _, ts := range s.taskSets {
		arn := w.bg.revisionOf[ts]
		if arn == "" || ts.status == "DRAINING" {
			continue
		}
		r := ts.running(now)
		revs = append(revs, map[string]any{"arn": arn, "requestedTaskCount": ts.computedDesired(s), "runningTaskCount": r, "pendingTaskCount": len(ts.tasks) - r})
	}
	out["currentServiceRevisions"] = revs
}

// SetLifecycleHookAnswer makes the Lambda function lambdaARN answer status
// (SUCCEEDED, FAILED or IN_PROGRESS) whenever an ECS service deployment runs
// it as a lifecycle hook; "" restores the default, SUCCEEDED. The simulator
// runs no Lambda functions: this control plays their part.
func (w *World) SetLifecycleHookAnswer(lambdaARN, status string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	defer w.settle()
	if status == "" {
		delete(w.bg.hookAnswers, lambdaARN)
		return
	}
	lazyMap(&w.bg.hookAnswers)[lambdaARN] = status
}
