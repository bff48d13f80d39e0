package deploy

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

func TestReleaseOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, description string
		want              Release
		ok                bool
	}{
		{name: "origin", description: Origin("group/web", "101"), want: Release{Project: "group/web", Pipeline: 101}, ok: true},
		{name: "description", description: Describe(Origin("group/sub/web", "7"), "https://gitlab.example.com/group/sub/web/-/pipelines/7", "0123abc"), want: Release{Project: "group/sub/web", Pipeline: 7}, ok: true},
		{name: "by_hand", description: "hotfix by ops", ok: false},
		{name: "run_outside_gitlab", description: "[ecs-bluegreen run nightly-7]", ok: false},
		{name: "marker_not_first", description: "see [ecs-bluegreen group/web pipeline 9]", ok: false},
		{name: "pipeline_too_long", description: "[ecs-bluegreen group/web pipeline 99999999999999999999]", ok: false},
		{name: "empty", ok: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := ReleaseOf(tt.description)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ReleaseOf(%q) = %+v, %v; want %+v, %v", tt.description, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestOutdated(t *testing.T) {
	t.Parallel()
	dep := func(description string) *cdtypes.DeploymentInfo {
		return &cdtypes.DeploymentInfo{DeploymentId: aws.String("d-LIVE00001"), Description: aws.String(description)}
	}
	ours := Release{Project: "group/web", Pipeline: 100}
	for _, tt := range []struct {
		name     string
		live     *cdtypes.DeploymentInfo
		ours     Release
		allow    bool
		outdated bool
	}{
		{name: "live_from_newer_pipeline", live: dep(Origin("group/web", "101")), ours: ours, outdated: true},
		{name: "live_from_older_pipeline", live: dep(Origin("group/web", "99")), ours: ours},
		{name: "live_from_this_pipeline", live: dep(Origin("group/web", "100")), ours: ours},
		{name: "allowed", live: dep(Origin("group/web", "101")), ours: ours, allow: true},
		{name: "other_project", live: dep(Origin("group/other", "500")), ours: ours},
		{name: "live_by_hand", live: dep("deployed from the console"), ours: ours},
		{name: "no_live_deployment", ours: ours},
		{name: "we_are_outside_gitlab", live: dep(Origin("group/web", "101"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Outdated(tt.live, tt.ours, tt.allow, false)
			var oe *OutdatedError
			if got := errors.As(err, &oe); got != tt.outdated {
				t.Fatalf("Outdated = %v, want outdated %v", err, tt.outdated)
			}
			if oe != nil && (oe.ExitCode() != 2 || oe.Live.Pipeline != 101 || oe.DeploymentID != "d-LIVE00001") {
				t.Errorf("error %+v: want exit 2 naming pipeline 101 and the live deployment", oe)
			}
		})
	}
}
