package awsclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Class is what an operation does to AWS, which decides how it may be retried.
type Class int

// Operation classes.
const (
	// Mutating operations that are not idempotent: a second call after a
	// lost answer does the change twice (a second deployment, a second
	// revision) or fails because the first one worked. They are retried
	// only when AWS surely did not run them; otherwise the caller gets an
	// OutcomeUnknownError and reads back what happened.
	NotIdempotent Class = iota
	// Read operations, retried on any transient failure for as long as the
	// job has time.
	Read
	// Idempotent mutations (they set a state, so a repeat changes nothing
	// more), retried like reads.
	Idempotent
)

// operations classifies every operation the tool calls, by the SDK's
// ServiceID and operation name. A test checks that every operation the
// commands call against the simulator is here.
var operations = map[string]Class{
	"ECS.DescribeServices":           Read,
	"ECS.DescribeTaskDefinition":     Read,
	"ECS.DescribeTasks":              Read,
	"ECS.DescribeClusters":           Read,
	"ECS.ListTasks":                  Read,
	"ECS.ListTaskDefinitions":        Read,
	"ECS.ListTagsForResource":        Read,
	"ECS.DescribeServiceDeployments": Read,
	"ECS.ListServiceDeployments":     Read,
	"ECS.DescribeServiceRevisions":   Read,
	"ECS.StopServiceDeployment":      Idempotent,    // a deployment already stopping carries on
	"ECS.ContinueServiceDeployment":  NotIdempotent, // a repeat fails: the hook no longer waits
	"ECS.RegisterTaskDefinition":     NotIdempotent, // each call is a new revision
	"ECS.UpdateService":              Idempotent,    // sets the service's desired state
	"ECS.DeregisterTaskDefinition":   Idempotent,
	"ECS.DeleteTaskDefinitions":      Idempotent,
	"ECS.TagResource":                Idempotent,
	"ECS.UntagResource":              Idempotent,

	"CodeDeploy.GetDeployment":               Read,
	"CodeDeploy.GetDeploymentGroup":          Read,
	"CodeDeploy.GetDeploymentConfig":         Read,
	"CodeDeploy.GetDeploymentTarget":         Read,
	"CodeDeploy.GetApplication":              Read,
	"CodeDeploy.GetApplicationRevision":      Read,
	"CodeDeploy.BatchGetDeployments":         Read,
	"CodeDeploy.BatchGetDeploymentTargets":   Read,
	"CodeDeploy.ListDeployments":             Read,
	"CodeDeploy.ListDeploymentTargets":       Read,
	"CodeDeploy.ListApplications":            Read,
	"CodeDeploy.ListDeploymentGroups":        Read,
	"CodeDeploy.CreateDeployment":            NotIdempotent, // a second deployment
	"CodeDeploy.ContinueDeployment":          NotIdempotent, // a repeat fails: the deployment left Ready
	"CodeDeploy.StopDeployment":              Idempotent,    // stopping protects production: retried as long as there is time
	"CodeDeploy.RegisterApplicationRevision": Idempotent,

	"Elastic Load Balancing v2.DescribeListeners":             Read,
	"Elastic Load Balancing v2.DescribeLoadBalancers":         Read,
	"Elastic Load Balancing v2.DescribeRules":                 Read,
	"Elastic Load Balancing v2.DescribeTags":                  Read,
	"Elastic Load Balancing v2.DescribeTargetGroups":          Read,
	"Elastic Load Balancing v2.DescribeTargetHealth":          Read,
	"Elastic Load Balancing v2.DescribeTargetGroupAttributes": Read,
	"Elastic Load Balancing v2.ModifyListener":                Idempotent, // sets the listener's actions
	"Elastic Load Balancing v2.ModifyRule":                    Idempotent,
	"Elastic Load Balancing v2.CreateRule":                    NotIdempotent, // a repeat fails: the priority is taken
	"Elastic Load Balancing v2.AddTags":                       Idempotent,
	"Elastic Load Balancing v2.RemoveTags":                    Idempotent,

	"ECR.DescribeRepositories":  Read,
	"ECR.DescribeImages":        Read,
	"ECR.BatchGetImage":         Read,
	"ECR.ListImages":            Read,
	"ECR.GetAuthorizationToken": Read,
	"ECR.CreateRepository":      NotIdempotent, // a repeat fails: the repository exists

	"CloudWatch.DescribeAlarms": Read,
	"CloudWatch.GetMetricData":  Read,

	"STS.GetCallerIdentity":         Read,
	"STS.AssumeRoleWithWebIdentity": Idempotent, // new credentials each time, no state
}

// ClassOf returns an operation's class ("ECS.DescribeServices"). An
// operation missing from the table counts as not idempotent, the safe guess.
func ClassOf(op string) (Class, bool) {
	c, ok := operations[op]
	return c, ok
}

// failure is how an attempt failed, as far as retrying is concerned.
type failure int

