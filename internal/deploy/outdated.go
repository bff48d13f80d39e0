package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// Release is what made a deployment: the GitLab project and pipeline
// named by the origin marker deploy puts first in its description.
type Release struct {
	Project  string
	Pipeline int64
}

func (r Release) String() string {
	return fmt.Sprintf("pipeline %d of %s", r.Pipeline, r.Project)
}

// originMarker reads Origin's "[ecs-bluegreen <project> pipeline <id>]".
var originMarker = regexp.MustCompile(`^\[ecs-bluegreen (\S+) pipeline ([0-9]{1,19})\]`)

// ReleaseOf reads the release from a deployment description (or an
// Origin); false when it carries no pipeline marker (a deployment made by
// hand, by another tool, or by a run outside GitLab).
func ReleaseOf(description string) (Release, bool) {
	m := originMarker.FindStringSubmatch(description)
	if m == nil {
		return Release{}, false
	}
	id, err := strconv.ParseInt(m[2], 10, 64)
	if err != nil {
		return Release{}, false
	}
	return Release{Project: m[1], Pipeline: id}, true
}

// OutdatedError is a deploy that would replace what a newer pipeline
// deployed: exit 2, nothing was changed.
type OutdatedError struct {
	DeploymentID string
	// Colour is the listener model's colour that carries the newer release
	// (instead of a deployment).
	Colour snapshot.Colour
	// InFlight: the newer deployment is still in progress (else it is live);
	// in the listener model, the newer release waits on the idle colour.
	InFlight   bool
	Live, Ours Release
}

func (e *OutdatedError) Error() string {
	if e.Colour != "" {
		what := "production runs"
		if e.InFlight {
			what = "the idle colour, waiting for its switch, runs"
		}
		return fmt.Sprintf("refusing an outdated deployment: %s %s the release of %s, newer than this %s; deploying now would put an older release in front of it (nothing was changed)",
			what, e.Colour, e.Live, e.Ours)
	}
	what := "production runs"
	if e.InFlight {
		what = "the deployment group is deploying"
	}
	return fmt.Sprintf("refusing an outdated deployment: %s deployment %s from %s, newer than this %s; deploying now would put an older release in front of it (nothing was changed)",
		what, e.DeploymentID, e.Live, e.Ours)
}

// ExitCode is 2: nothing was changed, and rerunning the same job changes
// nothing either (DESIGN §3).
func (e *OutdatedError) ExitCode() int { return 2 }

// ErrorHint says how to go on.
func (e *OutdatedError) ErrorHint() string {
	return "deploy from the newest pipeline instead; to put this older release live on purpose set BG_ALLOW_OUTDATED=true (rollback goes back without it)"
}

// Outdated decides whether a deploy by ours may replace the deployment d
// (the one production runs, or one in progress), as GitLab's "prevent
// outdated deployment jobs" does: it may not when d comes from a later
// pipeline of the same project. Pipeline ids only grow, so a later
// pipeline is a newer run of the project whichever commit it built. Nothing
// is decided (nil) when allow is set, when either side has no pipeline, or
// the projects differ.
func Outdated(d *cdtypes.DeploymentInfo, ours Release, allow, inFlight bool) error {
	if allow || d == nil || ours.Pipeline == 0 {
		return nil
	}
	live, ok := ReleaseOf(aws.ToString(d.Description))
	if !ok || live.Project != ours.Project || live.Pipeline <= ours.Pipeline {
		return nil
	}
	return &OutdatedError{DeploymentID: aws.ToString(d.DeploymentId), InFlight: inFlight, Live: live, Ours: ours}
}

// LiveDeployment is the deployment that made what production runs: the
// one whose id the service's PRIMARY task set carries (its externalId), or
// nil when the service was not deployed by CodeDeploy. Resolve may already
// have read it.
func (c *CodeDeploy) LiveDeployment(ctx context.Context, t *Target) (*cdtypes.DeploymentInfo, error) {
	if t.Live != nil {
		return t.Live, nil
	}
	id := primaryExternalID(t)
	if id == "" {
		return nil, nil
	}
	d, err := c.CD.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		var missing *cdtypes.DeploymentDoesNotExistException
		if errors.As(err, &missing) {
			return nil, nil // aged out: nothing to compare with
		}
		return nil, fmt.Errorf("reading deployment %s, which production runs: %w", id, err)
	}
	t.Live = d.DeploymentInfo
	return t.Live, nil
}

// RefuseOutdated is the check deploy makes before it changes anything: an
// OutdatedError when production runs, or the group is deploying, a newer
// pipeline's release.
func (c *CodeDeploy) RefuseOutdated(ctx context.Context, t *Target, origin string, allow bool) error {
	if allow {
		return nil
	}
	ours, ok := ReleaseOf(origin)
	if !ok {
		return nil
	}
	live, err := c.LiveDeployment(ctx, t)
	if err != nil {
		return err
	}
	if err := Outdated(live, ours, false, false); err != nil {
		return err
	}
	active, err := c.InFlight(ctx, t)
	if err != nil {
		return err
	}
	t.inFlight, t.seen = active, true // Start's first look, a moment later
	return Outdated(active, ours, false, true)
}

// OutdatedBy is Request.Outdated for origin: a deployment in progress from
// a newer pipeline is not waited for, since what this one deploys would
// replace it.
func OutdatedBy(origin string, allow bool) func(*cdtypes.DeploymentInfo) error {
	ours, ok := ReleaseOf(origin)
	if !ok || allow {
		return nil
	}
	return func(d *cdtypes.DeploymentInfo) error { return Outdated(d, ours, false, true) }
}

func primaryExternalID(t *Target) string {
	if t.ServiceState == nil {
		return ""
	}
	for _, ts := range t.ServiceState.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" && strings.EqualFold(aws.ToString(ts.StartedBy), "CODE_DEPLOY") {
			return aws.ToString(ts.ExternalId)
		}
	}
	return ""
}
