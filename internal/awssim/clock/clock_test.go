package clock

import (
	"testing"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	t.Parallel()
	wall := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	s := &Scaled{start: wall, speed: 60, wall: func() time.Time { return wall }}
	wall = wall.Add(5 * time.Second)
	if got := s.Now().Sub(s.start); got != 5*time.Minute {
		t.Errorf("5 s of wall time at 60x = %v of simulated time, want 5m", got)
	}
	if NewScaled(0).Speed() != 1 {
		t.Error("a speed of 0 should count as 1")
	}
}

func TestManual(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 16, 0, 0, 0, time.UTC)
	m := NewManual(start)
	m.Advance(90 * time.Second)
	if !m.Now().Equal(start.Add(90 * time.Second)) {
		t.Errorf("Now() = %v", m.Now())
	}
	m.Set(start)
	if !m.Now().Equal(start) {
		t.Errorf("Set did not move the clock back: %v", m.Now())
	}
}
