package app

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Lines of a job log that name a live colour.
var (
	stepLine      = regexp.MustCompile(`^== \[(\d+)/\d+\] `)
	watchLine     = regexp.MustCompile(`^== Deployment d-`)
	isLiveLine    = regexp.MustCompile(`^### (\S+) on \S+: (blue|green) is live`)
	cdTraffic     = regexp.MustCompile(`^\d\d:\d\d:\d\d  traffic blue\s+(\d+)% \S+\s+(\d+)% green`)
	switchTraffic = regexp.MustCompile(`^\d\d:\d\d:\d\d  production traffic blue\s+(\d+)% \S+\s+(\d+)% green`)
	primaryLine   = regexp.MustCompile(`^\d\d:\d\d:\d\d  (blue|green)\s+task set PRIMARY`)
	servesLine    = regexp.MustCompile(`^(?:ok|FAIL|warn)\s+production traffic is on one colour: (blue|green) serves all production traffic`)
)

// full is the colour with all of a traffic line's production share, or "".
func full(m []string) string {
	blue, _ := strconv.Atoi(m[1])
	green, _ := strconv.Atoi(m[2])
	switch {
	case blue == 100 && green == 0:
		return "blue"
	case green == 100 && blue == 0:
		return "green"
	}
	return ""
}

// colourStory reads a whole job log (the sandbox demo's, every step in
// order) and lists each line that names a live colour other than the one the
// rest of the log says. The model is told by the status heading: the listener
// model's service is "blue/green", the codedeploy model's a single name; the
// demo deploys one service of each.
//
// The rules: a watch starts with all production traffic on the colour the log
// last called live (a status heading, or a traffic line giving one colour
// everything); the status a step prints names the colour its last
// traffic line gave everything to, and so do its last PRIMARY task set line
// and verify's one-colour check.
func colourStory(log string) []string {
	var problems []string
	live := map[string]string{} // model -> colour the last status named
	var (
		step                      string
		lastFull, lastPrimary     map[string]string
		stepLive                  string
		firstTrafficOfWatchIsNext bool
	)
	bad := func(n int, line, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("step %s, line %d %q: %s", step, n+1, line, fmt.Sprintf(format, args...)))
	}
	for n, line := range strings.Split(log, "\n") {
		if m := stepLine.FindStringSubmatch(line); m != nil {
			step, stepLive = m[1], ""
			lastFull, lastPrimary = map[string]string{}, map[string]string{}
			continue
		}
		if watchLine.MatchString(line) {
			firstTrafficOfWatchIsNext = true
			continue
		}
		if m := cdTraffic.FindStringSubmatch(line); m != nil {
			c := full(m)
			if firstTrafficOfWatchIsNext {
				firstTrafficOfWatchIsNext = false
				if was := live["codedeploy"]; was != "" && c != was {
					bad(n, line, "the watch starts with all production on %q, but status said %s is live", c, was)
				}
			}
			lastFull["codedeploy"] = c
			if c != "" { // what the log last said is live, status or not
				live["codedeploy"] = c
			}
			continue
		}
		if m := switchTraffic.FindStringSubmatch(line); m != nil {
			lastFull["listener"] = full(m)
			if c := full(m); c != "" {
				live["listener"] = c
			}
			continue
		}
		if m := primaryLine.FindStringSubmatch(line); m != nil {
			lastPrimary["codedeploy"] = m[1]
			continue
		}
		if m := isLiveLine.FindStringSubmatch(line); m != nil {
			model := "codedeploy"
			if strings.Contains(m[1], "/") {
				model = "listener"
			}
			c := m[2]
			if f := lastFull[model]; f != "" && f != c {
				bad(n, line, "status says %s is live, but the last traffic line of the step gave all production to %s", c, f)
			}
			if p := lastPrimary[model]; p != "" && lastFull[model] != "" && p != lastFull[model] {
				bad(n, line, "the last PRIMARY task set line names %s, while all production is on %s", p, lastFull[model])
			}
			live[model], stepLive = c, c
			continue
		}
		if m := servesLine.FindStringSubmatch(line); m != nil && stepLive != "" && m[1] != stepLive {
			bad(n, line, "verify says %s serves production, status in the same step says %s", m[1], stepLive)
		}
	}
	return problems
}

