package report

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// StatusHTML is status.html: one self-contained page (no external assets, so
// it renders from a GitLab artifact link or a file) with blue and green side
// by side.
func StatusHTML(s *snapshot.Snapshot) ([]byte, error) {
	var b bytes.Buffer
	if err := statusPage.Execute(&b, statusView(s)); err != nil {
		return nil, err
	}
	// html/template escapes markup; control characters and bidirectional
	// overrides from AWS's text (which reorder what a reader sees) come
	// through it, and only data can carry them, so the page shows them
	// escaped as the log does.
	return []byte(gitlab.EscapeLog(b.String())), nil
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

var statusPage = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.S.Service}} on {{.S.Cluster}}: {{.Headline}}</title>
<style>
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
</style>
</head>
<body>
<h1>{{.S.Service}} on {{.S.Cluster}}</h1>
<p class="sub" id="headline">{{.Headline}}{{with .Summary}}: {{.}}{{end}}</p>
<div class="split" role="img" aria-label="production traffic">
{{- range .Colours}}{{if gt .BarPercent 0.0}}<div class="{{.Colour}}" style="width: {{printf "%.1f" .BarPercent}}%">{{.Colour}} {{.Production}}</div>{{end}}{{end -}}
</div>
<div class="colours">
{{- range .Colours}}
<section class="colour {{.Colour}}{{if .Live}} live{{end}}" id="{{.Colour}}">
  <h2>{{.Colour}}{{if .Live}} <span class="badge">live</span>{{end}}</h2>
  <dl>
    <dt>Production traffic</dt><dd>{{.Production}}</dd>
    {{- if $.HasTest}}<dt>Test traffic</dt><dd>{{.Test}}</dd>{{end}}
    {{- with .Release}}
    <dt>Commit</dt><dd class="commit">{{if .Commit}}{{if .CommitURL}}<a href="{{.CommitURL}}"><code>{{.ShortCommit}}</code></a>{{else}}<code>{{.ShortCommit}}</code>{{end}}{{with .Title}} {{.}}{{end}}{{else}}-{{end}}</dd>
    <dt>Version</dt><dd>{{if .Error}}image metadata cannot be read ({{.Error}}){{else}}{{or .Version "-"}}{{end}}</dd>
    <dt>Deployed by</dt><dd>{{if .DeploymentID}}{{if .PipelineURL}}<a href="{{.PipelineURL}}">{{or .StartedBy "deployment"}}</a>{{else}}{{or .StartedBy "deployment"}}{{end}}{{with .JobURL}}, <a href="{{.}}">job</a>{{end}}, {{if .ConsoleURL}}<a href="{{.ConsoleURL}}"><code>{{.DeploymentID}}</code></a>{{else}}<code>{{.DeploymentID}}</code>{{end}}{{else}}-{{end}}</dd>
    {{- end}}
    {{- with .LiveSince}}<dt>Live since</dt><dd>{{.}}</dd>{{end}}
    <dt>Task definition</dt><dd><code>{{.TaskDef}}</code></dd>
    <dt>Images</dt><dd>{{range .Containers}}<div><code>{{.Name}}</code>: <code>{{.Image}}</code></div>{{else}}-{{end}}</dd>
    <dt>Tasks</dt><dd>{{.Tasks}}</dd>
    <dt>Targets</dt><dd{{if .Unhealthy}} class="unhealthy"{{end}}>{{.Health}}</dd>
    {{- with .Service}}<dt>Service</dt><dd><code>{{.}}</code></dd>{{end}}
    <dt>Target group</dt><dd><code>{{.TargetGroup}}</code>{{with .IsProduction}} (IsProduction={{.}}){{end}}</dd>
  </dl>
</section>
{{- end}}
</div>
{{- with .S.InFlight}}
<div class="deployment">Deployment in progress: <code>{{.ID}}</code> ({{.Status}}){{with .Description}}: {{.}}{{end}}</div>
{{- end}}
{{- with .S.LastSuccessful}}
<div class="deployment">Last successful deployment: <code>{{.ID}}</code></div>
{{- end}}
{{- with .Timeline}}
<div class="deployment" id="timeline"><div>Production traffic during <code>{{.DeploymentID}}</code> ({{.From}} → {{.To}}{{with .Config}}, {{.}}{{end}})</div>
<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Label}}">
{{- range .Rects}}
<rect class="{{.Colour}}" x="{{printf "%.1f" .X}}" y="{{printf "%.1f" .Y}}" width="{{printf "%.1f" .W}}" height="{{printf "%.1f" .H}}"><title>{{.Title}}</title></rect>
{{- end}}
{{- range .Ticks}}
<text x="{{printf "%.1f" .X}}" y="125" text-anchor="{{.Anchor}}"><title>{{.Note}}</title>{{.Label}}</text>
{{- end}}
<text x="0" y="15">100%</text><text x="0" y="110">0%</text>
</svg>
<ol class="points">{{range .Points}}<li>{{.At.UTC.Format "15:04:05"}}: blue {{printf "%.0f" .Blue}}%, green {{printf "%.0f" .Green}}%: {{.Note}}</li>{{end}}</ol>
</div>
{{- end}}
{{- with .History}}
<div class="deployment" id="history">Last deployments:
<table><thead><tr><th>Deployment</th><th>Outcome</th><th>Started</th><th>Duration</th><th>Started by</th><th>Commit</th><th>Error</th></tr></thead><tbody>
{{- range .}}
<tr><td>{{if .ConsoleURL}}<a href="{{.ConsoleURL}}"><code>{{.ID}}</code></a>{{else}}<code>{{.ID}}</code>{{end}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{.Started}}</td><td>{{.Duration}}</td><td>{{if .PipelineURL}}<a href="{{.PipelineURL}}">{{.StartedBy}}</a>{{else}}{{.StartedBy}}{{end}}</td><td>{{with .ShortCommit}}<code>{{.}}</code>{{else}}-{{end}}</td><td>{{if .ErrorCode}}<code title="{{.ErrorMessage}}">{{.ErrorCode}}</code>{{else}}-{{end}}</td></tr>
{{- end}}
</tbody></table></div>
{{- end}}
{{- with .S.Registry}}
<div class="deployment">Registry tags:<ul>{{range .}}<li><code>{{.Repository}}:{{.Tag}}</code>: {{if .Error}}cannot be read ({{.Error}}){{else if .Digest}}<code>{{.Digest}}</code>{{else}}not set{{end}}</li>{{end}}</ul></div>
{{- end}}
{{- with .S.Warnings}}
<div class="deployment">Warnings:<ul>{{range .}}<li>{{.}}</li>{{end}}</ul></div>
{{- end}}
<footer>Read {{.Taken}} by ecs-bluegreen.</footer>
</body>
</html>
`))
