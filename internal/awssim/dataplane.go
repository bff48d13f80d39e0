package awssim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// DataPlane serves HTTP on loopback ports for simulated listeners: each
// request goes to a target group by the listener's current weights, then to a
// healthy target of it, and the simulated task answers with what it runs.
// Tasks of a task definition marked unhealthy answer 503, as a broken
// application would.
type DataPlane struct {
	w       *World
	mu      sync.Mutex
	addrs   map[string]string // listener ARN -> host:port
	servers []*http.Server
	next    int // spreads requests over weights and targets deterministically
}

// DataPlane returns the server's data plane; bind listeners with Bind.
func (s *Server) DataPlane() *DataPlane {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dataPlane == nil {
		s.dataPlane = &DataPlane{w: s.world, addrs: map[string]string{}}
	}
	return s.dataPlane
}

// Bind makes a listener answer on a loopback port (addr "127.0.0.1:0" picks
// one) and returns the address. Binding a listener twice returns the first.
func (d *DataPlane) Bind(ctx context.Context, listenerARN, addr string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.addrs[listenerARN]; ok {
		return a, nil
	}
	d.w.mu.Lock()
	_, ok := d.w.listeners[listenerARN]
	d.w.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("listener %s does not exist", listenerARN)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("binding listener %s: %w", listenerARN, err)
	}
	srv := &http.Server{Handler: d.handler(listenerARN), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	d.servers = append(d.servers, srv)
	d.addrs[listenerARN] = ln.Addr().String()
	return d.addrs[listenerARN], nil
}

// Close stops every bound listener.
func (d *DataPlane) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range d.servers {
		_ = s.Shutdown(ctx)
	}
	d.servers, d.addrs = nil, map[string]string{}
}

// TaskAnswer is what a simulated task sends back.
type TaskAnswer struct {
	TaskDefinition string   `json:"taskDefinition"`
	Images         []string `json:"images"`
	TargetGroup    string   `json:"targetGroup"`
	Task           string   `json:"task"`
	Path           string   `json:"path"`
}

func (d *DataPlane) handler(listenerARN string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		status, body := d.route(listenerARN, r)
		if d.serverHeader(listenerARN) {
			rw.Header().Set("Server", "awselb/2.0")
		}
		if loc, ok := body.(redirectTo); ok {
			rw.Header().Set("Location", string(loc))
			rw.WriteHeader(status)
			return
		}
		if fr, ok := body.(fixedResponse); ok {
			fr.write(rw, status)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		_ = json.NewEncoder(rw).Encode(body)
	})
}

// serverHeader tells whether the listener sends "Server: awselb/2.0"
// (attribute routing.http.response.server.enabled).
func (d *DataPlane) serverHeader(listenerARN string) bool {
	d.w.mu.Lock()
	defer d.w.mu.Unlock()
	return d.w.listenerAttribute(listenerARN, "routing.http.response.server.enabled") != "false"
}

// route answers a request as the listener's rules, then its default
// action, say (routing.go).
func (d *DataPlane) route(listenerARN string, r *http.Request) (int, any) {
	path := r.URL.Path
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance()
	l := w.listeners[listenerARN]
	if l == nil || len(l.actions) == 0 {
		return http.StatusServiceUnavailable, map[string]string{"error": "listener not found"}
	}
	a, _ := finalAction(w.routeActions(l, r))
	switch a.Type {
	case "fixed-response":
		return a.fixed(r)
	case "redirect":
		return a.redirect(r)
	case "forward":
	default:
		return http.StatusInternalServerError, map[string]string{"error": "the data plane cannot answer a " + a.Type + " action"}
	}
	d.next++
	n := d.next
	tgARN := pickWeighted(a.Forward, n)
	tg := w.targetGroups[tgARN]
	if tg == nil {
		return http.StatusServiceUnavailable, map[string]string{"error": "no target group"}
	}
	now := w.now()
	var healthy []*target
	for _, t := range tg.targets {
		if st, _, _ := tg.health(t, now); st == "healthy" {
			healthy = append(healthy, t)
		}
	}
	if len(healthy) == 0 {
		// An ALB answers 503 when a target group has no healthy targets.
		return http.StatusServiceUnavailable, map[string]string{"error": "no healthy targets in " + tg.Name}
	}
	t := healthy[n%len(healthy)]
	answer := TaskAnswer{TaskDefinition: t.taskDef, TargetGroup: tg.Name, Task: t.id, Path: path}
	if td, err := w.findTaskDef(t.taskDef); err == nil {
		for _, c := range td.containers {
			answer.Images = append(answer.Images, c.Image)
		}
	}
	if w.unhealthy[t.taskDef] {
		return http.StatusServiceUnavailable, answer
	}
	if status := w.answers[t.taskDef]; status != 0 && path != tg.HealthPath {
		return status, answer
	}
	return http.StatusOK, answer
}

// pickWeighted chooses a target group in proportion to the weights, cycling
// through 1000 slots so a steady stream of requests follows the split exactly.
func pickWeighted(fw []weighted, n int) string {
	total := 0
	for _, x := range fw {
		total += x.Weight
	}
	if total == 0 {
		if len(fw) > 0 {
			return fw[0].TargetGroupARN
		}
		return ""
	}
	slot := (n % total) * 7919 % total // a prime stride spreads requests over the cycle
	for _, x := range fw {
		if slot < x.Weight {
			return x.TargetGroupARN
		}
		slot -= x.Weight
	}
	return fw[len(fw)-1].TargetGroupARN
}
