package report

import (
	"fmt"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// StatusHTML is status.html: one self-contained page (no external assets, so
// it renders from a GitLab artifact link or a file) with blue and green side
// by side. It is written with an escaping builder rather than html/template:
// text/template calls methods by name, which makes the linker keep every
// exported method of every type in the binary (9.5 MB of the tool's image,
// most of it AWS SDK operations the tool never calls).
func StatusHTML(s *snapshot.Snapshot) ([]byte, error) {
	var p htmlWriter
	writeStatusPage(&p, statusView(s))
	// Control characters and bidirectional overrides from AWS's text (which
	// reorder what a reader sees) are not markup, and only data can carry
	// them, so the page shows them escaped as the log does.
	return []byte(gitlab.EscapeLog(p.String())), nil
}

type colourView struct {
	*snapshot.ColourState
	Live       bool
	Production string
	Test       string
	TaskDef    string
	Tasks      string
	Health     string
	BarPercent float64
	LiveSince  string
}

type historyRow struct {
	snapshot.HistoryEntry
	Started, Duration, ShortCommit string
}

type pageView struct {
	S        *snapshot.Snapshot
	Headline string
	Summary  string
	Colours  []colourView
	HasTest  bool
	Taken    string
	History  []historyRow
	Timeline *timelineView
}

func statusView(s *snapshot.Snapshot) pageView {
	v := pageView{S: s, Headline: Headline(s), Summary: LiveSummary(s), HasTest: s.Group != nil && s.Group.TestListener != "" || s.Routes != nil && s.Routes.Test != "", Taken: s.Taken.UTC().Format("2006-01-02 15:04:05 UTC")}
	for i := range s.Colours {
		c := &s.Colours[i]
		cv := colourView{
			ColourState: c, Live: c.Colour == s.Live, Production: percent(c.ProductionWeight), Test: percent(c.TestWeight),
			TaskDef: orDash(shortTaskDef(c.TaskDefinition)), Health: health(c), BarPercent: c.ProductionWeight,
		}
		if c.Release != nil && c.Colour == s.Live {
			cv.LiveSince = timeText(c.Release.LiveSince)
		}
		cv.Tasks = "no task set"
		if ts := c.TaskSet; ts != nil {
			cv.Tasks = fmt.Sprintf("%d/%d running", ts.Running, ts.Desired)
			if ts.Pending > 0 {
				cv.Tasks += fmt.Sprintf(", %d pending", ts.Pending)
			}
			cv.Tasks += " (" + strings.ToLower(ts.Status) + ")"
		}
		v.Colours = append(v.Colours, cv)
	}
	for _, h := range s.History {
		r := historyRow{HistoryEntry: h, Started: timeText(h.Created), Duration: durationText(h.Duration(s.Taken)), ShortCommit: h.Commit[:min(8, len(h.Commit))]}
		v.History = append(v.History, r)
	}
	v.Timeline = timelineSVG(s)
	return v
}

// statusStyle is the page's whole stylesheet: nothing is fetched.
const statusStyle = `<style>
  :root { --blue: #1f6feb; --green: #1a7f37; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; padding: 24px; background: #f6f8fa; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: var(--muted); margin: 0 0 20px; }
  .split { display: flex; height: 28px; border-radius: 6px; overflow: hidden; margin: 0 0 20px; border: 1px solid var(--line); }
  .split div { display: flex; align-items: center; justify-content: center; color: #fff; font-weight: 600; font-size: 13px; white-space: nowrap; }
  .split .blue { background: var(--blue); } .split .green { background: var(--green); }
  .colours { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  .colour { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; border-top: 6px solid; }
  .colour.blue { border-top-color: var(--blue); } .colour.green { border-top-color: var(--green); }
  .colour.live { box-shadow: 0 0 0 2px var(--ink); }
  .colour h2 { margin: 0 0 12px; font-size: 18px; text-transform: capitalize; display: flex; gap: 8px; align-items: center; }
  .badge { font-size: 12px; font-weight: 600; text-transform: uppercase; padding: 2px 8px; border-radius: 10px; background: var(--ink); color: #fff; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 12px; margin: 0; }
  dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .unhealthy { color: #cf222e; }
  .deployment { margin-top: 20px; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
  .Failed, .Stopped { color: #cf222e; font-weight: 600; }
  svg .blue { fill: var(--blue); } svg .green { fill: var(--green); }
  svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
  a { color: var(--blue); }
  footer { margin-top: 20px; color: var(--muted); font-size: 13px; }
</style>`

func writeStatusPage(p *htmlWriter, v pageView) {
	s := v.S
	p.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	p.raw("<title>").text(s.Service).raw(" on ").text(s.Cluster).raw(": ").text(v.Headline).raw("</title>\n")
	p.raw(statusStyle).raw("\n</head>\n<body>\n")
	p.raw("<h1>").text(s.Service).raw(" on ").text(s.Cluster).raw("</h1>\n")
	p.raw(`<p class="sub" id="headline">`).text(v.Headline)
	if v.Summary != "" {
		p.raw(": ").text(v.Summary)
	}
	p.raw("</p>\n")
	p.raw(`<div class="split" role="img" aria-label="production traffic">`)
	for _, c := range v.Colours {
		if c.BarPercent > 0 {
			p.raw(`<div class="`).text(string(c.Colour)).raw(`" style="width: `).text(fmt.Sprintf("%.1f", c.BarPercent)).raw(`%">`).
				text(string(c.Colour)).raw(" ").text(c.Production).raw("</div>")
		}
	}
	p.raw("</div>\n<div class=\"colours\">")
	for _, c := range v.Colours {
		writeColour(p, c, v.HasTest)
	}
	p.raw("\n</div>")
	if d := s.InFlight; d != nil {
		p.raw("\n<div class=\"deployment\">Deployment in progress: <code>").text(d.ID).raw("</code> (").text(d.Status).raw(")")
		if d.Description != "" {
			p.raw(": ").text(d.Description)
		}
		p.raw("</div>")
	}
	if d := s.LastSuccessful; d != nil {
		p.raw("\n<div class=\"deployment\">Last successful deployment: <code>").text(d.ID).raw("</code></div>")
	}
	if tl := v.Timeline; tl != nil {
		writeTimeline(p, tl)
	}
	if len(v.History) > 0 {
		writeHistory(p, v.History)
	}
	if len(s.Registry) > 0 {
		p.raw("\n<div class=\"deployment\">Registry tags:<ul>")
		for _, t := range s.Registry {
			p.raw("<li><code>").text(t.Repository + ":" + t.Tag).raw("</code>: ")
			switch {
			case t.Error != "":
				p.raw("cannot be read (").text(t.Error).raw(")")
			case t.Digest != "":
				p.raw("<code>").text(t.Digest).raw("</code>")
			default:
				p.raw("not set")
			}
			p.raw("</li>")
		}
		p.raw("</ul></div>")
	}
	if len(s.Warnings) > 0 {
		p.raw("\n<div class=\"deployment\">Warnings:<ul>")
		for _, w := range s.Warnings {
			p.raw("<li>").text(w).raw("</li>")
		}
		p.raw("</ul></div>")
	}
	p.raw("\n<footer>Read ").text(v.Taken).raw(" by ecs-bluegreen.</footer>\n</body>\n</html>\n")
}

// writeColour is one colour's card.
func writeColour(p *htmlWriter, c colourView, hasTest bool) {
	live := ""
	if c.Live {
		live = " live"
	}
	p.raw("\n<section class=\"colour ").text(string(c.Colour)).raw(live).raw(`" id="`).text(string(c.Colour)).raw("\">\n")
	p.raw("  <h2>").text(string(c.Colour))
	if c.Live {
		p.raw(` <span class="badge">live</span>`)
	}
	p.raw("</h2>\n  <dl>\n")
	p.raw("    <dt>Production traffic</dt><dd>").text(c.Production).raw("</dd>")
	if hasTest {
		p.raw("<dt>Test traffic</dt><dd>").text(c.Test).raw("</dd>")
	}
	if r := c.Release; r != nil {
		writeRelease(p, r)
	}
	if c.LiveSince != "" {
		p.raw("<dt>Live since</dt><dd>").text(c.LiveSince).raw("</dd>")
	}
	p.raw("\n    <dt>Task definition</dt><dd><code>").text(c.TaskDef).raw("</code></dd>\n")
	p.raw("    <dt>Images</dt><dd>")
	for _, ct := range c.Containers {
		p.raw("<div><code>").text(ct.Name).raw("</code>: <code>").text(ct.Image).raw("</code></div>")
	}
	if len(c.Containers) == 0 {
		p.raw("-")
	}
	p.raw("</dd>\n")
	p.raw("    <dt>Tasks</dt><dd>").text(c.Tasks).raw("</dd>\n")
	p.raw("    <dt>Targets</dt><dd")
	if len(c.Unhealthy) > 0 {
		p.raw(` class="unhealthy"`)
	}
	p.raw(">").text(c.Health).raw("</dd>")
	if c.Service != "" {
		p.raw("<dt>Service</dt><dd><code>").text(c.Service).raw("</code></dd>")
	}
	p.raw("\n    <dt>Target group</dt><dd><code>").text(c.TargetGroup).raw("</code>")
	if c.IsProduction != "" {
		p.raw(" (IsProduction=").text(c.IsProduction).raw(")")
	}
	p.raw("</dd>\n  </dl>\n</section>")
}

// writeRelease is what a colour runs as a person names it: commit, version
// and the deployment that put it there.
func writeRelease(p *htmlWriter, r *snapshot.Release) {
	p.raw("\n    <dt>Commit</dt><dd class=\"commit\">")
	if r.Commit != "" {
		p.link(r.CommitURL, func() { p.raw("<code>").text(r.ShortCommit()).raw("</code>") })
		if r.Title != "" {
			p.raw(" ").text(r.Title)
		}
	} else {
		p.raw("-")
	}
	p.raw("</dd>\n    <dt>Version</dt><dd>")
	if r.Error != "" {
		p.raw("image metadata cannot be read (").text(r.Error).raw(")")
	} else {
		p.text(orDash(r.Version))
	}
	p.raw("</dd>\n    <dt>Deployed by</dt><dd>")
	if r.DeploymentID != "" {
		by := r.StartedBy
		if by == "" {
			by = "deployment"
		}
		p.link(r.PipelineURL, func() { p.text(by) })
		if r.JobURL != "" {
			p.raw(", ").link(r.JobURL, func() { p.raw("job") })
		}
		p.raw(", ").link(r.ConsoleURL, func() { p.raw("<code>").text(r.DeploymentID).raw("</code>") })
	} else {
		p.raw("-")
	}
	p.raw("</dd>")
}

// writeTimeline is the last deployment's production traffic: an inline SVG
// and the same points as a list.
func writeTimeline(p *htmlWriter, tl *timelineView) {
	p.raw("\n<div class=\"deployment\" id=\"timeline\"><div>Production traffic during <code>").text(tl.DeploymentID).raw("</code> (").
		text(string(tl.From)).raw(" → ").text(string(tl.To))
	if tl.Config != "" {
		p.raw(", ").text(tl.Config)
	}
	p.raw(")</div>\n")
	p.raw(`<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 `).text(fmt.Sprint(tl.Width)).raw(" ").text(fmt.Sprint(tl.Height)).
		raw(`" role="img" aria-label="`).text(tl.Label).raw(`">`)
	for _, r := range tl.Rects {
		p.raw("\n<rect class=\"").text(r.Colour).raw(`" x="`).text(fmt.Sprintf("%.1f", r.X)).raw(`" y="`).text(fmt.Sprintf("%.1f", r.Y)).
			raw(`" width="`).text(fmt.Sprintf("%.1f", r.W)).raw(`" height="`).text(fmt.Sprintf("%.1f", r.H)).raw(`"><title>`).text(r.Title).raw("</title></rect>")
	}
	for _, t := range tl.Ticks {
		p.raw("\n<text x=\"").text(fmt.Sprintf("%.1f", t.X)).raw(`" y="125" text-anchor="`).text(t.Anchor).raw(`"><title>`).text(t.Note).raw("</title>").text(t.Label).raw("</text>")
	}
	p.raw("\n<text x=\"0\" y=\"15\">100%</text><text x=\"0\" y=\"110\">0%</text>\n</svg>\n<ol class=\"points\">")
	for _, pt := range tl.Points {
		p.raw("<li>").text(pt.At.UTC().Format("15:04:05")).raw(": blue ").text(fmt.Sprintf("%.0f", pt.Blue)).raw("%, green ").text(fmt.Sprintf("%.0f", pt.Green)).raw("%: ").text(pt.Note).raw("</li>")
	}
	p.raw("</ol>\n</div>")
}

// writeHistory is the table of the last deployments.
func writeHistory(p *htmlWriter, rows []historyRow) {
	p.raw("\n<div class=\"deployment\" id=\"history\">Last deployments:\n<table><thead><tr><th>Deployment</th><th>Outcome</th><th>Started</th><th>Duration</th><th>Started by</th><th>Commit</th><th>Error</th></tr></thead><tbody>")
	for _, h := range rows {
		p.raw("\n<tr><td>").link(h.ConsoleURL, func() { p.raw("<code>").text(h.ID).raw("</code>") })
		p.raw(`</td><td class="`).text(h.Status).raw(`">`).text(h.Status).raw("</td><td>").text(h.Started).raw("</td><td>").text(h.Duration).raw("</td><td>")
		p.link(h.PipelineURL, func() { p.text(h.StartedBy) })
		p.raw("</td><td>")
		if h.ShortCommit != "" {
			p.raw("<code>").text(h.ShortCommit).raw("</code>")
		} else {
			p.raw("-")
		}
		p.raw("</td><td>")
		if h.ErrorCode != "" {
			p.raw(`<code title="`).text(h.ErrorMessage).raw(`">`).text(h.ErrorCode).raw("</code>")
		} else {
			p.raw("-")
		}
		p.raw("</td></tr>")
	}
	p.raw("\n</tbody></table></div>")
}
