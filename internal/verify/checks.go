package verify

import (
	"fmt"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// CheckResult is one check of a verify run; each becomes a JUnit test case.
type CheckResult struct {
	Name     string
	Passed   bool
	Skipped  bool
	Message  string // why it failed or was skipped; a one-line summary when it passed
	Duration time.Duration
	// Severity says what a check that did not pass means: SeverityError
	// fails verify (exit 4), SeverityWarning is shown (log, JUnit, status)
	// and verify still passes.
	Severity Severity
}

// Severity is how much a failed check matters.
type Severity int

// Severities. The zero value fails verify.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// Failed reports whether the check fails verify.
func (r CheckResult) Failed() bool { return !r.Passed && !r.Skipped && r.Severity == SeverityError }

// Warned reports whether the check found something worth a warning only.
func (r CheckResult) Warned() bool { return !r.Passed && !r.Skipped && r.Severity == SeverityWarning }

// Expectations tune the checks over a snapshot.
type Expectations struct {
	// MaxDeploymentAge is how long a deployment may be in flight before verify
	// calls it stuck.
	MaxDeploymentAge time.Duration
	Now              time.Time
	// RequireDigest makes an image given by tag fail verify instead of a
	// warning (BG_REQUIRE_DIGEST).
	RequireDigest bool
}

// CheckSnapshot runs the checks that need nothing but the snapshot.
func CheckSnapshot(s *snapshot.Snapshot, e Expectations) []CheckResult {
	out := []CheckResult{
		checkTraffic(s, e),
		checkTasks(s),
		checkHealth(s),
		checkPinned(s, e.RequireDigest),
	}
	if s.Routes != nil {
		out = append(out, checkProductionTags(s))
	}
	return out
}

// checkProductionTags (listener model): the IsProduction tags name the colour
// the production route sends traffic to, and only that one. Scripts and
// people read the tag; a stale one sends them to the wrong colour.
func checkProductionTags(s *snapshot.Snapshot) CheckResult {
	r := CheckResult{Name: "IsProduction tags match the production route"}
	if s.Live == "" {
		r.Skipped, r.Message = true, "no single live colour"
		return r
	}
	var wrong []string
	for _, c := range s.Colours {
		want := fmt.Sprint(c.Colour == s.Live)
		if c.IsProduction != want {
			got := c.IsProduction
			if got == "" {
				got = "missing"
			}
			wrong = append(wrong, fmt.Sprintf("%s (%s) is tagged IsProduction=%s, want %s", c.Colour, c.TargetGroup, got, want))
		}
	}
	if len(wrong) > 0 {
		r.Message = strings.Join(wrong, "; ") + ": run switch to make them agree"
		return r
	}
	r.Passed, r.Message = true, fmt.Sprintf("%s is tagged as production", s.Live)
	return r
}

// checkTraffic: production traffic is on exactly one colour, unless a
// deployment is moving it and has not been at it too long.
func checkTraffic(s *snapshot.Snapshot, e Expectations) CheckResult {
	r := CheckResult{Name: "production traffic is on one colour"}
	if s.Live != "" {
		r.Passed, r.Message = true, string(s.Live)+" serves all production traffic"
		return r
	}
	split := fmt.Sprintf("blue %.0f%%, green %.0f%%", s.Colours[0].ProductionWeight, s.Colours[1].ProductionWeight)
	if d := s.InFlight; d != nil {
		age := e.Now.Sub(d.Created)
		if e.MaxDeploymentAge == 0 || d.Created.IsZero() || age <= e.MaxDeploymentAge {
			r.Passed, r.Message = true, fmt.Sprintf("deployment %s is moving traffic (%s)", d.ID, split)
			return r
		}
		r.Message = fmt.Sprintf("deployment %s has been in progress for %s, longer than %s, with traffic split (%s): it looks stuck", d.ID, age.Round(time.Minute), e.MaxDeploymentAge, split)
		return r
	}
	if s.Colours[0].ProductionWeight == 0 && s.Colours[1].ProductionWeight == 0 {
		r.Message = "no colour receives production traffic"
		return r
	}
	r.Message = "production traffic is split (" + split + ") and no deployment is in progress"
	return r
}

// checkTasks: the live colour runs as many tasks as it should.
func checkTasks(s *snapshot.Snapshot) CheckResult {
	r := CheckResult{Name: "live colour runs its desired tasks"}
	c := liveColour(s)
	if c == nil {
		r.Skipped, r.Message = true, "no single live colour"
		return r
	}
	if c.TaskSet == nil {
		r.Message = string(c.Colour) + " serves production but has no task set"
		return r
	}
	if c.TaskSet.Running != c.TaskSet.Desired || c.TaskSet.Desired == 0 {
		r.Message = fmt.Sprintf("%s runs %d of %d tasks (%d pending)", c.Colour, c.TaskSet.Running, c.TaskSet.Desired, c.TaskSet.Pending)
		return r
	}
	r.Passed, r.Message = true, fmt.Sprintf("%s runs %d of %d tasks", c.Colour, c.TaskSet.Running, c.TaskSet.Desired)
	return r
}

// checkHealth: no unhealthy targets behind the live colour.
func checkHealth(s *snapshot.Snapshot) CheckResult {
	r := CheckResult{Name: "live colour has no unhealthy targets"}
	c := liveColour(s)
	if c == nil {
		r.Skipped, r.Message = true, "no single live colour"
		return r
	}
	if len(c.Unhealthy) > 0 {
		var parts []string
		for _, t := range c.Unhealthy {
			p := t.ID
			if t.Port != 0 {
				p += fmt.Sprintf(":%d", t.Port)
			}
			p += " " + t.State
			if t.Reason != "" {
				p += " (" + t.Reason + ")"
			}
			parts = append(parts, p)
		}
		r.Message = fmt.Sprintf("%s has %d unhealthy targets: %s", c.Colour, len(c.Unhealthy), strings.Join(parts, "; "))
		return r
	}
	if c.Healthy == 0 {
		r.Message = string(c.Colour) + " has no healthy targets"
		return r
	}
	r.Passed, r.Message = true, fmt.Sprintf("%s has %d healthy targets", c.Colour, c.Healthy)
	return r
}

// checkPinned: the live task definition pins every image by digest, so what
// runs cannot change under a moved tag.
// checkPinned: what production runs is named by digest. A tag is a warning
// (someone deployed around the pipeline, or before it existed: the service
// still works) unless the user asked for digests to be required.
func checkPinned(s *snapshot.Snapshot, required bool) CheckResult {
	r := CheckResult{Name: "live images are pinned by digest", Severity: SeverityWarning}
	if required {
		r.Severity = SeverityError
	}
	c := liveColour(s)
	if c == nil {
		r.Skipped, r.Message = true, "no single live colour"
		return r
	}
	var loose []string
	for _, ct := range c.Containers {
		if !strings.Contains(ct.Image, "@sha256:") {
			loose = append(loose, ct.Name+" ("+ct.Image+")")
		}
	}
	if len(loose) > 0 {
		r.Message = "not pinned by digest: " + strings.Join(loose, ", ")
		return r
	}
	r.Passed, r.Message = true, fmt.Sprintf("%d containers pinned", len(c.Containers))
	return r
}

func liveColour(s *snapshot.Snapshot) *snapshot.ColourState {
	if s.Live == "" {
		return nil
	}
	return s.Colour(s.Live)
}
