package snapshot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// Release is what a colour runs as a person names it: the commit, the
// pipeline and job that deployed it, the image's version, since when it is
// live. The commit, version and source come from the image's OCI
// annotations and labels (build writes them), the pipeline from the
// description of the deployment that created the colour's task set.
type Release struct {
	// Image is the reference whose metadata was read.
	Image   string    `json:"image,omitempty"`
	Commit  string    `json:"commit,omitempty"`
	Title   string    `json:"title,omitempty"`
	Version string    `json:"version,omitempty"`
	Source  string    `json:"source,omitempty"`
	Built   time.Time `json:"built,omitzero"`
	// DeploymentID is the CodeDeploy deployment that put it here.
	DeploymentID string `json:"deploymentId,omitempty"`
	// StartedBy says who or what started that deployment.
	StartedBy   string `json:"startedBy,omitempty"`
	Pipeline    string `json:"pipeline,omitempty"`
	PipelineURL string `json:"pipelineUrl,omitempty"`
	JobURL      string `json:"jobUrl,omitempty"`
	// LiveSince is when production traffic reached the colour: the end of
	// the deployment's AllowTraffic when known, else the deployment's end.
	LiveSince time.Time `json:"liveSince,omitzero"`
	CommitURL string    `json:"commitUrl,omitempty"`
	// ConsoleURL opens the deployment in the AWS console.
	ConsoleURL string `json:"consoleUrl,omitempty"`
	// Error says why the image's metadata could not be read.
	Error string `json:"error,omitempty"`
}

// ShortCommit is the commit's first 8 characters, as GitLab shows it.
func (r *Release) ShortCommit() string {
	if r == nil {
		return ""
	}
	if len(r.Commit) > 8 {
		return r.Commit[:8]
	}
	return r.Commit
}

// HistoryEntry is one past or current deployment of the group.
type HistoryEntry struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Created time.Time `json:"created,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// Creator is CodeDeploy's creator field (user, codeDeployRollback, ...).
	Creator string `json:"creator,omitempty"`
	// StartedBy says who or what started it: a pipeline, a rollback, the
	// console or CLI, CodeDeploy's own automatic rollback.
	StartedBy    string `json:"startedBy"`
	Pipeline     string `json:"pipeline,omitempty"`
	PipelineURL  string `json:"pipelineUrl,omitempty"`
	JobURL       string `json:"jobUrl,omitempty"`
	Commit       string `json:"commit,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Description  string `json:"description,omitempty"`
	ConsoleURL   string `json:"consoleUrl,omitempty"`
}

// Duration is how long the deployment ran (until taken, while it runs).
func (h HistoryEntry) Duration(taken time.Time) time.Duration {
	end := h.Ended
	if end.IsZero() {
		end = taken
	}
	if h.Created.IsZero() || end.Before(h.Created) {
		return 0
	}
	return end.Sub(h.Created)
}

// Timeline is production traffic per colour during one deployment: each
// point is a moment where the split changed, from the deployment's
// lifecycle events, its configuration's steps and the listener as read now.
type Timeline struct {
	DeploymentID string `json:"deploymentId"`
	Config       string `json:"config,omitempty"`
	// From is the colour that served production when it began, To the
	// replacement's colour.
	From   Colour         `json:"from"`
	To     Colour         `json:"to"`
	Points []TrafficPoint `json:"points"`
}

// TrafficPoint is the production split from At on.
type TrafficPoint struct {
	At    time.Time `json:"at"`
	Blue  float64   `json:"blue"`
	Green float64   `json:"green"`
	Note  string    `json:"note"`
}

// Weight is colour c's share at the point.
func (p TrafficPoint) Weight(c Colour) float64 {
	if c == Blue {
		return p.Blue
	}
	return p.Green
}

// maxBatch is BatchGetDeployments' limit (aws-facts §2.11).
const maxBatch = 100