const (
	permanent failure = iota // an answer that a retry would not change
	throttled                // AWS refused the call for its rate: it did not run
	rejected                 // HTTP 503: the service turned the call away before running it
	notSent                  // the connection was never made
	ambiguous                // a 5xx, a dropped connection, a timeout: the call may have run
)

// throttleCodes are the SDK's throttling error codes less
// LimitExceededException, which ECS and CodeDeploy also use for quotas that
// waiting does not lift.
var throttleCodes = func() map[string]bool {
	m := map[string]bool{}
	for c := range retry.DefaultThrottleErrorCodes {
		m[c] = c != "LimitExceededException"
	}
	return m
}()

func classify(err error) failure {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return permanent
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if code := ae.ErrorCode(); throttleCodes[code] {
			return throttled
		} else if _, ok := throttleCodes[code]; ok {
			return permanent // LimitExceededException: a quota
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch status := re.HTTPStatusCode(); {
		case status == 429:
			return throttled
		case status == 503:
			return rejected
		case status >= 500:
			return ambiguous
		}
	}
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &de) || errors.As(err, &oe) && oe.Op == "dial" {
		return notSent
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return ambiguous
	}
	return permanent
}

func (f failure) String() string {
	switch f {
	case throttled:
		return "throttled"
	case rejected:
		return "service unavailable"
	case notSent:
		return "not reachable"
	case ambiguous:
		return "no clear answer"
	}
	return "failed"
}

// retryPolicy is the one retry layer of every AWS call (the SDK's own
// retryer is replaced per call, see install).
type retryPolicy struct {
	// maxAttempts caps the attempts of one call; 0 means until the deadline.
	maxAttempts int
	// jobEnd is when the job's time runs out (zero: unknown); window is how
	// long one call may retry when neither the job nor the call's context
	// says.
	jobEnd time.Time
	window time.Duration
	// baseDelay and maxDelay bound the exponential backoff.
	baseDelay, maxDelay time.Duration
	now                 func() time.Time
	log                 *slog.Logger
	// changed records that a call may have changed something in AWS: from
	// then on a failure can no longer say that nothing changed.
	changed atomic.Bool
}

// defaultWindow is how long a call keeps retrying when nothing says how much
// time the job has: long enough to ride out a burst of throttling, short
// enough that a run outside CI does not hang.
const defaultWindow = 10 * time.Minute

