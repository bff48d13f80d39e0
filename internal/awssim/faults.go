package awssim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// FaultKind is a way a call can go wrong.
type FaultKind int

// Faults the simulator can inject.
const (
	FaultThrottle    FaultKind = iota + 1 // the service's throttling error (retried by the SDK)
	FaultServerError                      // HTTP 500 with the service's server error
	FaultDrop                             // the connection is closed without an answer
)

// Faults injects failures into calls, by probability (seeded, so a run can be
// repeated) or deterministically for the next calls of one operation. A nil
// *Faults injects nothing.
type Faults struct {
	mu                          sync.Mutex
	rnd                         *rand.Rand
	throttle, serverError, drop float64
	latency                     time.Duration
	next                        map[string][]FaultKind
	only                        map[string]bool // services the rates apply to; empty = all
}

// NewFaults returns an injector with no faults, seeded for reproducibility.
func NewFaults(seed uint64) *Faults {
	return &Faults{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), next: map[string][]FaultKind{}, only: map[string]bool{}}
}

// SetRates sets the probability of each fault on every call (of the given
// services, or all when none are named).
func (f *Faults) SetRates(throttle, serverError, drop float64, services ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle, f.serverError, f.drop = throttle, serverError, drop
	f.only = map[string]bool{}
	for _, s := range services {
		f.only[s] = true
	}
}

// SetLatency delays every call by d.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// FailNext makes the next n calls of service:operation fail with kind.
func (f *Faults) FailNext(service, operation string, kind FaultKind, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.next[service+":"+operation] = append(f.next[service+":"+operation], kind)
	}
}

type fault struct {
	kind    FaultKind
	latency time.Duration
}

func (f *Faults) pick(service, op string) *fault {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &fault{latency: f.latency}
	key := service + ":" + op
	if q := f.next[key]; len(q) > 0 {
		out.kind, f.next[key] = q[0], q[1:]
		return out
	}
	if len(f.only) == 0 || f.only[service] {
		switch x := f.rnd.Float64(); {
		case x < f.throttle:
			out.kind = FaultThrottle
		case x < f.throttle+f.serverError:
			out.kind = FaultServerError
		case x < f.throttle+f.serverError+f.drop:
			out.kind = FaultDrop
		}
	}
	if out.kind == 0 && out.latency == 0 {
		return nil
	}
	return out
}

func (ft *fault) code(service string) string {
	switch ft.kind {
	case FaultThrottle:
		if service == "elasticloadbalancing" || service == "sts" || service == "monitoring" {
			return "Throttling"
		}
		return "ThrottlingException"
	case FaultServerError:
		return "ServiceUnavailable"
	case FaultDrop:
		return "dropped"
	}
	return ""
}

// apply delays the call and writes the fault, if any. It reports whether the
// call was answered (so the service must not run).
func (ft *fault) apply(w http.ResponseWriter, r *http.Request, contentType, rid string, query bool, ns string) bool {
	if ft.latency > 0 {
		select {
		case <-time.After(ft.latency):
		case <-r.Context().Done():
		}
	}
	var e *wire.Error
	switch ft.kind {
	case 0:
		return false
	case FaultDrop:
		// Aborting the handler makes net/http close the connection without
		// an answer, which is what a dropped connection looks like to a client.
		panic(http.ErrAbortHandler)
	case FaultThrottle:
		// awsQuery services send the code Throttling; awsJson ones the shape
		// ThrottlingException (aws-facts §1.6, §7).
		e = wire.Errorf("ThrottlingException", "Rate exceeded")
		if query {
			e = (&wire.Error{Type: "Throttling", Message: "Rate exceeded"}).WithCode("Throttling")
		}
	case FaultServerError:
		e = wire.ServerError("ServiceUnavailable", "the simulated service is unavailable (injected fault)").WithStatus(http.StatusServiceUnavailable)
	}
	if query {
		wire.WriteXMLError(w, ns, rid, e)
	} else {
		wire.WriteJSONError(w, contentType, rid, e)
	}
	return true
}
