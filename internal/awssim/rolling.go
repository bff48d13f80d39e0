package awssim

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ECS rolling deployments (deploymentController ECS) as the ECS docs
// describe them: the new deployment's tasks start next to the old ones
// (maximumPercent 200), and once they run and pass their load balancer
// health checks the old deployment drains and stops; the deployment
// circuit breaker fails a deployment whose tasks keep failing and, when
// asked, rolls back to the last completed one. Services tell what happened
// in events[], newest first.

// maxServiceEvents is how many events DescribeServices returns.
const maxServiceEvents = 100

type serviceEvent struct {
	id, message string
	at          time.Time
}

// circuitBreaker is a service's deploymentCircuitBreaker setting.
type circuitBreaker struct {
	enable, rollback bool
}

// serviceSettings are the members of CreateService and UpdateService that
// shape how ECS runs the service's deployments.
type serviceSettings struct {
	GracePeriod *int            `json:"healthCheckGracePeriodSeconds"`
	Config      json.RawMessage `json:"deploymentConfiguration"`
}

// applyServiceSettings reads the health check grace period and the
// deployment configuration from a CreateService or UpdateService body; the
// configuration is kept as sent, so every member comes back.
func (w *World) applyServiceSettings(s *service, body []byte) error {
	var in serviceSettings
	if err := wire.DecodeJSON(body, &in); err != nil {
		return err
	}
	if in.GracePeriod != nil {
		if *in.GracePeriod < 0 || *in.GracePeriod > 2147483647 {
			return invalidParam("healthCheckGracePeriodSeconds must be from 0 to 2147483647.")
		}
		if len(s.loadBalancers) == 0 && *in.GracePeriod > 0 {
			return invalidParam("Health check grace period is only valid for services configured to use load balancers")
		}
		s.gracePeriod = time.Duration(*in.GracePeriod) * time.Second
	}
	if len(in.Config) == 0 || string(in.Config) == "null" {
		return nil
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(in.Config, &cfg); err != nil {
		return invalidParam("deploymentConfiguration is not an object.")
	}
	var parsed struct {
		Max     *int `json:"maximumPercent"`
		Min     *int `json:"minimumHealthyPercent"`
		Breaker *struct {
			Enable   bool `json:"enable"`
			Rollback bool `json:"rollback"`
		} `json:"deploymentCircuitBreaker"`
	}
	if err := json.Unmarshal(in.Config, &parsed); err != nil {
		return invalidParam("deploymentConfiguration is not valid: %v", err)
	}
	if parsed.Max != nil && (*parsed.Max < 100 || *parsed.Max > 200) && s.controller == "ECS" {
		return invalidParam("maximumPercent must be from 100 to 200 for a rolling deployment.")
	}
	if parsed.Min != nil && (*parsed.Min < 0 || *parsed.Min > 100) {
		return invalidParam("minimumHealthyPercent must be from 0 to 100.")
	}
	if s.deployConfig == nil {
		s.deployConfig = map[string]json.RawMessage{}
	}
	for k, v := range cfg {
		s.deployConfig[k] = v
	}
	if parsed.Breaker != nil {
		s.breaker = circuitBreaker{enable: parsed.Breaker.Enable, rollback: parsed.Breaker.Rollback}
	}
	return nil
}

// deploymentConfigurationOut is the deployment configuration as
// DescribeServices shows it: what was sent, over ECS's defaults.
func (s *service) deploymentConfigurationOut() map[string]any {
	out := map[string]any{"maximumPercent": 200, "minimumHealthyPercent": 100}
	if s.controller == "ECS" {
		out["deploymentCircuitBreaker"] = map[string]bool{"enable": false, "rollback": false}
		out["strategy"] = "ROLLING"
	}
	for k, v := range s.deployConfig {
		out[k] = v
	}
	return out
}

// serviceEvent records what happened to a service, at the world's time.
func (w *World) serviceEvent(s *service, message string) { w.recordEvent(s, nil, message) }

// taskSetEvent records what happened to one of a service's task sets: ECS
// names the task set too when the service's deployments are made of task
// sets (CodeDeploy, external), not when it runs rolling deployments.
func (w *World) taskSetEvent(s *service, ts *taskSet, message string) {
	if s.controller == "ECS" {
		ts = nil
	}
	w.recordEvent(s, ts, message)
}

func (w *World) recordEvent(s *service, ts *taskSet, message string) {
	prefix := "(service " + s.name + ") "
	if ts != nil {
		prefix = "(service " + s.name + ", taskSet " + ts.id + ") "
	}
	e := serviceEvent{id: hexID(8) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(12), message: prefix + message, at: w.now()}
	s.events = append([]serviceEvent{e}, s.events...)
	if len(s.events) > maxServiceEvents {
		s.events = s.events[:maxServiceEvents]
	}
}

func (s *service) eventsOut() []any {
	out := make([]any, 0, len(s.events))
	for _, e := range s.events {
		out = append(out, map[string]any{"id": e.id, "createdAt": wire.EpochSeconds(e.at), "message": e.message})
	}
	return out
}

// failureThreshold is when the circuit breaker trips: half the desired
// count, at least 3 and at most 200 failed tasks.
func failureThreshold(desired int) int {
	return min(200, max(3, int(math.Ceil(float64(desired)/2))))
}

// startRolling starts a rolling deployment of taskDef: a new PRIMARY
// deployment next to the old ones, which stay ACTIVE until it is healthy.
func (w *World) startRolling(s *service, taskDef string) *taskSet {
	now := w.now()
	for _, old := range s.taskSets {
		if old.status == "PRIMARY" {
			old.setStatus("ACTIVE", now)
		}
	}
	ts := w.newTaskSet(s, taskDef, s.loadBalancers, "", "")
	ts.status, ts.rollout = "PRIMARY", "IN_PROGRESS"
	s.taskSets = append([]*taskSet{ts}, s.taskSets...)
	s.taskDefinition = taskDef
	return ts
}

func (w *World) startServiceDeployment(s *service, source, target string, ts *taskSet) {
	now := w.now()
	for _, d := range s.serviceDeployments {
		if d.status == "IN_PROGRESS" || d.status == "PENDING" || d.status == "ROLLBACK_IN_PROGRESS" {
			d.status, d.reason, d.done = "STOPPED", "superseded by a newer deployment", now
		}
	}
	d := &serviceDeployment{
		arn:    w.arn("ecs", "service-deployment/"+s.cluster+"/"+s.name+"/"+randomID(21, idAlphabet)),
		status: "IN_PROGRESS", source: source, target: target, created: now, started: now, taskSet: ts,
		threshold: failureThreshold(s.desired),
	}
	d.targetRev = w.newRevision(s, target, ts.loadBalancers, now)
	lazyMap(&w.bg.revisionOf)[ts] = d.targetRev
	if source != "" {
		d.sourceRev = w.revisionOfTaskDef(s, source)
	}
	if !s.breaker.enable {
		d.breakerStatus = "DISABLED"
	} else {
		d.breakerStatus = "MONITORING"
	}
	s.serviceDeployments = append(s.serviceDeployments, d)
}

// healthy tells whether every task of the set runs and, in every target
// group that is routed to, passes its health checks.
func (w *World) taskSetHealthy(s *service, ts *taskSet, now time.Time) bool {
	if !ts.steady(s, now) {
		return false
	}
	for _, lb := range ts.loadBalancers {
		tg := w.targetGroups[lb.TargetGroupArn]
		if tg == nil || !tg.inUse {
			continue // no listener routes to it: the load balancer gives no verdict
		}
		for _, t := range ts.tasks {
			for _, x := range tg.targets {
				if x.id == t.ip && x.port == lb.ContainerPort && x.deregistered.IsZero() {
					if state, _, _ := tg.health(x, now); state != "healthy" {
						return false
					}
				}
			}
		}
	}
	return true
}

// advanceServiceDeployments moves rolling deployments on: once the new
// deployment is healthy the old ones drain, and once they are gone the
// deployment is complete and the service steady.
func (w *World) advanceServiceDeployments(s *service, now time.Time) {
	defer w.noteSteadyState(s, now)
	if s.controller != "ECS" {
		return
	}
	for _, d := range s.serviceDeployments {
		if d.bg != nil {
			w.advanceBlueGreen(s, d, now)
			continue
		}
		ts := d.active()
		if ts == nil || (d.status != "IN_PROGRESS" && d.status != "ROLLBACK_IN_PROGRESS") {
			continue
		}
		if !w.taskSetHealthy(s, ts, now) {
			continue
		}
		others := false
		for _, old := range s.taskSets {
			if old == ts {
				continue
			}
			others = true
			if old.status != "DRAINING" {
				w.drainTaskSet(s, old)
			}
		}
		if others {
			continue
		}
		ts.rollout = "COMPLETED"
		ts.updated = now
		d.done = now
		if d.status == "ROLLBACK_IN_PROGRESS" {
			d.status = "ROLLBACK_SUCCESSFUL"
		} else {
			d.status = "SUCCESSFUL"
		}
		if d.breakerStatus == "MONITORING" {
			d.breakerStatus = "MONITORING_COMPLETE"
		}
		w.serviceEvent(s, fmt.Sprintf("deployment %s has completed.", ts.id))
	}
}

// noteSteadyState reports, once per change, that a service runs one task
// set, all of whose tasks run and are healthy.
func (w *World) noteSteadyState(s *service, now time.Time) {
	steady := len(s.taskSets) == 1 && w.taskSetHealthy(s, s.taskSets[0], now)
	if steady && !s.steadyNoted {
		w.serviceEvent(s, "has reached a steady state.")
	}
	s.steadyNoted = steady
}

// active is the task set a service deployment is bringing up: its own, or
// the one its rollback started.
func (d *serviceDeployment) active() *taskSet {
	if d.rollbackSet != nil {
		return d.rollbackSet
	}
	return d.taskSet
}

// afterTaskFailure counts a failed task against the deployment circuit
// breaker of the rolling deployment it belongs to.
func (w *World) afterTaskFailure(s *service, ts *taskSet) {
	if s.controller != "ECS" || !s.breaker.enable || ts.rollout != "IN_PROGRESS" {
		return
	}
	var d *serviceDeployment
	for _, x := range s.serviceDeployments {
		if x.taskSet == ts && x.status == "IN_PROGRESS" {
			d = x
		}
	}
	if d == nil {
		return
	}
	d.failures = ts.healthStops
	if d.failures < d.threshold {
		return
	}
	now := w.now()
	d.breakerStatus = "TRIGGERED"
	ts.rollout, ts.rolloutReason, ts.updated = "FAILED", "ECS deployment circuit breaker: tasks failed to start.", now
	w.serviceEvent(s, fmt.Sprintf("(deployment %s) deployment failed: tasks failed to start.", ts.id))
	if !s.breaker.rollback || d.source == "" {
		// ECS stops launching tasks for the failed deployment.
		ts.halted = true
		d.status, d.reason, d.done = "STOPPED", "ECS deployment circuit breaker: tasks failed to start.", now
		return
	}
	w.rollBackTo(s, d, "ECS deployment circuit breaker: rolling back to the last completed deployment.")
}

// rollBackTo rolls the service back to the deployment's source task
// definition as ECS does: the most recent COMPLETED deployment becomes the
// rollback deployment (PRIMARY and IN_PROGRESS again; a new one when it is
// gone), and the failed deployment's tasks drain once it is healthy.
func (w *World) rollBackTo(s *service, d *serviceDeployment, reason string) {
	if d.bg != nil {
		w.bgRollback(s, d, reason)
		return
	}
	now := w.now()
	d.status, d.reason, d.rollbackAt = "ROLLBACK_IN_PROGRESS", reason, now
	failed := d.taskSet
	var rb *taskSet
	for _, ts := range s.taskSets {
		if ts != failed && ts.rollout == "COMPLETED" && ts.status != "DRAINING" && ts.taskDefinition == d.source {
			rb = ts
		}
	}
	if rb == nil {
		rb = w.startRolling(s, d.source)
	} else {
		for _, ts := range s.taskSets {
			if ts.status == "PRIMARY" {
				ts.setStatus("ACTIVE", now)
			}
		}
		rb.setStatus("PRIMARY", now)
		rb.rollout, rb.updated = "IN_PROGRESS", now
		s.taskDefinition = rb.taskDefinition
		// PRIMARY first, as deployments[] lists them.
		order := []*taskSet{rb}
		for _, ts := range s.taskSets {
			if ts != rb {
				order = append(order, ts)
			}
		}
		s.taskSets = order
	}
	d.rollbackSet = rb
	if failed != nil && failed.status != "DRAINING" {
		failed.setStatus("ACTIVE", now)
		failed.halted = true
	}
	w.serviceEvent(s, fmt.Sprintf("rolling back to deployment %s.", rb.id))
}

// deploymentsOut is deployments[] of an ECS-controller service: one entry
// per deployment, the PRIMARY first.
func (w *World) deploymentsOut(s *service, now time.Time) []any {
	deps := []any{}
	for _, ts := range s.taskSets {
		status := ts.status
		if status == "DRAINING" {
			status = "ACTIVE"
		}
		rollout, reason := ts.rollout, ts.rolloutReason
		if reason == "" {
			switch rollout {
			case "IN_PROGRESS":
				reason = "ECS deployment " + ts.id + " in progress."
			case "COMPLETED":
				reason = "ECS deployment " + ts.id + " completed."
			}
		}
		running := ts.running(now)
		dep := map[string]any{
			"id": ts.id, "status": status, "taskDefinition": ts.taskDefinition, "desiredCount": ts.computedDesired(s),
			"runningCount": running, "pendingCount": len(ts.tasks) - running, "rolloutState": rollout, "rolloutStateReason": reason,
			"failedTasks": ts.healthStops, "createdAt": wire.EpochSeconds(ts.created), "updatedAt": wire.EpochSeconds(ts.updated),
			"launchType": s.launchType,
		}
		if s.platformVersion != "" {
			dep["platformVersion"] = s.platformVersion
		}
		if len(s.network) > 0 {
			dep["networkConfiguration"] = s.network
		}
		deps = append(deps, dep)
	}
	return deps
}
