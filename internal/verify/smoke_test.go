package verify

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// handler answers request n (1-based).
		handler    func(n int64, w http.ResponseWriter, r *http.Request)
		smoke      Smoke
		wantPass   bool
		wantProbes int
		wantReason string
	}{
		{
			name:    "passes_after_n_in_a_row",
			handler: func(int64, http.ResponseWriter, *http.Request) {},
			smoke:   Smoke{Successes: 3}, wantPass: true, wantProbes: 3,
		},
		{
			name: "failure_resets_the_streak",
			handler: func(n int64, w http.ResponseWriter, _ *http.Request) {
				if n == 2 {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			},
			smoke: Smoke{Successes: 2}, wantPass: true, wantProbes: 4,
		},
		{
			name:    "fails_after_max_failures",
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			smoke:   Smoke{Successes: 2, MaxFailures: 3}, wantProbes: 3, wantReason: "HTTP 502 (want 200)",
		},
		{
			name:    "status_classes",
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
			smoke:   Smoke{Successes: 1, Pass: func(c int) bool { return c/100 == 2 }, PassText: "2xx"}, wantPass: true, wantProbes: 1,
		},
		{
			name:    "body_must_match",
			handler: func(_ int64, w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"colour":"blue"}`) },
			smoke:   Smoke{Successes: 1, MaxFailures: 1, Body: regexp.MustCompile(`"colour":"green"`)}, wantProbes: 1, wantReason: "body does not match",
		},
		{
			name: "host_header_is_sent",
			handler: func(_ int64, w http.ResponseWriter, r *http.Request) {
				if r.Host != "web.example.com" {
					w.WriteHeader(http.StatusNotFound)
				}
			},
			smoke: Smoke{Successes: 1, MaxFailures: 1, Host: "web.example.com"}, wantPass: true, wantProbes: 1,
		},
		{
			name:    "slow_answers_time_out",
			handler: func(int64, http.ResponseWriter, *http.Request) { time.Sleep(300 * time.Millisecond) },
			smoke:   Smoke{Successes: 1, MaxFailures: 1, RequestTimeout: 50 * time.Millisecond}, wantProbes: 1, wantReason: "timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.handler(n.Add(1), w, r) }))
			t.Cleanup(srv.Close)
			s := tt.smoke
			s.URL = mustURL(t, srv.URL+"/health")
			s.Interval, s.Timeout = time.Millisecond, 30*time.Second
			if s.MaxFailures == 0 {
				s.MaxFailures = 5
			}
			res, err := NewChecker(slog.New(slog.DiscardHandler), nil).Run(context.Background(), s)
			if res.Passed != tt.wantPass || res.Probes != tt.wantProbes {
				t.Errorf("Run() = %+v, %v; want passed=%v after %d probes", res, err, tt.wantPass, tt.wantProbes)
			}
			if tt.wantPass != (err == nil) {
				t.Errorf("Run() error = %v, want passed=%v", err, tt.wantPass)
			}
			var se *SmokeError
			if tt.wantReason != "" && (!errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantReason)) {
				t.Errorf("Run() error = %v, want a SmokeError mentioning %q", err, tt.wantReason)
			}
		})
	}
}

func TestSmokeTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(srv.Close)
	_, err := NewChecker(slog.New(slog.DiscardHandler), nil).Run(context.Background(), Smoke{
		URL: mustURL(t, srv.URL), Successes: 1, MaxFailures: 1000, Interval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond,
	})
	if err == nil || !strings.Contains(err.Error(), "within 50ms") {
		t.Errorf("Run() error = %v, want a timeout", err)
	}
}

func TestSmokeConnectionRefusedIsRetriedThenCounted(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	res, err := NewChecker(slog.New(slog.DiscardHandler), nil).Run(context.Background(), Smoke{
		URL: mustURL(t, "http://user:hunter2@"+addr+"/"), Successes: 1, MaxFailures: 2, Interval: time.Millisecond, Timeout: 30 * time.Second,
	})
	if err == nil || res.Probes != 2 || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Run() = %+v, %v; want 2 failed probes with connection refused", res, err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the URL password: %v", err)
	}
}

func TestSmokeCancelled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("job cancelled")
	cancel(cause)
	_, err := NewChecker(slog.New(slog.DiscardHandler), nil).Run(ctx, Smoke{
		URL: mustURL(t, srv.URL), Successes: 1, MaxFailures: 1000, Interval: time.Hour, Timeout: time.Hour,
	})
	if !errors.Is(err, cause) {
		t.Errorf("Run() error = %v, want the cancellation cause", err)
	}
}
