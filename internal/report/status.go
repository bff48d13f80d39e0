package report

import (
	"encoding/json"
	"fmt"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// StatusJSON is status.json: the snapshot as indented JSON.
func StatusJSON(s *snapshot.Snapshot) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// StatusMarkdown is status.md, also printed in the job log: blue and green
// side by side, which one is live, and the deployment in progress. Every
// string read from AWS is escaped (md, gitlab.MarkdownCode): a description
// or a name written by someone else cannot add HTML, links or table cells.
func StatusMarkdown(s *snapshot.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s on %s: %s\n\n", md(s.Service), md(s.Cluster), md(Headline(s)))
	if sum := LiveSummary(s); sum != "" {
		fmt.Fprintf(&b, "%s.\n\n", md(sum))
	}
	blue, green := s.Colour(snapshot.Blue), s.Colour(snapshot.Green)
	row := func(name string, f func(c *snapshot.ColourState) string) {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, f(blue), f(green))
	}
	b.WriteString("| | blue | green |\n|---|---|---|\n")
	row("production traffic", func(c *snapshot.ColourState) string {
		p := percent(c.ProductionWeight)
		if c.Colour == s.Live {
			return "**" + p + " (live)**"
		}
		return p
	})
	if s.Group != nil && s.Group.TestListener != "" || s.Routes != nil && s.Routes.Test != "" {
		row("test traffic", func(c *snapshot.ColourState) string { return percent(c.TestWeight) })
	}
	if s.Routes != nil {
		row("service", func(c *snapshot.ColourState) string { return gitlab.MarkdownCode(c.Service) })
	}
	releaseRows(s, row)
	row("task definition", func(c *snapshot.ColourState) string { return orDash(md(shortTaskDef(c.TaskDefinition))) })
	row("image", func(c *snapshot.ColourState) string {
		var imgs []string
		for _, ct := range c.Containers {
			imgs = append(imgs, gitlab.MarkdownCode(ct.Name)+": "+gitlab.MarkdownCode(ct.Image))
		}
		return orDash(strings.Join(imgs, "<br>"))
	})
	row("tasks", func(c *snapshot.ColourState) string {
		if c.TaskSet == nil {
			return "-"
		}
		s := fmt.Sprintf("%d/%d running", c.TaskSet.Running, c.TaskSet.Desired)
		if c.TaskSet.Pending > 0 {
			s += fmt.Sprintf(", %d pending", c.TaskSet.Pending)
		}
		return s + " (" + md(strings.ToLower(c.TaskSet.Status)) + ")"
	})
	row("targets", func(c *snapshot.ColourState) string { return md(health(c)) })
	row("target group", func(c *snapshot.ColourState) string { return gitlab.MarkdownCode(c.TargetGroup) })
	if s.Routes != nil {
		row("IsProduction tag", func(c *snapshot.ColourState) string { return orDash(md(c.IsProduction)) })
	}
	b.WriteString("\n")
	if d := s.InFlight; d != nil {
		fmt.Fprintf(&b, "Deployment in progress: %s (%s)", gitlab.MarkdownCode(d.ID), md(d.Status))
		if d.Description != "" {
			fmt.Fprintf(&b, ": %s", md(d.Description))
		}
		b.WriteString("\n\n")
	}
	if d := s.LastSuccessful; d != nil {
		fmt.Fprintf(&b, "Last successful deployment: %s", gitlab.MarkdownCode(d.ID))
		if !d.Ended.IsZero() {
			fmt.Fprintf(&b, ", ended %s", d.Ended.UTC().Format("2006-01-02 15:04 UTC"))
		}
		b.WriteString("\n\n")
	}
	historyMarkdown(&b, s)
	b.WriteString(TimelineText(s))
	if len(s.Registry) > 0 {
		b.WriteString("Registry tags:\n\n")
		for _, t := range s.Registry {
			fmt.Fprintf(&b, "- %s: %s\n", gitlab.MarkdownCode(t.Repository+":"+t.Tag), registryTagText(t))
		}
		b.WriteString("\n")
	}
	if len(s.Warnings) > 0 {
		b.WriteString("Warnings:\n\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "- %s\n", w)
		}
		b.WriteString("\n")
	}
	if s.StatusPage != "" {
		fmt.Fprintf(&b, "%s\n\n", mdLink("The status page", s.StatusPage))
	}
	fmt.Fprintf(&b, "_Read %s._\n", s.Taken.UTC().Format("2006-01-02 15:04:05 UTC"))
	return b.String()
}

// md escapes text for status.md.
func md(s string) string { return gitlab.EscapeMarkdown(s) }

// Headline says in a few words which colour is live.
func Headline(s *snapshot.Snapshot) string {
	switch {
	case s.Live != "":
		return string(s.Live) + " is live"
	case s.Colours[0].ProductionWeight == 0 && s.Colours[1].ProductionWeight == 0:
		return "no colour receives production traffic"
	default:
		return fmt.Sprintf("traffic is split (blue %s, green %s)", percent(s.Colours[0].ProductionWeight), percent(s.Colours[1].ProductionWeight))
	}
}

func health(c *snapshot.ColourState) string {
	var parts []string
	if c.Healthy > 0 {
		parts = append(parts, fmt.Sprintf("%d healthy", c.Healthy))
	}
	if n := len(c.Unhealthy); n > 0 {
		reasons := map[string]bool{}
		var list []string
		for _, t := range c.Unhealthy {
			if t.Reason != "" && !reasons[t.Reason] {
				reasons[t.Reason] = true
				list = append(list, t.Reason)
			}
		}
		s := fmt.Sprintf("%d unhealthy", n)
		if len(list) > 0 {
			s += " (" + strings.Join(list, ", ") + ")"
		}
		parts = append(parts, s)
	}
	if c.Other > 0 {
		parts = append(parts, fmt.Sprintf("%d starting or draining", c.Other))
	}
	if len(parts) == 0 {
		return "none registered"
	}
	return strings.Join(parts, ", ")
}

func percent(p float64) string {
	if p == float64(int(p)) {
		return fmt.Sprintf("%d%%", int(p))
	}
	return fmt.Sprintf("%.1f%%", p)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortTaskDef turns a task definition ARN into family:revision.
func shortTaskDef(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// registryTagText says what a registry tag names, or why it is unknown.
func registryTagText(t snapshot.RegistryTag) string {
	switch {
	case t.Error != "":
		return "cannot be read (" + md(t.Error) + ")"
	case t.Digest == "":
		return "not set"
	default:
		return gitlab.MarkdownCode(t.Digest)
	}
}
