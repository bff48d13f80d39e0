package awssim

// Controls for what no AWS API does: tests and the sandbox use them to make
// things go wrong or to play the part of a hook Lambda.

// SetTaskDefinitionHealthy makes the tasks of a task definition pass (true)
// or fail (false) their load balancer health checks from now on.
func (w *World) SetTaskDefinitionHealthy(taskDefARN string, healthy bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	defer w.settle()
	if healthy {
		delete(w.unhealthy, taskDefARN)
	} else {
		w.unhealthy[taskDefARN] = true
	}
	// Targets registered before the change are checked again from now on.
	now := w.now()
	for _, tg := range w.targetGroups {
		for _, t := range tg.targets {
			if t.taskDef == taskDefARN {
				t.registered = now
			}
		}
	}
}

// SetTaskDefinitionAnswer makes the tasks of a task definition answer status
// on every path but their target group's health check path (0: answer
// normally). Health checks keep passing, as they do for a release whose
// health endpoint works while its pages fail.
func (w *World) SetTaskDefinitionAnswer(taskDefARN string, status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if status == 0 {
		delete(w.answers, taskDefARN)
		return
	}
	w.answers[taskDefARN] = status
}

// PendingHooks returns the hook executions a deployment waits on, by
// lifecycle event: what CodeDeploy would send the hook Lambda. Complete one
// with PutLifecycleEventHookExecutionStatus.
func (w *World) PendingHooks(deploymentID string) map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	out := map[string]string{}
	if d := w.deployments[deploymentID]; d != nil {
		for event, h := range d.hooks {
			if h.status == "InProgress" {
				out[event] = h.id
			}
		}
	}
	return out
}