// readHistory reads the group's last r.History deployments in two calls:
// one ListDeployments and one BatchGetDeployments of its first page, which
// also fetches the deployments that created each colour's task set; the
// in-flight deployment is the newest active one (one deployment at a time
// per group, aws-facts §2.11). A third call, BatchGetDeploymentTargets,
// reads the last deployment's lifecycle events for the traffic timeline.
func (r *Reader) readHistory(ctx context.Context, s *Snapshot, application, group string) error {
	out, err := r.CD.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(application), DeploymentGroupName: aws.String(group)})
	if err != nil {
		return fmt.Errorf("listing deployments of %s/%s: %w", application, group, err)
	}
	// The whole first page goes into the one batch (at most 100 ids, two
	// kept for the colours' own deployments), then the newest r.History by
	// creation time are kept: the history does not rest on the order
	// ListDeployments answers in, which AWS does not document.
	listed := out.Deployments[:min(maxBatch-len(s.Colours), len(out.Deployments))]
	ids := slices.Clone(listed)
	for _, c := range s.Colours {
		if c.TaskSet != nil && c.TaskSet.DeploymentID != "" && !slices.Contains(ids, c.TaskSet.DeploymentID) && len(ids) < 100 {
			ids = append(ids, c.TaskSet.DeploymentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	got, err := r.CD.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: ids})
	if err != nil {
		return fmt.Errorf("reading deployments %s of %s/%s: %w", strings.Join(ids, ", "), application, group, err)
	}
	byID := map[string]cdtypes.DeploymentInfo{}
	for _, d := range got.DeploymentsInfo {
		byID[aws.ToString(d.DeploymentId)] = d
	}
	for _, id := range listed {
		if d, ok := byID[id]; ok {
			s.History = append(s.History, historyEntry(d))
		}
	}
	slices.SortStableFunc(s.History, func(a, b HistoryEntry) int { return b.Created.Compare(a.Created) })
	if len(s.History) > r.History {
		s.History = s.History[:r.History]
	}
	for _, h := range s.History {
		if slices.Contains(activeStatuses, cdtypes.DeploymentStatus(h.Status)) {
			s.InFlight = &Deployment{ID: h.ID, Status: h.Status, Description: h.Description, Created: h.Created}
			break
		}
	}
	var target *cdtypes.ECSTarget
	if len(s.History) > 0 {
		if target, err = r.readTarget(ctx, s, s.History[0].ID); err != nil {
			return err
		}
		last := byID[s.History[0].ID]
		s.Timeline = timeline(s, last, target)
	}
	for i := range s.Colours {
		c := &s.Colours[i]
		if c.TaskSet == nil || c.TaskSet.DeploymentID == "" {
			continue
		}
		d, ok := byID[c.TaskSet.DeploymentID]
		if !ok {
			continue
		}
		h := historyEntry(d)
		if c.Release == nil {
			c.Release = &Release{}
		}
		rel := c.Release
		rel.DeploymentID, rel.StartedBy, rel.Pipeline, rel.PipelineURL, rel.JobURL = h.ID, h.StartedBy, h.Pipeline, h.PipelineURL, h.JobURL
		if rel.Commit == "" {
			rel.Commit = h.Commit
		}
		rel.LiveSince = h.Ended
		if s.Timeline != nil && s.Timeline.DeploymentID == h.ID {
			if at, ok := allowTrafficEnd(target); ok {
				rel.LiveSince = at
			}
		}
	}
	return nil
}

// readTarget reads the deployment's ECS target (its id is
// <cluster name>:<service name>, aws-facts §2.1): nil before the
// deployment started.
func (r *Reader) readTarget(ctx context.Context, s *Snapshot, id string) (*cdtypes.ECSTarget, error) {
	cluster := s.Cluster
	if i := strings.LastIndex(cluster, "/"); i >= 0 {
		cluster = cluster[i+1:]
	}
	out, err := r.CD.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(id), TargetIds: []string{cluster + ":" + s.Service}})
	var notStarted *cdtypes.DeploymentNotStartedException
	if errors.As(err, &notStarted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the target of deployment %s: %w", id, err)
	}
	for _, t := range out.DeploymentTargets {
		if t.EcsTarget != nil {
			return t.EcsTarget, nil
		}
	}
	return nil, nil
}

func historyEntry(d cdtypes.DeploymentInfo) HistoryEntry {
	h := HistoryEntry{
		ID: aws.ToString(d.DeploymentId), Status: string(d.Status), Created: aws.ToTime(d.CreateTime), Ended: aws.ToTime(d.CompleteTime),
		Creator: string(d.Creator), Description: aws.ToString(d.Description),
	}
	if d.ErrorInformation != nil {
		h.ErrorCode, h.ErrorMessage = string(d.ErrorInformation.Code), aws.ToString(d.ErrorInformation.Message)
	}
	o := ParseDescription(h.Description)
	h.Pipeline, h.PipelineURL, h.JobURL, h.Commit = o.Pipeline, o.PipelineURL, o.JobURL, o.Commit
	h.StartedBy = startedBy(d, o)
	return h
}

