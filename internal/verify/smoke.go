// Package verify checks what is live: smoke checks of URLs during a
// deployment, and (later) the scheduled checks over a Snapshot.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Smoke describes one smoke check: N consecutive passing requests to URL
// within Timeout.
type Smoke struct {
	URL *url.URL
	// Pass reports whether a status passes; nil means 200 only.
	Pass func(status int) bool
	// PassText describes Pass for messages ("200", "2xx").
	PassText string
	// Body, when set, must match the response body.
	Body *regexp.Regexp
	// Host overrides the Host header (listeners that route by host name).
	Host string
	// Successes is how many passes in a row are needed.
	Successes int
	// MaxFailures is how many failures in a row end the check early.
	MaxFailures int
	// Interval is the pause between requests; Timeout bounds the whole check.
	Interval, Timeout time.Duration
	// RequestTimeout bounds one request; default 10s.
	RequestTimeout time.Duration
}

// Result summarises a smoke check.
type Result struct {
	URL         string // redacted
	Passed      bool
	Probes      int
	Passes      int
	LastFailure string
	Duration    time.Duration
}

// SmokeError is a failed smoke check.
type SmokeError struct {
	Result Result
	Reason string
}

func (e *SmokeError) Error() string {
	return fmt.Sprintf("smoke check of %s failed: %s (last failure: %s; %d of %d requests passed)",
		e.Result.URL, e.Reason, e.Result.LastFailure, e.Result.Passes, e.Result.Probes)
}

// maxBodyBytes caps what is read of a response body for the pattern check.
const maxBodyBytes = 1 << 20

// Clock is the time source smoke checks pace themselves by: the one the
// rest of the run uses (monitor.RealClock satisfies it; tests pass a fast one).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Checker runs smoke checks over HTTP.
type Checker struct {
	client *retryablehttp.Client
	log    *slog.Logger
	clock  Clock
}

// WithClock paces the checker's intervals and timeout by clk.
func (c *Checker) WithClock(clk Clock) *Checker {
	if clk != nil {
		c.clock = clk
	}
	return c
}

// NewChecker returns a checker. The HTTP client retries only failures to
// connect or reset connections (a listener being re-pointed), never a status:
// the status is the verdict.
func NewChecker(log *slog.Logger, transport http.RoundTripper) *Checker {
	c := retryablehttp.NewClient()
	c.RetryMax = 2
	c.RetryWaitMin = 200 * time.Millisecond
	c.RetryWaitMax = time.Second
	c.Logger = nil
	if transport != nil {
		c.HTTPClient.Transport = transport
	}
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return err != nil, nil
	}
	// Return the last response or error as is rather than a wrapped "giving up".
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	// Redirects are followed by the standard client; a smoke URL that
	// redirects elsewhere is checked where it lands.
	return &Checker{client: c, log: log, clock: wallClock{}}
}

// Run performs the check. It returns a *SmokeError when the check fails, and
// the context's error if ctx ends first.
func (c *Checker) Run(ctx context.Context, s Smoke) (Result, error) {
	start := c.clock.Now()
	deadline := start.Add(s.Timeout)
	res := Result{URL: s.URL.Redacted()}
	successes := max(s.Successes, 1)
	maxFailures := max(s.MaxFailures, 1)
	streak, failStreak := 0, 0
	for {
		ok, why := c.probe(ctx, s)
		res.Probes++
		if ok {
			res.Passes++
			streak++
			failStreak = 0
		} else {
			streak = 0
			failStreak++
			res.LastFailure = why
			c.log.Debug("smoke request failed", "url", res.URL, "reason", why)
		}
		now := c.clock.Now()
		res.Duration = now.Sub(start)
		switch {
		case streak >= successes:
			res.Passed = true
			return res, nil
		case failStreak >= maxFailures:
			return res, &SmokeError{Result: res, Reason: fmt.Sprintf("%d requests in a row failed", failStreak)}
		}
		timedOut := &SmokeError{Result: res, Reason: fmt.Sprintf("no %d passing requests in a row within %s", successes, s.Timeout)}
		left := deadline.Sub(now)
		if left <= 0 {
			return res, timedOut
		}
		select {
		case <-ctx.Done():
			return res, context.Cause(ctx)
		case <-c.clock.After(min(s.Interval, left)):
		}
		if left <= s.Interval { // the deadline came before the next request
			return res, timedOut
		}
	}
}

// probe makes one request and says whether it passed, and if not, why.
func (c *Checker) probe(ctx context.Context, s Smoke) (bool, string) {
	timeout := s.RequestTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(rctx, http.MethodGet, s.URL.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "ecs-bluegreen-smoke")
	if s.Host != "" {
		req.Host = s.Host
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return false, describeError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return false, "reading the response: " + describeError(err)
	}
	pass := s.Pass
	if pass == nil {
		pass = func(code int) bool { return code == http.StatusOK }
	}
	if !pass(resp.StatusCode) {
		want := s.PassText
		if want == "" {
			want = "200"
		}
		return false, fmt.Sprintf("HTTP %d (want %s)", resp.StatusCode, want)
	}
	if s.Body != nil && !s.Body.Match(body) {
		return false, fmt.Sprintf("HTTP %d but the body does not match %q (starts %q)", resp.StatusCode, s.Body.String(), snippet(body))
	}
	return true, ""
}

// describeError turns a transport error into a short reason without the URL,
// which the message already names (and which may carry credentials).
func describeError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "request timed out"
	}
	return err.Error()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
