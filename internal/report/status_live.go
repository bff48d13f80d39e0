package report

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// What runs on each colour, its history and the traffic timeline, in the
// Markdown of status.md and the log.

const timeFormat = "2006-01-02 15:04 UTC"

// mdLink is a Markdown link to u with text as its (escaped) words; just the
// words when u is not an http(s) URL, so no link can run script.
func mdLink(text, u string) string {
	text = strings.NewReplacer("[", `\[`, "]", `\]`).Replace(md(text))
	if !webURL(u) {
		return text
	}
	return "[" + text + "](" + escapeURL(u) + ")"
}

// webURL reports whether u is an absolute http(s) URL.
func webURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != ""
}

// escapeURL percent-encodes what could end a Markdown link destination or
// an HTML attribute.
func escapeURL(u string) string {
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", `"`, "%22", "'", "%27", "`", "%60", "|", "%7C").Replace(u)
}

// commitText is the short commit and its title, linked to GitLab.
func commitText(r *snapshot.Release) string {
	if r == nil || r.Commit == "" {
		return "-"
	}
	s := mdLink(r.ShortCommit(), r.CommitURL)
	if r.Title != "" {
		s += " " + md(r.Title)
	}
	return s
}

// deployedByText is the deployment that put the release on the colour: who
// started it, linked to the pipeline and job, and to the AWS console.
func deployedByText(r *snapshot.Release) string {
	if r == nil || r.DeploymentID == "" {
		return "-"
	}
	parts := []string{mdLink(orWord(r.StartedBy, "deployment"), r.PipelineURL)}
	if r.JobURL != "" {
		parts = append(parts, mdLink("job", r.JobURL))
	}
	parts = append(parts, mdLink(r.DeploymentID, r.ConsoleURL))
	return strings.Join(parts, ", ")
}

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(timeFormat)
}

