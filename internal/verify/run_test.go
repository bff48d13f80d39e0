package verify

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/snapshot"
)

// alarmsFake answers DescribeAlarms with the alarms it holds, and records
// the names asked for.
type alarmsFake struct {
	alarms map[string]cwtypes.StateValue
	asked  []string
}

func (f *alarmsFake) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	f.asked = append(f.asked, in.AlarmNames...)
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range in.AlarmNames {
		if st, ok := f.alarms[n]; ok {
			out.MetricAlarms = append(out.MetricAlarms, cwtypes.MetricAlarm{AlarmName: aws.String(n), StateValue: st})
		}
	}
	return out, nil
}

// TestRun: the checks run in verify's order; the group's alarms win over
// BG_ALARMS; a tag-pinned image warns (recorded in the snapshot, passing
// in JUnit) unless a digest is required; a failing smoke check fails
// verify with exit 4 naming it.
func TestRun(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	smoke := func(path string) *Smoke {
		u, _ := url.Parse(srv.URL + path)
		return &Smoke{URL: u, Pass: func(c int) bool { return c == 200 }, PassText: "200", Successes: 1, MaxFailures: 1, Interval: time.Millisecond, Timeout: time.Second}
	}
	tests := []struct {
		name       string
		group      bool
		test       *Smoke
		digest     bool
		wantAsked  []string
		wantFailed []string
		wantWarn   int
	}{
		{name: "listener_alarms_tag_warns", test: nil, wantAsked: []string{"bg"}, wantWarn: 1},
		{name: "group_alarms_win", group: true, wantAsked: []string{"grp"}, wantWarn: 1},
		{name: "digest_required", digest: true, wantAsked: []string{"bg"}, wantFailed: []string{"live images are pinned by digest"}},
		{name: "test_url_fails", test: smoke("/bad"), wantAsked: []string{"bg"}, wantFailed: []string{"test URL answers"}, wantWarn: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			s.Colours[1].Containers[0].Image = "r.example/web:v1"
			if tt.group {
				s.Group = &snapshot.Group{Alarms: []string{"grp"}}
			}
			cw := &alarmsFake{alarms: map[string]cwtypes.StateValue{"bg": cwtypes.StateValueOk, "grp": cwtypes.StateValueOk}}
			rep := Run(context.Background(), s, Plan{
				Expectations: Expectations{Now: now, RequireDigest: tt.digest}, CloudWatch: cw, Alarms: []string{"bg"},
				ProdURL: smoke("/"), TestURL: tt.test, Checker: NewChecker(slog.New(slog.DiscardHandler), nil),
			})
			var names []string
			for _, r := range rep.Results {
				names = append(names, r.Name)
			}
			if len(names) != 9 || names[4] != "alarms are OK" || names[7] != "production URL answers" || names[8] != "test URL answers" {
				t.Errorf("checks in order %q", names)
			}
			if !slices.Equal(cw.asked, tt.wantAsked) {
				t.Errorf("alarms asked %q, want %q", cw.asked, tt.wantAsked)
			}
			if len(s.Warnings) != tt.wantWarn {
				t.Errorf("warnings %q, want %d", s.Warnings, tt.wantWarn)
			}
			err := rep.Err()
			var fe *FailedError
			if len(tt.wantFailed) == 0 {
				if err != nil {
					t.Errorf("Err = %v", err)
				}
			} else if !errors.As(err, &fe) || fe.ExitCode() != 4 || !strings.Contains(err.Error(), tt.wantFailed[0]) {
				t.Errorf("Err = %v, want a finding on %q", err, tt.wantFailed)
			}
			lines := strings.Join(rep.Lines(), "\n")
			for i, r := range rep.Results {
				c := r.AsCase()
				if r.Warned() && (!c.Passed || !strings.HasPrefix(c.Message, "warning: ") || !strings.HasPrefix(rep.Lines()[i], "warn ")) {
					t.Errorf("a warning shows as %+v / %q", c, rep.Lines()[i])
				}
			}
			if tt.test == nil && !strings.Contains(lines, "skip test URL answers: BG_TEST_URL is not set") {
				t.Errorf("lines:\n%s", lines)
			}
		})
	}
}