func startedBy(d cdtypes.DeploymentInfo, o Origin) string {
	rollbackOf := ""
	if d.RollbackInfo != nil {
		rollbackOf = aws.ToString(d.RollbackInfo.RollbackTriggeringDeploymentId)
	}
	switch {
	case d.Creator == cdtypes.DeploymentCreatorCodeDeployRollback:
		if rollbackOf != "" {
			return "automatic rollback of " + rollbackOf
		}
		return "automatic rollback"
	case o.Rollback && o.Pipeline != "":
		return "rollback job, pipeline " + o.Pipeline
	case o.Rollback:
		return "rollback job"
	case o.Pipeline != "":
		return "pipeline " + o.Pipeline
	case o.Run != "":
		return "ecs-bluegreen run " + o.Run
	case d.Creator == cdtypes.DeploymentCreatorUser || d.Creator == "":
		return "console or CLI"
	default:
		return string(d.Creator)
	}
}

// Origin is what a deployment's description says about where it came from
// (deploy.Describe writes it: the origin marker, the rollback marker, the
// pipeline and job URLs, the commit).
type Origin struct {
	Project, Pipeline, Run string
	PipelineURL, JobURL    string
	Commit                 string
	// Rollback is true for the deploy a rollback job ran.
	Rollback bool
}

