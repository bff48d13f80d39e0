package app

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

func TestComponentInputs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		environ []string
		want    map[string]string
	}{
		{name: "outside_a_component", environ: []string{"BG_CLUSTER=prod"}, want: map[string]string{}},
		{name: "empty", environ: []string{inputsVar + "="}, want: map[string]string{}},
		{
			name: "pairs", environ: []string{inputsVar + "=BG_CLUSTER=cluster, AWS_REGION=aws_region,,bad,CI_JOB_TIMEOUT=job_timeout"},
			want: map[string]string{"BG_CLUSTER": "cluster", "AWS_REGION": "aws_region", "CI_JOB_TIMEOUT": "job_timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, componentInputs(tt.environ)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestNameInputs checks that a settings error in a component job names the
// input the user wrote next to the variable, and leaves other errors alone.
func TestNameInputs(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{"BG_SERVICE": "service"}
	err := fmt.Errorf("loading: %w", &config.Error{Problems: []config.Problem{
		{Var: "BG_SERVICE", Message: "is required"}, {Var: "BG_LOG_FORMAT", Message: "is not text or json", Value: "xml"},
	}})
	nameInputs(err, inputs)
	want := "loading: 2 settings need attention:"
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Fatalf("error %q", got)
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatal("not a config.Error")
	}
	if got := []string{ce.Problems[0].String(), ce.Problems[1].String()}; !cmp.Equal(got, []string{"BG_SERVICE (input service) is required", `BG_LOG_FORMAT is not text or json (got "xml")`}) {
		t.Errorf("problems %q", got)
	}
	other := errors.New("BG_SERVICE: something else")
	nameInputs(other, inputs)
	if other.Error() != "BG_SERVICE: something else" {
		t.Errorf("changed another error: %v", other)
	}
}
