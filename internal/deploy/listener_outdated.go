package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// The listener model creates no deployment whose description could carry
// the origin marker, so its deploy records the pipeline on the colour it
// brings up, as the target group's snapshot.TagOrigin tag. The value is the
// marker without its brackets ("group/web pipeline 101"): target group tag
// values allow letters, digits, spaces and _ . : / = + - @ only.

// OriginTagValue is the TagOrigin value of origin (Origin's marker); empty
// when origin names no pipeline (a run outside GitLab).
func OriginTagValue(origin string) string {
	r, ok := ReleaseOf(origin)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%s pipeline %d", r.Project, r.Pipeline)
}

// releaseOfTag reads a TagOrigin value back.
func releaseOfTag(v string) (Release, bool) {
	if v == "" {
		return Release{}, false
	}
	return ReleaseOf("[ecs-bluegreen " + v + "]")
}

// RefuseOutdatedColours is the listener model's outdated-deployment check,
// made on the snapshot deploy starts from, before anything changes: an
// OutdatedError when the live colour, or the idle colour that waits for its
// switch, carries a release from a later pipeline of the same project than
// origin. Nothing is refused when allow is set or origin names no pipeline.
func RefuseOutdatedColours(s *snapshot.Snapshot, origin string, allow bool) error {
	ours, ok := ReleaseOf(origin)
	if allow || !ok || s.Live == "" {
		return nil
	}
	for _, c := range []*snapshot.ColourState{s.Colour(s.Live), s.Colour(s.Live.Other())} {
		if c == nil {
			continue
		}
		theirs, ok := releaseOfTag(c.Origin)
		if !ok || theirs.Project != ours.Project || theirs.Pipeline <= ours.Pipeline {
			continue
		}
		return &OutdatedError{Colour: c.Colour, InFlight: c.Colour != s.Live, Live: theirs, Ours: ours}
	}
	return nil
}

// recordOrigin tags the colour's target group with the pipeline whose
// release it now runs; a run outside GitLab tags it "unknown", so the tag
// never names a pipeline whose release the colour no longer runs. A failure
// is a warning: the release is up, only the later check cannot see it.
func (l *Listener) recordOrigin(ctx context.Context, c *snapshot.ColourState) {
	v := OriginTagValue(l.Origin)
	if v == "" {
		if c.Origin == "" {
			return
		}
		v = "unknown"
	}
	if v == c.Origin {
		return
	}
	if _, err := l.ELB.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{c.TargetGroupARN}, Tags: []elbtypes.Tag{{Key: aws.String(snapshot.TagOrigin), Value: aws.String(v)}}}); err != nil {
		l.Log.Warn("the idle colour runs the new release, but recording its pipeline on the target group failed: a later outdated deploy will not be refused", "target_group", c.TargetGroup, "error", err.Error())
	}
}
