package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// ServiceStatus is one service of a many-services run: its snapshot, or
// why it could not be read, and its verify checks.
type ServiceStatus struct {
	Name string `json:"name"`
	// Detail is the service's own status.html, relative to the page.
	Detail string             `json:"detail,omitempty"`
	Status *snapshot.Snapshot `json:"status,omitempty"`
	// Error says why the service's run failed; ExitCode is its exit code.
	Error    string `json:"error,omitempty"`
	ExitCode int    `json:"exitCode"`
	// Cases are verify's checks (none for status).
	Cases []Case `json:"checks,omitempty"`
}

// failedChecks counts the service's failed checks.
func (s ServiceStatus) failedChecks() int {
	n := 0
	for _, c := range s.Cases {
		if !c.Passed && !c.Skipped {
			n++
		}
	}
	return n
}

// FleetRow is one service as the overview shows it.
type FleetRow struct {
	Name, Detail                   string
	Live, Commit, CommitURL, Title string
	Health, LastDeployment         string
	LastStatus, Traffic            string
	Outcome                        string
	Failed                         bool
	Blue, Green                    float64
}

// Rows are the overview's rows, in the services' order.
func Rows(services []ServiceStatus) []FleetRow {
	rows := make([]FleetRow, 0, len(services))
	for _, svc := range services {
		r := FleetRow{Name: svc.Name, Detail: svc.Detail, Live: "-", Commit: "-", Health: "-", LastDeployment: "-", Traffic: "-"}
		s := svc.Status
		switch {
		case svc.Error != "" && s == nil:
			r.Outcome, r.Failed = fmt.Sprintf("cannot be read (exit %d): %s", svc.ExitCode, firstLine(svc.Error)), true
		case svc.ExitCode != 0:
			r.Outcome, r.Failed = fmt.Sprintf("failed checks: %d (exit %d)", svc.failedChecks(), svc.ExitCode), true
		case len(svc.Cases) > 0:
			r.Outcome = "checks passed"
		default:
			r.Outcome = "read"
		}
		if s == nil {
			rows = append(rows, r)
			continue
		}
		r.Live = Headline(s)
		if b, g := s.Colour(snapshot.Blue), s.Colour(snapshot.Green); s.Live == "" && b != nil && g != nil {
			r.Health = "blue: " + health(b) + "; green: " + health(g)
		}
		if c := s.Colour(s.Live); c != nil {
			r.Health = health(c)
			if c.Release != nil && c.Release.Commit != "" {
				r.Commit, r.CommitURL, r.Title = c.Release.ShortCommit(), c.Release.CommitURL, c.Release.Title
			}
		}
		if b, g := s.Colour(snapshot.Blue), s.Colour(snapshot.Green); b != nil && g != nil {
			r.Blue, r.Green = b.ProductionWeight, g.ProductionWeight
			r.Traffic = "blue " + percent(b.ProductionWeight) + ", green " + percent(g.ProductionWeight)
		}
		switch {
		case len(s.History) > 0:
			h := s.History[0]
			r.LastDeployment, r.LastStatus = h.ID, h.Status+", "+timeText(h.Created)
		case s.InFlight != nil:
			r.LastDeployment, r.LastStatus = s.InFlight.ID, s.InFlight.Status
		case s.LastSuccessful != nil:
			r.LastDeployment, r.LastStatus = s.LastSuccessful.ID, s.LastSuccessful.Status
		}
		rows = append(rows, r)
	}
	return rows
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// FleetJSON is the overview's status.json: every service, in order.
func FleetJSON(taken time.Time, services []ServiceStatus) ([]byte, error) {
	b, err := json.MarshalIndent(struct {
		Taken    time.Time       `json:"taken"`
		Services []ServiceStatus `json:"services"`
	}{taken.UTC(), services}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// FleetMarkdown is the overview's status.md, also printed in the log: a row
// per service.
func FleetMarkdown(taken time.Time, services []ServiceStatus) string {
	var b strings.Builder
	failed := 0
	for _, r := range Rows(services) {
		if r.Failed {
			failed++
		}
	}
	fmt.Fprintf(&b, "### %d services: %d need attention\n\n", len(services), failed)
	b.WriteString("| service | live | commit | health | last deployment | traffic | result |\n|---|---|---|---|---|---|---|\n")
	for _, r := range Rows(services) {
		commit := "-"
		if r.Commit != "-" {
			commit = mdLink(r.Commit, r.CommitURL)
			if r.Title != "" {
				commit += " " + md(r.Title)
			}
		}
		last := "-"
		if r.LastDeployment != "-" {
			last = gitlab.MarkdownCode(r.LastDeployment) + " " + md(r.LastStatus)
		}
		result := md(r.Outcome)
		if r.Failed {
			result = "**" + result + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", gitlab.MarkdownCode(r.Name), md(r.Live), commit, md(r.Health), last, md(r.Traffic), result)
	}
	fmt.Fprintf(&b, "\n_Read %s._\n", taken.UTC().Format("2006-01-02 15:04:05 UTC"))
	return b.String()
}

// FleetHTML is the overview's status.html: a row per service, each linking
// to the service's own page; self-contained like StatusHTML.
func FleetHTML(taken time.Time, services []ServiceStatus) ([]byte, error) {
	rows := Rows(services)
	failed := 0
	for _, r := range rows {
		if r.Failed {
			failed++
		}
	}
	var p htmlWriter
	writeFleetPage(&p, rows, failed, taken.UTC().Format("2006-01-02 15:04:05 UTC"))
	return []byte(gitlab.EscapeLog(p.String())), nil
}

// fleetStyle is the overview's whole stylesheet: nothing is fetched.
const fleetStyle = `<style>
  :root { --blue: #1f6feb; --green: #1a7f37; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; padding: 24px; background: #f6f8fa; }
  h1 { font-size: 20px; margin: 0 0 16px; }
  table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
  th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; vertical-align: top; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
  td:first-child { white-space: nowrap; }
  .failed td { background: #ffebe9; } .failed .result { color: #cf222e; font-weight: 600; }
  .bar { display: flex; width: 120px; height: 12px; border: 1px solid var(--line); border-radius: 3px; overflow: hidden; }
  .bar .blue { background: var(--blue); } .bar .green { background: var(--green); }
  a { color: var(--blue); }
  footer { margin-top: 16px; color: var(--muted); font-size: 13px; }
</style>`

func writeFleetPage(p *htmlWriter, rows []FleetRow, failed int, taken string) {
	title := fmt.Sprintf("%d services: %d need attention", len(rows), failed)
	p.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	p.raw("<title>").text(title).raw("</title>\n").raw(fleetStyle).raw("\n</head>\n<body>\n<h1>").text(title).raw("</h1>\n<table>\n")
	p.raw("<thead><tr><th>Service</th><th>Live</th><th>Commit</th><th>Health</th><th>Last deployment</th><th>Traffic</th><th>Result</th></tr></thead>\n<tbody>")
	for _, r := range rows {
		failedClass := ""
		if r.Failed {
			failedClass = " failed"
		}
		p.raw("\n<tr class=\"service").raw(failedClass).raw("\">\n<td>")
		p.link(r.Detail, func() { p.raw("<code>").text(r.Name).raw("</code>") })
		p.raw("</td>\n<td>").text(r.Live).raw("</td>\n<td>")
		p.link(r.CommitURL, func() { p.raw("<code>").text(r.Commit).raw("</code>") })
		if r.Title != "" {
			p.raw(" ").text(r.Title)
		}
		p.raw("</td>\n<td>").text(r.Health).raw("</td>\n<td><code>").text(r.LastDeployment).raw("</code> ").text(r.LastStatus).raw("</td>\n")
		p.raw(`<td><div class="bar" title="`).text(r.Traffic).raw(`">`)
		if r.Blue > 0 {
			p.raw(`<div class="blue" style="width: `).text(fmt.Sprintf("%.1f", r.Blue)).raw(`%"></div>`)
		}
		if r.Green > 0 {
			p.raw(`<div class="green" style="width: `).text(fmt.Sprintf("%.1f", r.Green)).raw(`%"></div>`)
		}
		p.raw("</div>").text(r.Traffic).raw("</td>\n<td class=\"result\">").text(r.Outcome).raw("</td>\n</tr>")
	}
	p.raw("\n</tbody>\n</table>\n<footer>Read ").text(taken).raw(" by ecs-bluegreen.</footer>\n</body>\n</html>\n")
}

// Suite is one JUnit test suite: a service's checks.
type Suite struct {
	Name  string
	At    time.Time
	Cases []Case
}

// JUnitSuites renders several suites in one junit.xml: a many-services
// verify writes one suite per service, so GitLab's test report groups the
// checks by service.
func JUnitSuites(suites []Suite) ([]byte, error) {
	doc := junitSuites{Name: "ecs-bluegreen verify"}
	var total time.Duration
	for _, s := range suites {
		js, d := junitSuiteOf(s.Name, s.At, s.Cases)
		doc.Suites = append(doc.Suites, js)
		doc.Tests += js.Tests
		doc.Failures += js.Failures
		doc.Skipped += js.Skipped
		total += d
	}
	doc.Time = seconds(total)
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// ReadJUnit reads back the cases of a junit.xml JUnit wrote (a service's
// own, in a many-services verify).
func ReadJUnit(data []byte) ([]Case, error) {
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading junit.xml: %w", err)
	}
	var out []Case
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			var secs float64
			_, _ = fmt.Sscan(c.Time, &secs)
			k := Case{Name: c.Name, Passed: c.Failure == nil && c.Skipped == nil, Message: c.SystemOut, Duration: time.Duration(secs * float64(time.Second))}
			switch {
			case c.Failure != nil:
				k.Message = c.Failure.Message
			case c.Skipped != nil:
				k.Skipped, k.Message = true, c.Skipped.Message
			}
			out = append(out, k)
		}
	}
	return out, nil
}
