package deploy

import (
	"fmt"
	"strings"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// installAllowance is what the estimate allows for the replacement task set
// to start and pass its health checks, and for the test traffic checks: it
// depends on the image and the health check, which the group does not say.
const installAllowance = 10 * time.Minute

// Estimate is how long a deployment is expected to keep the deploy job, from
// the deployment group and configuration.
type Estimate struct {
	Total time.Duration
	// Parts name what the total is made of, for the message that says it
	// does not fit.
	Parts []string
}

func (e Estimate) String() string {
	return fmt.Sprintf("about %s (%s)", e.Total, strings.Join(e.Parts, ", "))
}

// TerminationWait is how long CodeDeploy keeps the original task set once
// production traffic moved: the window in which a stop can still roll back.
// ok is false when the group does not say (no blue/green configuration).
func (t *Target) TerminationWait() (wait time.Duration, ok bool) {
	g := t.GroupInfo
	if g == nil || g.BlueGreenDeploymentConfiguration == nil || g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess == nil {
		return 0, false
	}
	o := g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess
	if o.Action != cdtypes.InstanceActionTerminate {
		return 0, false // the original tasks are kept: nothing is lost
	}
	return time.Duration(o.TerminationWaitTimeInMinutes) * time.Minute, true
}

// Estimate works out how long deploy will watch: starting the replacement,
// the wait at Ready when CodeDeploy itself waits, the traffic shifts, and the
// termination wait unless the job ends once traffic moved.
func (t *Target) Estimate(promote PromotePolicy, waitFor WaitFor) Estimate {
	e := Estimate{Total: installAllowance, Parts: []string{installAllowance.String() + " to start and check the replacement"}}
	add := func(d time.Duration, what string) {
		if d > 0 {
			e.Total += d
			e.Parts = append(e.Parts, d.String()+" "+what)
		}
	}
	var ready *cdtypes.DeploymentReadyOption
	var terminate *cdtypes.BlueInstanceTerminationOption
	if g := t.GroupInfo; g != nil && g.BlueGreenDeploymentConfiguration != nil {
		ready = g.BlueGreenDeploymentConfiguration.DeploymentReadyOption
		terminate = g.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess
	}
	if ready != nil && ready.ActionOnTimeout == cdtypes.DeploymentReadyActionStopDeployment {
		if promote == PromoteManual {
			// The job ends at Ready; promote runs in a later job.
			return e
		}
	} else if ready != nil {
		add(time.Duration(ready.WaitTimeInMinutes)*time.Minute, "wait before traffic moves")
	}
	add(t.ShiftTime, "shifting traffic ("+t.Config+")")
	if waitFor != WaitForTraffic && terminate != nil && terminate.Action == cdtypes.InstanceActionTerminate {
		add(time.Duration(terminate.TerminationWaitTimeInMinutes)*time.Minute, "termination wait")
	}
	return e
}