var (
	originPattern = regexp.MustCompile(`^\[ecs-bluegreen (\S+) pipeline (\d+)\]`)
	runPattern    = regexp.MustCompile(`^\[ecs-bluegreen run (\S+)\]`)
	shaPattern    = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// RollbackMarker is the words rollback's redeploy puts in its description.
const RollbackMarker = "rollback: redeploying the previous image"

// ParseDescription reads a description deploy wrote. Text anyone else
// wrote gives an empty Origin, never an error; only http(s) URLs count.
func ParseDescription(desc string) Origin {
	var o Origin
	if m := originPattern.FindStringSubmatch(desc); m != nil {
		o.Project, o.Pipeline = m[1], m[2]
	} else if m := runPattern.FindStringSubmatch(desc); m != nil {
		o.Run = m[1]
	}
	o.Rollback = strings.Contains(desc, RollbackMarker)
	for _, f := range strings.Fields(desc) {
		switch {
		case shaPattern.MatchString(f):
			o.Commit = f
		case isWebURL(f) && strings.Contains(f, "/-/pipelines/"):
			o.PipelineURL = f
		case isWebURL(f) && strings.Contains(f, "/-/jobs/"):
			o.JobURL = f
		}
	}
	return o
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// allowTrafficEnd is when AllowTraffic ended (all production traffic on
// the replacement).
func allowTrafficEnd(t *cdtypes.ECSTarget) (time.Time, bool) {
	if e := lifecycleEvent(t, "AllowTraffic"); e != nil && e.EndTime != nil && e.Status == cdtypes.LifecycleEventStatusSucceeded {
		return *e.EndTime, true
	}
	return time.Time{}, false
}

func lifecycleEvent(t *cdtypes.ECSTarget, name string) *cdtypes.LifecycleEvent {
	if t == nil {
		return nil
	}
	for i := range t.LifecycleEvents {
		if aws.ToString(t.LifecycleEvents[i].LifecycleEventName) == name {
			return &t.LifecycleEvents[i]
		}
	}
	return nil
}

var (
	canaryPattern = regexp.MustCompile(`Canary(\d+)Percent(\d+)Minutes?$`)
	linearPattern = regexp.MustCompile(`Linear(\d+)PercentEvery(\d+)Minutes?$`)
)

// timeline works out production traffic per colour during deployment d:
// all on the original colour from its creation, the configuration's steps
// while AllowTraffic ran (a predefined canary or linear config's, read from
// its name; a custom one's as a ramp from the start to the end), all on the
// replacement when AllowTraffic ended, and the split the listener has now
// at the end (a rollback or a stop shows there).
func timeline(s *Snapshot, d cdtypes.DeploymentInfo, t *cdtypes.ECSTarget) *Timeline {
	from, to, ok := timelineColours(s, t)
	if !ok {
		return nil
	}
	tl := &Timeline{DeploymentID: aws.ToString(d.DeploymentId), Config: aws.ToString(d.DeploymentConfigName), From: from, To: to}
	add := func(at time.Time, toWeight float64, note string) {
		p := TrafficPoint{At: at.UTC(), Note: note}
		if to == Blue {
			p.Blue, p.Green = toWeight, 100-toWeight
		} else {
			p.Green, p.Blue = toWeight, 100-toWeight
		}
		tl.Points = append(tl.Points, p)
	}
	add(aws.ToTime(d.CreateTime), 0, "deployment created: production on "+string(from))
	if e := lifecycleEvent(t, "AllowTraffic"); e != nil && e.StartTime != nil {
		start := *e.StartTime
		end := aws.ToTime(e.EndTime)
		switch m := stepsOf(tl.Config); {
		case m.pct > 0 && m.linear:
			for k := 1; float64(k)*m.pct < 100; k++ {
				at := start.Add(time.Duration(k-1) * m.every)
				if !end.IsZero() && !at.Before(end) || end.IsZero() && at.After(s.Taken) {
					break
				}
				add(at, float64(k)*m.pct, fmt.Sprintf("linear step: %s on %s", percentText(float64(k)*m.pct), to))
			}
		case m.pct > 0:
			add(start, m.pct, fmt.Sprintf("canary: %s on %s", percentText(m.pct), to))
		default:
			add(start, 0, "production traffic starts moving to "+string(to))
		}
		if !end.IsZero() && e.Status == cdtypes.LifecycleEventStatusSucceeded {
			add(end, 100, "all production traffic on "+string(to))
		}
	}
	nowWeight := 0.0
	if c := s.Colour(to); c != nil {
		nowWeight = c.ProductionWeight
	}
	last := tl.Points[len(tl.Points)-1]
	status := string(d.Status)
	at := s.Taken
	if ended := aws.ToTime(d.CompleteTime); !ended.IsZero() {
		at = ended
	}
	if last.Weight(to) != nowWeight || at.After(last.At) {
		add(at, nowWeight, strings.ToLower(status)+": production "+splitText(from, to, nowWeight))
	}
	return tl
}

// timelineColours are the original and the replacement colour, by the
// target groups of the deployment's task sets (Blue is CodeDeploy's label
// of the original).
func timelineColours(s *Snapshot, t *cdtypes.ECSTarget) (from, to Colour, ok bool) {
	if t == nil {
		return "", "", false
	}
	for _, ts := range t.TaskSetsInfo {
		if ts.TargetGroup == nil {
			continue
		}
		for _, c := range s.Colours {
			if c.TargetGroup != aws.ToString(ts.TargetGroup.Name) {
				continue
			}
			switch ts.TaskSetLabel {
			case cdtypes.TargetLabelBlue:
				return c.Colour, c.Colour.Other(), true
			case cdtypes.TargetLabelGreen:
				return c.Colour.Other(), c.Colour, true
			}
		}
	}
	return "", "", false
}

type steps struct {
	pct    float64
	every  time.Duration
	linear bool
}

func stepsOf(config string) steps {
	var pct, minutes int
	if m := canaryPattern.FindStringSubmatch(config); m != nil {
		_, _ = fmt.Sscan(m[1], &pct)
		_, _ = fmt.Sscan(m[2], &minutes)
		return steps{pct: float64(pct), every: time.Duration(minutes) * time.Minute}
	}
	if m := linearPattern.FindStringSubmatch(config); m != nil {
		_, _ = fmt.Sscan(m[1], &pct)
		_, _ = fmt.Sscan(m[2], &minutes)
		return steps{pct: float64(pct), every: time.Duration(minutes) * time.Minute, linear: true}
	}
	return steps{}
}

func splitText(from, to Colour, toWeight float64) string {
	switch toWeight {
	case 100:
		return "on " + string(to)
	case 0:
		return "on " + string(from)
	}
	return fmt.Sprintf("split %s %s, %s %s", from, percentText(100-toWeight), to, percentText(toWeight))
}

func percentText(p float64) string {
	if p == float64(int(p)) {
		return fmt.Sprintf("%d%%", int(p))
	}
	return fmt.Sprintf("%.1f%%", p)
}
