package app

import (
	"errors"
	"strings"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// inputsVar is set by the GitLab components to the input behind each
// variable, as VAR=input pairs separated by commas (CI_JOB_TIMEOUT names the
// job_timeout input), so an error in a component job names what the user
// wrote in their .gitlab-ci.yml as well as the variable.
const inputsVar = "ECS_BLUEGREEN_INPUTS"

// componentInputs reads inputsVar; it is empty outside a component job.
func componentInputs(environ []string) map[string]string {
	v, _ := config.EnvironLookuper(environ).Lookup(inputsVar)
	out := map[string]string{}
	for pair := range strings.SplitSeq(v, ",") {
		if name, input, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && name != "" && input != "" {
			out[name] = input
		}
	}
	return out
}

// withInput is v followed by the component input that sets it, if any.
func withInput(v string, inputs map[string]string) string {
	if in, ok := inputs[v]; ok {
		return v + " (input " + in + ")"
	}
	return v
}

// nameInputs makes every problem of a settings error name its input too.
func nameInputs(err error, inputs map[string]string) {
	var ce *config.Error
	if len(inputs) == 0 || !errors.As(err, &ce) {
		return
	}
	for i := range ce.Problems {
		ce.Problems[i].Var = withInput(ce.Problems[i].Var, inputs)
	}
}
