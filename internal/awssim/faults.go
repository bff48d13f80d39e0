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
	FaultServerError                      // HTTP 503 with the service's server error
	FaultDrop                             // the connection is closed without an answer
)

// Rates are the chances of each fault on one call, and a delay added to it.
type Rates struct {
	Throttle, ServerError, Drop float64
	Latency                     time.Duration
}

// Faults injects failures into calls, by probability (seeded, so a run can be
// repeated) or deterministically for the next calls of one operation. A nil
// *Faults injects nothing.
//
// Rates apply at three levels, the most specific winning: one operation
// (SetOperationRates(svc, op, ...)), one service (SetOperationRates(svc, "",
// ...)), and everything (SetRates, SetLatency).
type Faults struct {
	mu     sync.Mutex
	rnd    *rand.Rand
	global Rates
	only   map[string]bool  // services the global rates apply to; empty = all
	rules  map[string]Rates // "service:operation" or "service:"
	next   map[string][]FaultKind
}

// NewFaults returns an injector with no faults, seeded for reproducibility.
func NewFaults(seed uint64) *Faults {
	return &Faults{
		rnd:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		next: map[string][]FaultKind{}, only: map[string]bool{}, rules: map[string]Rates{},
	}
}

// SetRates sets the probability of each fault on every call (of the given
// services, or all when none are named). It keeps the global latency.
func (f *Faults) SetRates(throttle, serverError, drop float64, services ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.global.Throttle, f.global.ServerError, f.global.Drop = throttle, serverError, drop
	f.only = map[string]bool{}
	for _, s := range services {
		f.only[s] = true
	}
}

// SetLatency delays every call by d (unless a service or operation rule sets
// its own latency).
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.global.Latency = d
}

// SetOperationRates sets the rates for one operation of a service (by its
// signing name: "ecs", "codedeploy", "elasticloadbalancing", "monitoring",
// "ecr", "sts"), or for the whole service when operation is "". They replace
// the global rates for those calls; the zero Rates turns faults off for them.
func (f *Faults) SetOperationRates(service, operation string, r Rates) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules[service+":"+operation] = r
}

// ClearOperationRates removes a rule SetOperationRates made.
func (f *Faults) ClearOperationRates(service, operation string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.rules, service+":"+operation)
}

// FailNext makes the next n calls of service:operation fail with kind. Queued
// failures come before any rate.
func (f *Faults) FailNext(service, operation string, kind FaultKind, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.next[service+":"+operation] = append(f.next[service+":"+operation], kind)
	}
}

// Reset removes every rate, rule and queued failure (the seed's sequence
// goes on).
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.global, f.only, f.rules, f.next = Rates{}, map[string]bool{}, map[string]Rates{}, map[string][]FaultKind{}
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
	key := service + ":" + op
	r, ok := f.rules[key]
	if !ok {
		r, ok = f.rules[service+":"]
	}
	if !ok {
		r = Rates{Latency: f.global.Latency}
		if len(f.only) == 0 || f.only[service] {
			r = f.global
		}
	}
	out := &fault{latency: r.Latency}
	if q := f.next[key]; len(q) > 0 {
		out.kind, f.next[key] = q[0], q[1:]
		if len(f.next[key]) == 0 {
			delete(f.next, key)
		}
		return out
	}
	if r.Throttle+r.ServerError+r.Drop > 0 {
		switch x := f.rnd.Float64(); {
		case x < r.Throttle:
			out.kind = FaultThrottle
		case x < r.Throttle+r.ServerError:
			out.kind = FaultServerError
		case x < r.Throttle+r.ServerError+r.Drop:
			out.kind = FaultDrop
		}
	}
	if out.kind == 0 && out.latency == 0 {
		return nil
	}
	return out
}

// throttlingCode is the error a service throttles with: awsQuery services
// (and CloudWatch, whose JSON and CBOR forms keep the query codes) send
// Throttling, the awsJson services ThrottlingException (aws-facts §1.6, §7).
func throttlingCode(service string) string {
	switch service {
	case "elasticloadbalancing", "sts", "monitoring":
		return "Throttling"
	}
	return "ThrottlingException"
}

// err is the error the fault answers with; nil for latency only.
func (ft *fault) err(service string) *wire.Error {
	switch ft.kind {
	case FaultThrottle:
		code := throttlingCode(service)
		return (&wire.Error{Type: code, Message: "Rate exceeded"}).WithCode(code)
	case FaultServerError:
		return wire.ServerError("ServiceUnavailable", "the simulated service is unavailable (injected fault)").WithStatus(http.StatusServiceUnavailable)
	}
	return nil
}

// code is what the call log records for the fault.
func (ft *fault) code(service string) string {
	if ft.kind == FaultDrop {
		return "dropped"
	}
	if e := ft.err(service); e != nil {
		return e.QueryCode()
	}
	return ""
}

// apply delays the call and answers with the fault, if any, in the request's
// protocol. It reports whether the call was answered (so the service must not
// run).
func (ft *fault) apply(rep reply, r *http.Request, service string) bool {
	if ft.latency > 0 {
		t := time.NewTimer(ft.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch ft.kind {
	case 0:
		return false
	case FaultDrop:
		// Aborting the handler makes net/http close the connection without
		// an answer, which is what a dropped connection looks like to a client.
		panic(http.ErrAbortHandler)
	}
	rep.error(ft.err(service))
	return true
}