// durationText is d rounded for a person: 42s, 5m10s, 2h05m.
func durationText(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// releaseRows adds the rows about what runs on each colour.
func releaseRows(s *snapshot.Snapshot, row func(string, func(c *snapshot.ColourState) string)) {
	has := false
	for _, c := range s.Colours {
		has = has || c.Release != nil
	}
	if !has {
		return
	}
	row("commit", func(c *snapshot.ColourState) string { return commitText(c.Release) })
	row("version", func(c *snapshot.ColourState) string {
		if c.Release == nil {
			return "-"
		}
		if c.Release.Error != "" {
			return "image metadata cannot be read (" + md(c.Release.Error) + ")"
		}
		return orDash(md(c.Release.Version))
	})
	row("deployed by", func(c *snapshot.ColourState) string { return deployedByText(c.Release) })
	row("live since", func(c *snapshot.ColourState) string {
		if c.Release == nil || c.Colour != s.Live {
			return "-"
		}
		return timeText(c.Release.LiveSince)
	})
}

// historyMarkdown is the table of the last deployments.
func historyMarkdown(b *strings.Builder, s *snapshot.Snapshot) {
	if len(s.History) == 0 {
		return
	}
	fmt.Fprintf(b, "Last %d deployments:\n\n| deployment | outcome | started | duration | started by | commit | error |\n|---|---|---|---|---|---|---|\n", len(s.History))
	for _, h := range s.History {
		commit := "-"
		if h.Commit != "" {
			commit = gitlab.MarkdownCode(h.Commit[:min(8, len(h.Commit))])
		}
		errText := "-"
		if h.ErrorCode != "" {
			errText = gitlab.MarkdownCode(h.ErrorCode)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdLink(h.ID, h.ConsoleURL), md(h.Status), timeText(h.Created),
			durationText(h.Duration(s.Taken)), mdLink(h.StartedBy, h.PipelineURL), commit, errText)
	}
	b.WriteString("\n")
}

// TimelineText is the last deployment's production traffic as lines of
// text: the log's form of status.html's picture.
func TimelineText(s *snapshot.Snapshot) string {
	tl := s.Timeline
	if tl == nil || len(tl.Points) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Production traffic during %s (%s → %s", gitlab.MarkdownCode(tl.DeploymentID), tl.From, tl.To)
	if tl.Config != "" {
		fmt.Fprintf(&b, ", %s", md(tl.Config))
	}
	b.WriteString("):\n\n```\n")
	start := tl.Points[0].At
	for _, p := range tl.Points {
		fmt.Fprintf(&b, "%s  +%-8s blue %4s  green %4s  %s\n", p.At.UTC().Format("15:04:05"), durationOr0(p.At.Sub(start)),
			percent(p.Blue), percent(p.Green), strings.ReplaceAll(gitlab.EscapeLine(p.Note), "```", "'''"))
	}
	b.WriteString("```\n\n")
	return b.String()
}

func durationOr0(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return durationText(d)
}

// The timeline picture in status.html: an inline SVG, one band per stretch
// of time between two changes, blue below green, each as tall as its share.
const (
	svgWidth, svgLeft, svgRight = 860.0, 40.0, 20.0
	svgTop, svgBand             = 10.0, 100.0
)

type svgRect struct {
	X, Y, W, H float64
	Colour     string
	Title      string
}

type svgTick struct {
	X      float64
	Label  string
	Note   string
	Anchor string // start, or end near the right edge, so no label is cut
}

type timelineView struct {
	*snapshot.Timeline
	Rects  []svgRect
	Ticks  []svgTick
	Width  float64
	Height float64
	Label  string
}

func timelineSVG(s *snapshot.Snapshot) *timelineView {
	tl := s.Timeline
	if tl == nil || len(tl.Points) == 0 {
		return nil
	}
	start := tl.Points[0].At
	end := tl.Points[len(tl.Points)-1].At
	if s.Taken.After(end) {
		end = s.Taken
	}
	span := end.Sub(start)
	inner := svgWidth - svgLeft - svgRight
	// Each change gets at least a sliver, so a step a second long still shows.
	minW := inner / 40
	n := len(tl.Points)
	xs := make([]float64, n+1)
	widths := make([]float64, n)
	total := 0.0
	for i, p := range tl.Points {
		next := end
		if i+1 < n {
			next = tl.Points[i+1].At
		}
		w := minW
		if span > 0 {
			w = max(minW, inner*float64(next.Sub(p.At))/float64(span))
		}
		widths[i] = w
		total += w
	}
	v := &timelineView{
		Timeline: tl, Width: svgWidth, Height: svgTop + svgBand + 40,
		Label: fmt.Sprintf("production traffic per colour during deployment %s", tl.DeploymentID),
	}
	xs[0] = svgLeft
	for i, p := range tl.Points {
		w := widths[i] * inner / total
		xs[i+1] = xs[i] + w
		blueH := svgBand * p.Blue / 100
		greenH := svgBand * p.Green / 100
		title := fmt.Sprintf("%s: blue %s, green %s (%s)", p.At.UTC().Format("15:04:05"), percent(p.Blue), percent(p.Green), p.Note)
		if blueH > 0 {
			v.Rects = append(v.Rects, svgRect{X: xs[i], Y: svgTop + svgBand - blueH, W: w, H: blueH, Colour: "blue", Title: title})
		}
		if greenH > 0 {
			v.Rects = append(v.Rects, svgRect{X: xs[i], Y: svgTop + svgBand - blueH - greenH, W: w, H: greenH, Colour: "green", Title: title})
		}
		tick := svgTick{X: xs[i], Label: "+" + durationOr0(p.At.Sub(start)), Note: p.Note, Anchor: "start"}
		if tick.X > svgWidth-svgRight-60 {
			tick.Anchor = "end"
		}
		v.Ticks = append(v.Ticks, tick)
	}
	return v
}

// LiveSummary says in one sentence what production runs: the live colour's
// commit and title, version, who deployed it and since when ("" when no
// colour is live or nothing is known of its release). Plain text: callers
// escape it for where it goes.
func LiveSummary(s *snapshot.Snapshot) string {
	c := s.Colour(s.Live)
	if c == nil || c.Release == nil || c.Release.Commit == "" && c.Release.DeploymentID == "" {
		return ""
	}
	r := c.Release
	parts := []string{string(s.Live) + " runs"}
	if r.Commit != "" {
		parts = append(parts, r.ShortCommit())
		if r.Title != "" {
			parts = append(parts, curlyQuoted(r.Title))
		}
	} else {
		parts = append(parts, "an unknown commit")
	}
	if r.Version != "" {
		parts = append(parts, "(version "+r.Version+")")
	}
	out := strings.Join(parts, " ")
	if r.StartedBy != "" {
		out += ", deployed by " + r.StartedBy
	}
	if !r.LiveSince.IsZero() {
		out += ", live since " + timeText(r.LiveSince)
	}
	return out
}

func curlyQuoted(s string) string { return "\u201c" + s + "\u201d" }
