package report

import (
	"encoding/json"
	"fmt"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// AnnotationsFile is GitLab's annotations report (artifacts:reports:
// annotations): links GitLab shows on the job's page.
const AnnotationsFile = "annotations.json"

type annotationLink struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

type annotation struct {
	ExternalLink annotationLink `json:"external_link"`
}

// Annotations is annotations.json: under one section named after the
// service, what is live as links a person follows from the job page: the
// live commit, the pipeline that deployed it, its deployment in the AWS
// console, and the same for the other colour. Only http(s) links are
// written; labels carry text from outside escaped as in the log.
func Annotations(s *snapshot.Snapshot) ([]byte, error) {
	var links []annotation
	add := func(label, url string) {
		if webURL(url) {
			links = append(links, annotation{annotationLink{Label: gitlab.EscapeLine(label), URL: url}})
		}
	}
	add("status page: "+Headline(s), s.StatusPage)
	order := []snapshot.Colour{snapshot.Blue, snapshot.Green}
	if s.Live != "" {
		order = []snapshot.Colour{s.Live, s.Live.Other()}
	}
	for _, colour := range order {
		c := s.Colour(colour)
		if c == nil || c.Release == nil {
			continue
		}
		r := c.Release
		state := string(colour)
		if colour == s.Live {
			state += " (live)"
		}
		if r.Commit != "" {
			label := fmt.Sprintf("%s: commit %s", state, r.ShortCommit())
			if r.Title != "" {
				label += " " + r.Title
			}
			add(label, r.CommitURL)
		}
		add(fmt.Sprintf("%s: deployed by %s", state, orWord(r.StartedBy, "a pipeline")), r.PipelineURL)
		add(fmt.Sprintf("%s: deployment %s in the AWS console", state, r.DeploymentID), r.ConsoleURL)
	}
	section := gitlab.EscapeLine("ecs-bluegreen " + s.Service + ": " + Headline(s))
	b, err := json.MarshalIndent(map[string][]annotation{section: nonNil(links)}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func nonNil(a []annotation) []annotation {
	if a == nil {
		return []annotation{}
	}
	return a
}
