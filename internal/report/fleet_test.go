package report

import (
	"strings"
	"testing"
	"time"
)

func fleetSample() []ServiceStatus {
	s := sampleSnapshots()
	return []ServiceStatus{
		{Name: "web", Detail: "services/web/status.html", Status: s["history"], Cases: []Case{{Name: "live colour serves production", Passed: true}}},
		{Name: "canary", Detail: "services/canary/status.html", Status: s["canary"], ExitCode: 4, Cases: []Case{{Name: "targets healthy", Message: "1 unhealthy"}, {Name: "alarms OK", Skipped: true}}},
		{Name: "gone<b>", ExitCode: 2, Error: "ECS service gone not found in cluster prod\nhint: <script>x</script>"},
	}
}

func TestFleetReports(t *testing.T) {
	t.Parallel()
	taken := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	golden(t, "fleet.md", []byte(FleetMarkdown(taken, fleetSample())))
	js, err := FleetJSON(taken, fleetSample())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fleet.json", js)
	page, err := FleetHTML(taken, fleetSample())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fleet.html", page)
	for _, bad := range []string{"<script", "<b>"} {
		if strings.Contains(string(page), bad) {
			t.Errorf("fleet.html has %q from outside as markup", bad)
		}
	}
	junit, err := JUnitSuites([]Suite{{Name: "web", At: taken, Cases: fleetSample()[0].Cases}, {Name: "canary", At: taken, Cases: fleetSample()[1].Cases}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "fleet-junit.xml", junit)
	back, err := ReadJUnit(junit)
	if err != nil || len(back) != 3 || !back[0].Passed || back[1].Passed || back[1].Message != "1 unhealthy" || !back[2].Skipped {
		t.Errorf("ReadJUnit = %+v, %v", back, err)
	}
}
