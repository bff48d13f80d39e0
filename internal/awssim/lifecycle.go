package awssim

import (
	"fmt"
	"math"
	"time"
)

// The CodeDeploy ECS blue/green lifecycle (aws-facts §2.3) as a schedule:
// advanceDeployment makes the transitions due at the world's time, and
// deploymentDueTimes tells World.advance when the next one is due, so a
// deployment's timeline is the same whoever watches it.
//
// Task sets go as the ECS docs describe: the original is PRIMARY, the
// replacement ACTIVE until production traffic has moved to it, then PRIMARY
// (service.taskDefinition follows it) while the original waits out the
// termination wait as ACTIVE; the original then drains for its target
// group's deregistration delay and is gone, and only then is the deployment
// Succeeded. CodeDeploy keeps the group it moved traffic away from in the
// listener's forward action at weight 0, so that the next deployment's
// replacement is health-checked during Install.

// advanceDeployment moves a deployment through its lifecycle up to now.
func (w *World) advanceDeployment(d *deployment, now time.Time) {
	if d == nil || !isActive(d.status) {
		return
	}
	g := w.groups[d.app+"/"+d.group]
	var svc *service
	if g != nil {
		svc, _ = w.service(g.cluster, g.service)
	}
	if g == nil || svc == nil {
		w.end(d, "Failed", "INVALID_ECS_SERVICE", "The ECS service of the deployment group no longer exists.", false, now)
		return
	}
	if !d.stopAt.IsZero() {
		if at := d.stopAt.Add(stopDelay); !now.Before(at) {
			w.end(d, "Stopped", "MANUAL_STOP", "The deployment was stopped by the user.", d.stopRollback, at)
		}
		return // CodeDeploy does nothing more for a deployment it is stopping
	}
	if d.rollbackOf != "" {
		w.advanceRollback(d, g, svc, now)
		return
	}
	if d.status == "Created" {
		d.status, d.started, d.targetStatus = "InProgress", now, "InProgress"
		d.phase = 0
	}
	for i := 0; i < 100 && isActive(d.status); i++ {
		if name := w.deploymentAlarmFiring(d, g); name != "" {
			w.end(d, "Stopped", "ALARM_ACTIVE", fmt.Sprintf("One or more alarms have been activated according to the Amazon CloudWatch metrics. The alarm %s is in the ALARM state.", name), d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_STOP_ON_ALARM"), now)
			return
		}
		if !w.step(d, g, svc, now) {
			return
		}
	}
}

// deploymentDueTimes reports when a deployment's next time-driven
// transition is due: a hook's timeout, Install's timeout, the next canary or
// linear step, the end of the Ready or termination wait, a requested stop.
// Transitions that wait on tasks and health checks are due when those are
// (serviceDueTimes, targetGroup.dueTimes).
func (w *World) deploymentDueTimes(d *deployment, due func(time.Time)) {
	if d == nil || !isActive(d.status) {
		return
	}
	if !d.stopAt.IsZero() {
		due(d.stopAt.Add(stopDelay))
		return
	}
	g := w.groups[d.app+"/"+d.group]
	if g == nil || d.rollbackOf != "" {
		return
	}
	if d.phase >= 0 && d.phase < len(ecsEvents) {
		name := ecsEvents[d.phase]
		e := d.events[name]
		if h := d.hooks[name]; h != nil && h.status == "InProgress" {
			due(h.started.Add(hookTimeout))
		}
		if name == "Install" && e.status == "InProgress" {
			due(e.start.Add(installTimeout))
		}
		if c := w.configs[d.config]; name == "AllowTraffic" && e.status == "InProgress" && c != nil && c.typ != "AllAtOnce" && c.interval > 0 {
			interval := time.Duration(c.interval) * time.Minute
			n := int(w.now().Sub(d.trafficStart) / interval)
			due(d.trafficStart.Add(time.Duration(n+1) * interval))
		}
	}
	if d.status == "Ready" && g.readyWait > 0 {
		due(d.readySince.Add(time.Duration(g.readyWait) * time.Minute))
	}
	if !d.terminationSince.IsZero() && !d.finish && d.blue != nil && d.blue.status != "DRAINING" {
		due(d.terminationSince.Add(time.Duration(g.terminationWait) * time.Minute))
	}
}

// lastUpdated is when the deployment's target last changed.
func (d *deployment) lastUpdated() time.Time {
	last := d.created
	for _, t := range []time.Time{d.started, d.completed, d.readySince, d.terminationSince, d.weightAt} {
		if t.After(last) {
			last = t
		}
	}
	for _, e := range d.events {
		for _, t := range []time.Time{e.start, e.end} {
			if t.After(last) {
				last = t
			}
		}
	}
	return last
}

func (w *World) alarmFiring(g *deploymentGroup) string {
	if !g.alarmsEnabled {
		return ""
	}
	for _, name := range g.alarms {
		if a := w.alarms[name]; a != nil && a.state == "ALARM" {
			return name
		}
	}
	return ""
}

// step makes one transition if it is due, and reports whether it did.
func (w *World) step(d *deployment, g *deploymentGroup, svc *service, now time.Time) bool {
	if d.phase >= len(ecsEvents) {
		return w.stepTermination(d, g, svc, now)
	}
	name := ecsEvents[d.phase]
	e := d.events[name]
	if e.status == "Pending" {
		e.status, e.start = "InProgress", now
		if h := d.hooks[name]; h != nil {
			h.status, h.started = "InProgress", now
		}
		w.startSystemEvent(d, g, svc, name, now)
		return true
	}
	if e.status != "InProgress" {
		return w.nextPhase(d, g, now)
	}
	if h := d.hooks[name]; h != nil && name != "Install" && name != "AllowTestTraffic" && name != "AllowTraffic" {
		switch {
		case h.status == "Succeeded":
			e.status, e.end = "Succeeded", now
		case h.status == "Failed":
			e.status, e.end, e.errorCode, e.message = "Failed", now, "ScriptFailed", fmt.Sprintf("The lifecycle hook %s reported Failed.", h.lambda)
			w.end(d, "Failed", "HOOK_EXECUTION_FAILURE", fmt.Sprintf("The deployment failed because the %s lifecycle hook %s reported Failed.", name, h.lambda), name != "BeforeInstall" && d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_FAILURE"), now)
		case now.Sub(h.started) >= hookTimeout:
			h.status = "Failed"
			e.status, e.end, e.errorCode, e.message = "Failed", h.started.Add(hookTimeout), "ScriptTimedOut", "The lifecycle hook did not report a status within an hour."
			w.end(d, "Failed", "HOOK_EXECUTION_FAILURE", fmt.Sprintf("The %s lifecycle hook %s did not report a status within an hour.", name, h.lambda), name != "BeforeInstall" && d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_FAILURE"), now)
		default:
			return false
		}
		return true
	}
	switch name {
	case "Install":
		return w.stepInstall(d, svc, e, now)
	case "AllowTraffic":
		return w.stepTraffic(d, g, svc, e, now)
	default:
		e.status, e.end = "Succeeded", now
		return true
	}
}

// startSystemEvent does what CodeDeploy does when an event begins.
func (w *World) startSystemEvent(d *deployment, g *deploymentGroup, svc *service, name string, now time.Time) {
	switch name {
	case "Install":
		var primary *taskSet
		for _, ts := range svc.taskSets {
			if ts.status == "PRIMARY" {
				primary = ts
			}
		}
		d.blue = primary
		d.blueTaskDef = svc.taskDefinition
		if primary != nil && len(primary.loadBalancers) > 0 {
			d.blueTG = primary.loadBalancers[0].TargetGroupArn
		}
		for _, n := range g.tgNames {
			if tg := w.tgByName(n); tg != nil && tg.ARN != d.blueTG {
				d.greenTG = tg.ARN
			}
		}
		if d.blueTG == "" {
			if tg := w.tgByName(g.tgNames[0]); tg != nil {
				d.blueTG = tg.ARN
			}
		}
		d.green = w.newTaskSet(svc, d.taskDef, []lbRef{{TargetGroupArn: d.greenTG, ContainerName: d.container, ContainerPort: d.port}}, "CODE_DEPLOY", d.id)
		svc.taskSets = append(svc.taskSets, d.green)
	case "AllowTestTraffic":
		e := d.events[name]
		if g.testListener == "" {
			e.status, e.end = "Skipped", now
			if x := d.events["AfterAllowTestTraffic"]; x != nil && d.hooks["AfterAllowTestTraffic"] == nil {
				x.status = "Skipped"
			}
			return
		}
		w.forward(g.testListener, []weighted{{TargetGroupARN: d.blueTG, Weight: 0}, {TargetGroupARN: d.greenTG, Weight: 100}})
	case "AllowTraffic":
		d.trafficStart = now
	}
}

// stepInstall ends Install once the replacement task set is steady and, when
// a listener routes to its target group (at weight 0 counts), its targets
// pass their health checks; a group nothing routes to gets no load balancer
// verdict, so running tasks are enough.
func (w *World) stepInstall(d *deployment, svc *service, e *lifecycleEvent, now time.Time) bool {
	tg := w.targetGroups[d.greenTG]
	if tg == nil {
		return false
	}
	want := d.green.computedDesired(svc)
	ready := d.green.steady(svc, now)
	if ready && tg.inUse {
		healthy, _ := tg.healthyCount(now)
		ready = healthy >= want
	}
	switch {
	case ready:
		e.status, e.end = "Succeeded", now
		return true
	case d.green.healthStops >= want:
		// ECS replaces tasks that fail their health checks; once as many have
		// failed as the task set needs, it will not get steady.
		e.status, e.end, e.errorCode, e.message = "Failed", now, "UnknownError", fmt.Sprintf("The replacement task set's tasks failed their health checks in target group %s.", tg.Name)
		w.end(d, "Failed", "ECS_UPDATE_ERROR", "The ECS service cannot reach a steady state: the replacement tasks failed their load balancer health checks ("+tg.Name+").", d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_FAILURE"), now)
		return true
	case now.Sub(e.start) >= installTimeout:
		at := e.start.Add(installTimeout)
		e.status, e.end, e.errorCode, e.message = "Failed", at, "UnknownError", "The replacement task set did not become healthy in time."
		w.end(d, "Failed", "TIMEOUT", "The replacement task set did not become healthy in time.", d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_FAILURE"), at)
		return true
	}
	return false
}

// stepTraffic shifts production traffic per the deployment configuration;
// once all of it has moved, the replacement is the PRIMARY task set.
func (w *World) stepTraffic(d *deployment, g *deploymentGroup, svc *service, e *lifecycleEvent, now time.Time) bool {
	c := w.configs[d.config]
	target := 100.0
	if c != nil && c.typ != "AllAtOnce" && c.interval > 0 {
		steps := int(now.Sub(d.trafficStart) / (time.Duration(c.interval) * time.Minute))
		switch c.typ {
		case "TimeBasedCanary":
			if steps == 0 {
				target = float64(c.percent)
			}
		case "TimeBasedLinear":
			target = math.Min(100, float64(c.percent*(steps+1)))
		}
	}
	if target != d.greenWeight {
		d.greenWeight, d.weightAt = target, now
		w.forward(g.prodListener, []weighted{{TargetGroupARN: d.blueTG, Weight: int(100 - target)}, {TargetGroupARN: d.greenTG, Weight: int(target)}})
		if target < 100 {
			return true
		}
	}
	if d.greenWeight >= 100 {
		e.status, e.end = "Succeeded", now
		d.green.setStatus("PRIMARY", now)
		if d.blue != nil {
			d.blue.setStatus("ACTIVE", now)
		}
		svc.taskDefinition = d.green.taskDefinition
		return true
	}
	return false
}

// forward points a listener's default forward action at the given groups.
func (w *World) forward(listenerARN string, to []weighted) {
	l := w.listeners[listenerARN]
	if l == nil {
		return
	}
	var keep []weighted
	for _, x := range to {
		if x.TargetGroupARN != "" {
			keep = append(keep, x)
		}
	}
	a := action{Type: "forward", Forward: keep}
	if len(keep) == 1 {
		a.TargetGroupARN = keep[0].TargetGroupARN
	}
	l.actions = []action{a}
	w.routingChanged = true
}

func (w *World) nextPhase(d *deployment, g *deploymentGroup, now time.Time) bool {
	// The Ready wait sits after the test traffic hook, before production moves.
	if ecsEvents[d.phase] == "AfterAllowTestTraffic" && g.readyAction == "STOP_DEPLOYMENT" && !d.continued {
		if !d.ready {
			d.ready, d.readySince, d.status, d.targetStatus = true, now, "Ready", "Ready"
			return true
		}
		if g.readyWait > 0 && now.Sub(d.readySince) >= time.Duration(g.readyWait)*time.Minute {
			w.end(d, "Stopped", "TIMEOUT", "The deployment timed out waiting at Ready for ContinueDeployment.", true, d.readySince.Add(time.Duration(g.readyWait)*time.Minute))
			return true
		}
		return false
	}
	if d.status == "Ready" {
		d.status, d.targetStatus = "InProgress", "InProgress"
	}
	d.phase++
	if d.phase >= len(ecsEvents) {
		d.targetStatus, d.terminationSince = "Succeeded", now
	}
	return true
}

// stepTermination waits out the termination wait (or ContinueDeployment
// TERMINATION_WAIT), drains the original task set, and ends the deployment
// once it is gone.
func (w *World) stepTermination(d *deployment, g *deploymentGroup, svc *service, now time.Time) bool {
	if d.blue != nil && !d.blue.removed {
		if d.blue.status != "DRAINING" {
			if !d.finish && now.Sub(d.terminationSince) < time.Duration(g.terminationWait)*time.Minute {
				return false
			}
			w.drainTaskSet(svc, d.blue)
		}
		if !d.blue.drained(now) {
			return false
		}
		w.removeTaskSet(svc, d.blue)
	}
	d.blue = nil // gone: the target lists only the replacement from now on
	d.status, d.completed = "Succeeded", now
	g.lastSuccessful = d.id
	return true
}

// end finishes a deployment as Failed or Stopped, starting a rollback
// deployment when asked and when there is something to roll back.
func (w *World) end(d *deployment, status, code, message string, rollback bool, at time.Time) {
	d.status, d.errorCode, d.errorMessage, d.completed = status, code, message, at
	if d.targetStatus != "Succeeded" {
		d.targetStatus = "Failed"
	}
	for _, name := range ecsEvents {
		if e := d.events[name]; e.status == "InProgress" {
			e.status, e.end = "Failed", at
		}
	}
	if !rollback || d.green == nil || d.green.removed {
		return
	}
	r := &deployment{
		id: "d-" + randomID(9, idAlphabet), app: d.app, group: d.group, config: d.config, creator: "codeDeployRollback",
		description: "Rollback of " + d.id, status: "InProgress", created: at, started: at, appspecSHA: d.appspecSHA,
		taskDef: d.blueTaskDef, container: d.container, port: d.port, events: map[string]*lifecycleEvent{}, rollbackOf: d.id,
		rollbackMessage: "Rollback of deployment " + d.id, blue: d.blue, green: d.green, blueTG: d.blueTG, greenTG: d.greenTG,
		blueTaskDef: d.blueTaskDef, greenWeight: d.greenWeight, weightAt: at, targetStatus: "InProgress", phase: 0,
	}
	for _, e := range ecsEvents {
		r.events[e] = &lifecycleEvent{status: "Pending"}
	}
	d.rolledBackBy, d.rollbackMessage = r.id, "Deployment "+d.id+" was rolled back by "+r.id
	w.deployments[r.id] = r
	w.deployOrder = append(w.deployOrder, r.id)
	if g := w.groups[d.app+"/"+d.group]; g != nil {
		g.lastAttempted = r.id
	}
}

// advanceRollback does a rollback's work as it becomes possible: the
// original task set must be at full strength (started again if it is gone)
// and healthy; then test and production traffic move back to it, it is
// PRIMARY again, and the replacement drains; the rollback succeeds when the
// replacement is gone.
func (w *World) advanceRollback(d *deployment, g *deploymentGroup, svc *service, now time.Time) {
	begin := func(name string) *lifecycleEvent {
		e := d.events[name]
		if e.status == "Pending" {
			e.status, e.start = "InProgress", now
		}
		return e
	}
	done := func(name string) {
		e := begin(name)
		e.status, e.end = "Succeeded", now
	}
	done("BeforeInstall")
	install := begin("Install")
	if install.status == "InProgress" {
		if d.blue == nil || d.blue.removed || d.blue.status == "DRAINING" {
			d.blue = w.newTaskSet(svc, d.blueTaskDef, []lbRef{{TargetGroupArn: d.blueTG, ContainerName: d.container, ContainerPort: d.port}}, "CODE_DEPLOY", d.id)
			svc.taskSets = append(svc.taskSets, d.blue)
		}
		if !w.taskSetHealthy(svc, d.blue, now) {
			return
		}
		done("Install")
		done("AfterInstall")
	}
	if e := d.events["AllowTestTraffic"]; e.status == "Pending" {
		if g.testListener != "" {
			w.forward(g.testListener, []weighted{{TargetGroupARN: d.blueTG, Weight: 100}, {TargetGroupARN: d.greenTG, Weight: 0}})
		}
		done("AllowTestTraffic")
		done("AfterAllowTestTraffic")
		done("BeforeAllowTraffic")
	}
	if e := d.events["AllowTraffic"]; e.status == "Pending" {
		begin("AllowTraffic")
		w.forward(g.prodListener, []weighted{{TargetGroupARN: d.blueTG, Weight: 100}, {TargetGroupARN: d.greenTG, Weight: 0}})
		d.greenWeight, d.weightAt = 0, now
		d.blue.setStatus("PRIMARY", now)
		svc.taskDefinition = d.blue.taskDefinition
		if d.green != nil && !d.green.removed {
			d.green.setStatus("ACTIVE", now)
			w.drainTaskSet(svc, d.green)
		}
		done("AllowTraffic")
	}
	if d.green != nil && !d.green.removed {
		if !d.green.drained(now) {
			return
		}
		w.removeTaskSet(svc, d.green)
	}
	d.green = nil
	done("AfterAllowTraffic")
	d.status, d.completed, d.targetStatus = "Succeeded", now, "Succeeded"
	g.lastSuccessful = d.id
}
