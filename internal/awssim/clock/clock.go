// Package clock is the simulator's time source: real time sped up by a factor
// for the sandbox, or a manual clock that tests advance by hand.
package clock

import (
	"sync"
	"time"
)

// Clock tells simulated time. Simulated state advances lazily to Now() whenever
// it is read, so no goroutine has to tick.
type Clock interface {
	Now() time.Time
}

// Scaled runs speed times faster than the wall clock from the moment it is made:
// with speed 60, a 5-minute canary interval passes in 5 seconds.
type Scaled struct {
	start time.Time
	speed float64
	wall  func() time.Time
}

// NewScaled returns a clock that starts at the current wall time and runs speed
// times faster. A speed of zero or less counts as 1.
func NewScaled(speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{start: time.Now(), speed: speed, wall: time.Now}
}

// Now returns the simulated time.
func (s *Scaled) Now() time.Time {
	elapsed := s.wall().Sub(s.start)
	return s.start.Add(time.Duration(float64(elapsed) * s.speed))
}

// Speed is the factor simulated time runs faster than real time.
func (s *Scaled) Speed() float64 { return s.speed }

// Manual is a clock that moves only when told to. Safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock set to start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's current time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = t
}
