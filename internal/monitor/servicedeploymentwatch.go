package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// serviceDeploymentAPI is the part of the ECS client the ecs model's
// watcher reads.
type serviceDeploymentAPI interface {
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
}

// ServiceDeploymentWatcher polls one ECS service deployment to its end:
// one DescribeServiceDeployments per read, paced by NextServiceDeploymentRead,
// and one DescribeServiceRevisions for the revisions' target groups.
type ServiceDeploymentWatcher struct {
	API   serviceDeploymentAPI
	Clock Clock
	Plan  ServiceDeploymentPlan
	// OnEvent receives every change, in order.
	OnEvent func(SDEvent)
	// OnDecision is called after every observation; the caller acts on
	// its edges (smoke checks, ContinueServiceDeployment, stops) here. An
	// error ends the watch (ErrStopWatching without error).
	OnDecision func(ctx context.Context, o ServiceDeployment, d SDDecision) error
	// OnWarning receives problems that do not stop the watch.
	OnWarning func(msg string)
	// MaxConsecutiveErrors is how many reads in a row may fail; default 10.
	MaxConsecutiveErrors int
}

// ServiceDeploymentResult is how a watch ended.
type ServiceDeploymentResult struct {
	Final ServiceDeployment
	// Stopped is true when OnDecision ended the watch (ErrStopWatching)
	// while the deployment goes on.
	Stopped bool
	// Reads counts the DescribeServiceDeployments calls made.
	Reads int
}

// Watch reads the deployment until it ends, OnDecision stops it, or ctx ends.
func (w *ServiceDeploymentWatcher) Watch(ctx context.Context, arn string) (ServiceDeploymentResult, error) {
	var res ServiceDeploymentResult
	maxErrors := w.MaxConsecutiveErrors
	if maxErrors == 0 {
		maxErrors = 10
	}
	tgOf := map[string]string{}
	asked := map[string]bool{}
	var prev *ServiceDeployment
	var tm awsTime
	var changed, trafficAt time.Time
	next, failures := time.Duration(0), 0
	for {
		if next > 0 {
			select {
			case <-ctx.Done():
				return res, context.Cause(ctx)
			case <-w.Clock.After(tm.wait(next)):
			}
		}
		local := w.Clock.Now()
		out, err := w.API.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
		res.Reads++
		if err == nil && len(out.ServiceDeployments) == 0 {
			err = fmt.Errorf("ECS does not know service deployment %s (%s)", arn, failureText(out.Failures))
		}
		if err != nil {
			if ctx.Err() != nil {
				return res, context.Cause(ctx)
			}
			var ae smithy.APIError
			if errors.As(err, &ae) && isThrottle(ae.ErrorCode()) {
				next = Throttled(next)
				continue
			}
			failures++
			if failures >= maxErrors {
				return res, fmt.Errorf("reading service deployment %s: %w (%d reads in a row failed)", arn, err, failures)
			}
			w.warn(fmt.Sprintf("reading service deployment %s failed, retrying: %v", arn, err))
			next = Throttled(next)
			continue
		}
		failures = 0
		sd := out.ServiceDeployments[0]
		w.learnRevisions(ctx, sd, tgOf, asked)
		o := ServiceDeploymentFromSDK(local, sd, func(r string) string { return tgOf[r] })
		tm.observe(local, sdLatest(o))
		o.At = tm.now(local)
		events, d := EvaluateServiceDeployment(prev, o, w.Plan)
		if len(events) > 0 || changed.IsZero() {
			changed = o.At
		}
		for _, e := range events {
			if e.Kind == SDTraffic || trafficAt.IsZero() {
				trafficAt = o.At
			}
			if w.OnEvent != nil {
				w.OnEvent(e)
			}
		}
		prev = &o
		res.Final = o
		if w.OnDecision != nil {
			if err := w.OnDecision(ctx, o, d); err != nil {
				if errors.Is(err, ErrStopWatching) {
					res.Stopped = true
					return res, nil
				}
				return res, err
			}
		}
		if d.Done {
			return res, nil
		}
		now := tm.now(w.Clock.Now())
		next = NextServiceDeploymentRead(SDMoment{Plan: w.Plan, Obs: o, Now: now, Changed: changed, TrafficChanged: trafficAt}).Sub(now)
	}
}