func newRetryPolicy(maxAttempts int, jobTimeout time.Duration, log *slog.Logger) *retryPolicy {
	p := &retryPolicy{maxAttempts: maxAttempts, window: defaultWindow, baseDelay: 100 * time.Millisecond, maxDelay: 20 * time.Second, now: time.Now, log: log}
	if jobTimeout > 0 {
		// Keep a little of the job's time to say what happened before GitLab
		// ends the job.
		p.jobEnd = p.now().Add(jobTimeout - min(30*time.Second, jobTimeout/10))
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

// install replaces the SDK's retry middleware of every operation with this
// policy's.
func (p *retryPolicy) install(stack *middleware.Stack) error {
	_, err := stack.Finalize.Swap("Retry", &retryMiddleware{p: p})
	return err
}

type retryMiddleware struct{ p *retryPolicy }

func (m *retryMiddleware) ID() string { return "Retry" }

func (m *retryMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := key(ctx)
	class, _ := ClassOf(op)
	seed := uint64(m.p.now().UnixNano()) //nolint:gosec // a seed: any bits will do
	// Backoff jitter spreads retries; it needs no cryptographic randomness.
	r := &callRetryer{p: m.p, op: op, class: class, start: m.p.now(), rnd: rand.New(rand.NewPCG(seed, 1))} //nolint:gosec // jitter only
	out, md, err := retry.NewAttemptMiddleware(r, smithyhttp.RequestCloner).HandleFinalize(ctx, in, next)
	if class != Read && (err == nil || classify(r.last) == ambiguous) {
		m.p.changed.Store(true)
	}
	if err != nil && r.failures > 0 {
		err = m.p.explain(r, err)
	}
	return out, md, err
}

// explain turns the failure of a call that was retried, or refused a retry,
// into an error that says what happened and what it means.
func (p *retryPolicy) explain(r *callRetryer, err error) error {
	kind := classify(r.last)
	if errors.Is(err, context.Canceled) || isCut(r.last) {
		// Interrupted, or the call's time ran out before AWS answered at
		// all: that, not AWS, is the story.
		return err
	}
	if r.class == NotIdempotent && kind == ambiguous {
		return &OutcomeUnknownError{Operation: r.op, Err: err}
	}
	if kind == permanent && !isCut(err) && !errors.Is(err, errRetryWindow) {
		return err // a real answer after some retries: the caller deals with it
	}
	return &UnavailableError{Operation: r.op, Attempts: r.failures, Kind: classify(r.last).String(), Elapsed: p.now().Sub(r.start), NothingChanged: !p.changed.Load(), Err: err, Last: r.last}
}

// isCut reports whether err is an attempt its context cut short.
func isCut(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// errRetryWindow ends the retries of a call whose time is up.
var errRetryWindow = errors.New("no time left to retry")

// callRetryer is the retryer of one call: it keeps the call's own count and
// deadline.
type callRetryer struct {
	p        *retryPolicy
	op       string
	class    Class
	start    time.Time
	deadline time.Time // of the call's context, seen at the latest attempt
	failures int
	last     error
	rnd      *rand.Rand
}

func (r *callRetryer) IsErrorRetryable(err error) bool {
	r.failures++
	// An attempt cut short by the context says nothing about AWS: keep the
	// answer before it.
	if !isCut(err) || r.last == nil {
		r.last = err
	}
	switch classify(err) {
	case throttled, rejected, notSent:
		return true
	case ambiguous:
		return r.class != NotIdempotent
	}
	return false
}

func (r *callRetryer) MaxAttempts() int { return r.p.maxAttempts }

// RetryDelay backs off exponentially with jitter, longer for throttling, and
// ends the retries when the next attempt would come after the call's
// deadline.
func (r *callRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	base := r.p.baseDelay
	if classify(err) == throttled {
		base *= 2
	}
	d := base << min(attempt-1, 16)
	if d > r.p.maxDelay || d <= 0 {
		d = r.p.maxDelay
	}
	d = d/2 + time.Duration(r.rnd.Int64N(int64(d/2)+1))
	end := r.end()
	if left := end.Sub(r.p.now()); d >= left {
		if end.Equal(r.deadline) {
			// The call's context ends first: wait for it, so the call ends
			// with the context's error and a watch that ran out of time
			// still reads as a timeout.
			return left + time.Millisecond, nil
		}
		return 0, fmt.Errorf("%w: %w", errRetryWindow, err)
	}
	if r.failures == 5 || r.failures >= 10 && r.failures&(r.failures-1) == 0 {
		r.p.log.Warn("AWS keeps failing a call; retrying", "operation", r.op, "attempts", r.failures, "reason", classify(err).String(), "retrying_until", end.UTC().Format(time.RFC3339))
	}
	return d, nil
}

// end is when this call must stop retrying: its context's deadline, else the
// job's, else the default window.
func (r *callRetryer) end() time.Time {
	end := r.start.Add(r.p.window)
	if !r.p.jobEnd.IsZero() {
		end = r.p.jobEnd
	}
	if !r.deadline.IsZero() && r.deadline.Before(end) {
		end = r.deadline
	}
	return end
}

// GetRetryToken takes nothing from a quota: the SDK's retry quota (500
// tokens per client) runs dry in a long job under steady throttling, which
// fails calls that waiting would have let through.
func (r *callRetryer) GetRetryToken(context.Context, error) (func(error) error, error) {
	return nopRelease, nil
}

func (r *callRetryer) GetInitialToken() func(error) error { return nopRelease }

func (r *callRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if d, ok := ctx.Deadline(); ok {
		r.deadline = d
	}
	return nopRelease, nil
}

func nopRelease(error) error { return nil }

// UnavailableError is a call that AWS did not answer usefully however long
// it was retried: throttled, unavailable or unreachable until the job's (or
// the call's) time ran out.
type UnavailableError struct {
	Operation string
	Attempts  int
	Kind      string
	Elapsed   time.Duration
	// NothingChanged is true when no call of this run had changed anything
	// in AWS before it.
	NothingChanged bool
	Err, Last      error
}

func (e *UnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AWS could not be reached for %s: %s on %d attempts over %s (last: %v)", e.Operation, e.Kind, e.Attempts, e.Elapsed.Round(100*time.Millisecond), e.Last)
	if e.NothingChanged {
		b.WriteString("; nothing was changed in AWS, so the job can simply be retried")
	}
	return b.String()
}

// ExitCode is 3, a timeout (DESIGN §3): AWS did not answer for the job's
// time, which says nothing about the deployment itself.
func (e *UnavailableError) ExitCode() int { return 3 }

// Unwrap keeps the context's error (a timeout) and the last AWS error
// visible to errors.Is and errors.As.
func (e *UnavailableError) Unwrap() []error { return []error{e.Err, e.Last} }

// OutcomeUnknownError is a call that changes AWS, is not idempotent, and got
// no clear answer (a server error, a dropped connection): it may or may not
// have been applied. It is not retried blindly; the caller reads back what
// AWS now holds.
type OutcomeUnknownError struct {
	Operation string
	Err       error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s got no clear answer, so AWS may or may not have made the change (read it back before trying again): %v", e.Operation, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Changed reports whether any call of these clients may have changed
// something in AWS.
func (c *Clients) Changed() bool { return c.retry != nil && c.retry.changed.Load() }
