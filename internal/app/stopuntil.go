package app

import (
	"strconv"
	"time"
)

// jobEnd is when the job's time runs out, from CI_JOB_TIMEOUT (seconds)
// counted from now, less a margin to report before GitLab ends the job; zero
// when the job's timeout is not known. A stop after an interrupt keeps
// trying until then.
func (inv *invocation) jobEnd() time.Time {
	secs, err := strconv.Atoi(inv.getenv("CI_JOB_TIMEOUT"))
	if err != nil || secs <= 0 {
		return time.Time{}
	}
	d := time.Duration(secs) * time.Second
	return time.Now().Add(d - min(30*time.Second, d/10))
}
