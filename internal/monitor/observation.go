// Package monitor watches a CodeDeploy ECS blue/green deployment: a poll loop
// that reads one Observation at a time, and a pure Evaluate that turns the
// previous and the new observation into events to print and a decision.
package monitor

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// Observation is what one poll read about a deployment.
type Observation struct {
	// At is when it was read: on AWS's clock as the watcher maps the run's
	// clock to it (Watcher.Watch), so it compares with the times below.
	At           time.Time
	DeploymentID string
	Status       cdtypes.DeploymentStatus
	// ErrorCode and ErrorMessage explain a Failed or Stopped deployment.
	ErrorCode    cdtypes.ErrorCode
	ErrorMessage string
	// RollbackDeploymentID is set on a deployment that CodeDeploy rolled back:
	// the rollback is a new deployment with its own id (aws-facts §2.9).
	RollbackDeploymentID string
	// IsRollback is true when this deployment is itself a rollback.
	IsRollback bool
	// Target is the ECS target; nil when it could not be read yet (before the
	// deployment starts, ListDeploymentTargets answers DeploymentNotStarted).
	Target *Target
	// Created, Started and Completed are the deployment's createTime,
	// startTime and completeTime as CodeDeploy reported them: AWS's clock,
	// which the polling plan trusts over ours (pace.go).
	Created, Started, Completed time.Time
}

// Target is the deployment's ECS service target.
type Target struct {
	Status          cdtypes.TargetStatus
	LifecycleEvents []LifecycleEvent
	TaskSets        []TaskSet
}

// LifecycleEvent is one step of the ECS deployment (aws-facts §2.3).
type LifecycleEvent struct {
	Name      string
	Status    cdtypes.LifecycleEventStatus
	ErrorCode cdtypes.LifecycleErrorCode
	Message   string
	LogTail   string
	// Start and End are the event's startTime and endTime (AWS's clock); zero
	// until the event starts or ends. The schedule counts from them.
	Start, End time.Time
}

// TaskSet is one colour's task set as CodeDeploy reports it.
type TaskSet struct {
	ID          string
	Label       cdtypes.TargetLabel // Blue (original) or Green (replacement)
	Status      string              // PRIMARY, ACTIVE or DRAINING
	Desired     int64
	Pending     int64
	Running     int64
	Weight      float64 // percent of production traffic
	TargetGroup string
}

// FromSDK builds an observation from GetDeployment's deploymentInfo and, when
// available, the ECS target of BatchGetDeploymentTargets.
func FromSDK(at time.Time, d *cdtypes.DeploymentInfo, target *cdtypes.ECSTarget) Observation {
	o := Observation{At: at}
	if d != nil {
		o.DeploymentID = aws.ToString(d.DeploymentId)
		o.Status = d.Status
		o.IsRollback = d.Creator == cdtypes.DeploymentCreatorCodeDeployRollback
		o.Created, o.Started, o.Completed = aws.ToTime(d.CreateTime), aws.ToTime(d.StartTime), aws.ToTime(d.CompleteTime)
		if d.ErrorInformation != nil {
			o.ErrorCode = d.ErrorInformation.Code
			o.ErrorMessage = aws.ToString(d.ErrorInformation.Message)
		}
		if d.RollbackInfo != nil {
			o.RollbackDeploymentID = aws.ToString(d.RollbackInfo.RollbackDeploymentId)
		}
	}
	if target != nil {
		t := &Target{Status: target.Status}
		for _, e := range target.LifecycleEvents {
			le := LifecycleEvent{Name: aws.ToString(e.LifecycleEventName), Status: e.Status, Start: aws.ToTime(e.StartTime), End: aws.ToTime(e.EndTime)}
			if e.Diagnostics != nil {
				le.ErrorCode = e.Diagnostics.ErrorCode
				le.Message = aws.ToString(e.Diagnostics.Message)
				le.LogTail = aws.ToString(e.Diagnostics.LogTail)
			}
			t.LifecycleEvents = append(t.LifecycleEvents, le)
		}
		for _, ts := range target.TaskSetsInfo {
			set := TaskSet{
				ID: aws.ToString(ts.Identifer), Label: ts.TaskSetLabel, Status: aws.ToString(ts.Status),
				Desired: ts.DesiredCount, Pending: ts.PendingCount, Running: ts.RunningCount, Weight: ts.TrafficWeight,
			}
			if ts.TargetGroup != nil {
				set.TargetGroup = aws.ToString(ts.TargetGroup.Name)
			}
			t.TaskSets = append(t.TaskSets, set)
		}
		o.Target = t
	}
	return o
}

// TaskSet returns the task set with the given label, if reported.
func (t *Target) TaskSet(label cdtypes.TargetLabel) (TaskSet, bool) {
	if t == nil {
		return TaskSet{}, false
	}
	for _, ts := range t.TaskSets {
		if ts.Label == label {
			return ts, true
		}
	}
	return TaskSet{}, false
}

// Event returns the lifecycle event with the given name, if reported.
func (t *Target) Event(name string) (LifecycleEvent, bool) {
	if t == nil {
		return LifecycleEvent{}, false
	}
	for _, e := range t.LifecycleEvents {
		if e.Name == name {
			return e, true
		}
	}
	return LifecycleEvent{}, false
}
