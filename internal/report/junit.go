package report

import (
	"encoding/xml"
	"fmt"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/gitlab"
)

// Case is one JUnit test case: a check of verify.
type Case struct {
	Name     string        `json:"name"`
	Passed   bool          `json:"passed"`
	Skipped  bool          `json:"skipped,omitempty"`
	Message  string        `json:"message,omitempty"`
	Duration time.Duration `json:"duration"`
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// JUnit renders cases as junit.xml for GitLab's test report: one suite named
// after the service, one case per check, the reason in the failure message.
func JUnit(suite string, at time.Time, cases []Case) ([]byte, error) {
	s, _ := junitSuiteOf(suite, at, cases)
	doc := junitSuites{Name: "ecs-bluegreen verify", Tests: s.Tests, Failures: s.Failures, Skipped: s.Skipped, Time: s.Time, Suites: []junitSuite{s}}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// junitSuiteOf is one suite of cases, and their total duration.
func junitSuiteOf(suite string, at time.Time, cases []Case) (junitSuite, time.Duration) {
	suite = gitlab.EscapeLine(suite)
	s := junitSuite{Name: suite, Timestamp: at.UTC().Format(time.RFC3339)}
	var total time.Duration
	for _, c := range cases {
		// Messages carry AWS's words (alarm reasons, error messages): control
		// characters are shown escaped, as in the job log.
		c.Name, c.Message = gitlab.EscapeLine(c.Name), gitlab.EscapeLog(c.Message)
		jc := junitCase{Name: c.Name, ClassName: suite, Time: seconds(c.Duration)}
		switch {
		case c.Skipped:
			jc.Skipped = &junitMessage{Message: c.Message}
			s.Skipped++
		case !c.Passed:
			jc.Failure = &junitMessage{Message: c.Message, Text: c.Message}
			s.Failures++
		default:
			jc.SystemOut = c.Message
		}
		total += c.Duration
		s.Cases = append(s.Cases, jc)
	}
	s.Tests, s.Time = len(cases), seconds(total)
	return s, total
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
