package report

import (
	"encoding/xml"
	"testing"
	"time"
)

func TestJUnit(t *testing.T) {
	t.Parallel()
	cases := []Case{
		{Name: "production traffic is on one colour", Passed: true, Message: "green serves all production traffic"},
		{Name: "live colour has no unhealthy targets", Message: `green has 1 unhealthy targets: 10.0.0.9:8080 unhealthy (Target.Timeout) <&"'>`},
		{Name: "test URL answers", Skipped: true, Message: "BG_TEST_URL is not set", Duration: 1500 * time.Millisecond},
	}
	b, err := JUnit("prod/web", time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC), cases)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.xml", b)
	var back junitSuites
	if err := xml.Unmarshal(b, &back); err != nil {
		t.Fatalf("junit.xml does not parse back: %v", err)
	}
	if back.Tests != 3 || back.Failures != 1 || back.Skipped != 1 {
		t.Errorf("counts = %d/%d/%d", back.Tests, back.Failures, back.Skipped)
	}
}