// statusLive is the colour a status.md names live, with its model.
func statusLive(md string) (model, colour string) {
	for _, line := range strings.Split(md, "\n") {
		if m := isLiveLine.FindStringSubmatch(line); m != nil {
			if strings.Contains(m[1], "/") {
				return "listener", m[2]
			}
			return "codedeploy", m[2]
		}
	}
	return "", ""
}

// TestColourStory_checker: the checker itself finds what it must, or the
// demo test below could pass on a log that contradicts itself.
func TestColourStory_checker(t *testing.T) {
	t.Parallel()
	const live = "== [1/3] status\n### web on prod: green is live\n"
	tests := []struct {
		name, log string
		want      int
	}{
		{name: "consistent", want: 0, log: live +
			"== [2/3] deploy\n== Deployment d-AAAAAAAAA\n10:00:00  green task set PRIMARY: 2/2 running, 0 pending\n10:00:00  traffic blue   0% ░░ 100% green\n" +
			"10:00:01  blue  task set PRIMARY: 2/2 running, 0 pending\n10:00:01  traffic blue 100% ██   0% green\n### web on prod: blue is live\nok   production traffic is on one colour: blue serves all production traffic\n"},
		// CodeDeploy labels the original task set Blue whatever group it
		// serves: a watcher naming colours by label starts here.
		{name: "watch_starts_on_the_label_not_the_group", want: 1, log: live +
			"== [2/3] deploy\n== Deployment d-AAAAAAAAA\n10:00:00  traffic blue 100% ██   0% green\n10:00:01  traffic blue   0% ░░ 100% green\n### web on prod: green is live\n"},
		{name: "status_contradicts_traffic", want: 1, log: live +
			"== [2/3] deploy\n== Deployment d-AAAAAAAAA\n10:00:00  traffic blue   0% ░░ 100% green\n10:00:01  traffic blue 100% ██   0% green\n### web on prod: green is live\n"},
		{name: "primary_contradicts_traffic", want: 1, log: live +
			"== [2/3] deploy\n== Deployment d-AAAAAAAAA\n10:00:00  traffic blue   0% ░░ 100% green\n10:00:01  blue  task set PRIMARY: 2/2 running, 0 pending\n### web on prod: green is live\n"},
		{name: "verify_contradicts_status", want: 1, log: live + "== [2/3] verify\n### web on prod: green is live\nok   production traffic is on one colour: blue serves all production traffic\n"},
		{name: "listener_switch", want: 0, log: live + "== [2/3] switch\n### shop-blue/shop-green on prod: blue is live\n== [3/3] switch\n10:00:00  production traffic blue   0% ░░ 100% green\n### shop-blue/shop-green on prod: green is live\n"},
		{name: "listener_contradicts", want: 1, log: "== [3/3] switch\n10:00:00  production traffic blue   0% ░░ 100% green\n### shop-blue/shop-green on prod: blue is live\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := colourStory(tt.log); len(got) != tt.want {
				t.Errorf("colourStory found %d problems, want %d: %q", len(got), tt.want, got)
			}
		})
	}
}

// checkColourStory fails the test on every line of the demo's log, and on
// its last status.md, that names a live colour the rest contradicts.
func checkColourStory(t *testing.T, log, dir string) {
	t.Helper()
	for _, p := range colourStory(log) {
		t.Error(p)
	}
	md, err := os.ReadFile(filepath.Join(dir, "status.md"))
	if err != nil {
		t.Fatal(err)
	}
	model, c := statusLive(string(md))
	var last string
	for _, line := range strings.Split(log, "\n") {
		if m := isLiveLine.FindStringSubmatch(line); m != nil && strings.Contains(m[1], "/") == (model == "listener") {
			last = m[2]
		}
	}
	if c == "" || c != last {
		t.Errorf("status.md says %q is live (%s model); the log last said %q", c, model, last)
	}
}