// learnRevisions reads, once per revision, the target group each of the
// deployment's revisions runs in.
func (w *ServiceDeploymentWatcher) learnRevisions(ctx context.Context, sd ecstypes.ServiceDeployment, tgOf map[string]string, asked map[string]bool) {
	var want []string
	add := func(r *ecstypes.ServiceRevisionSummary) {
		if r != nil && r.Arn != nil && !asked[*r.Arn] {
			want = append(want, *r.Arn)
			asked[*r.Arn] = true
		}
	}
	add(sd.TargetServiceRevision)
	for i := range sd.SourceServiceRevisions {
		add(&sd.SourceServiceRevisions[i])
	}
	if len(want) == 0 {
		return
	}
	out, err := w.API.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: want})
	if err != nil {
		w.warn(fmt.Sprintf("reading the service revisions' target groups failed (colours are named source and target instead): %v", err))
		return
	}
	for _, r := range out.ServiceRevisions {
		if len(r.LoadBalancers) > 0 {
			tgOf[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.LoadBalancers[0].TargetGroupArn)
		}
	}
}

func (w *ServiceDeploymentWatcher) warn(msg string) {
	if w.OnWarning != nil {
		w.OnWarning(msg)
	}
}

func failureText(fs []ecstypes.Failure) string {
	if len(fs) == 0 {
		return "no failure given"
	}
	return aws.ToString(fs[0].Reason) + " " + aws.ToString(fs[0].Detail)
}

// SDMoment is what the pacing of service deployment reads knows.
type SDMoment struct {
	Plan ServiceDeploymentPlan
	Obs  ServiceDeployment
	// Now is AWS's time now; Changed when the watcher last saw a change,
	// TrafficChanged when it last saw the weights change (AWS time).
	Now, Changed, TrafficChanged time.Time
}

// NextServiceDeploymentRead is when (AWS time) the next read goes. As for
// CodeDeploy (pace.go): a wait whose end the configuration gives (the bake
// time, a linear or canary step, the old revision's draining in CLEAN_UP)
// is read every watchInterval and then
// quickly from the moment it is due; a phase of unknown length is read
// soon after a change, then less often the longer nothing changes.
func NextServiceDeploymentRead(m SDMoment) time.Time {
	o := m.Obs
	if !inFlight(o.Status) {
		return m.Now
	}
	changed := m.Changed
	if changed.IsZero() || changed.After(m.Now) {
		changed = m.Now
	}
	settle := m.Now.Add(backoff(m.Now.Sub(changed), settleMin))
	var due time.Time
	switch {
	case o.Status != ecstypes.ServiceDeploymentStatusInProgress:
		return settle
	case o.Stage == ecstypes.ServiceDeploymentLifecycleStageBakeTime && m.Plan.Bake > 0:
		start := o.Updated
		if start.IsZero() {
			start = changed
		}
		due = start.Add(m.Plan.Bake)
	case o.Stage == ecstypes.ServiceDeploymentLifecycleStageCleanUp && m.Plan.Drain > 0:
		start := o.Updated
		if start.IsZero() {
			start = changed
		}
		due = start.Add(m.Plan.Drain)
	case o.Stage == ecstypes.ServiceDeploymentLifecycleStageProductionTrafficShift && m.Plan.StepBake > 0 && o.Target.Production > 0 && o.Target.Production < 100 && !m.TrafficChanged.IsZero():
		due = m.TrafficChanged.Add(m.Plan.StepBake)
	default:
		return settle
	}
	first := due.Add(dueLag)
	if late := m.Now.Sub(due); late >= dueLag {
		return m.Now.Add(min(max(time.Duration(float64(late)*0.75), afterDueMin), watchInterval))
	}
	return m.Now.Add(min(first.Sub(m.Now), watchInterval))
}
