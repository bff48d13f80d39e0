package config

import (
	"fmt"
	"os"
)

// Status configures what status and verify read besides the colours: the
// deployment history, and the services of a many-services run.
type Status struct {
	History      int    `env:"BG_HISTORY,default=10" desc:"How many of the last deployments status and verify show (codedeploy model), read in one batch call; 0 shows only the one in flight."`
	ServicesFile string `env:"BG_SERVICES_FILE" desc:"A YAML or JSON file listing several services (each a name and its BG_* settings): status and verify then report on all of them in one run, one page with a row per service and one JUnit suite each."`
	Concurrency  int    `env:"BG_SERVICES_CONCURRENCY,default=4" desc:"How many services of BG_SERVICES_FILE are read at once."`
}

// maxHistory keeps the history and the colours' own deployments within one
// BatchGetDeployments (at most 100 ids).
const maxHistory = 50

// Validate checks the bounds and that the services file can be read.
func (s *Status) Validate() []Problem {
	var ps []Problem
	if s.History < 0 || s.History > maxHistory {
		ps = append(ps, Problem{Var: "BG_HISTORY", Message: fmt.Sprintf("must be between 0 and %d", maxHistory)})
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		ps = append(ps, Problem{Var: "BG_SERVICES_CONCURRENCY", Message: "must be between 1 and 64"})
	}
	if s.ServicesFile != "" {
		if fi, err := os.Stat(s.ServicesFile); err != nil || fi.IsDir() {
			ps = append(ps, Problem{Var: "BG_SERVICES_FILE", Message: "is not a file that can be read", Value: s.ServicesFile})
		}
	}
	return ps
}
