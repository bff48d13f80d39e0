package awsclient

import (
	"context"
	"errors"
	"sort"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

type smithyStack = middleware.Stack

// Counter counts API calls per "Service.Operation" (the SDK's ServiceID and
// operation name): calls as the code made them, attempts as they went on the
// wire (with retries), and failed calls. Benchmarks read it, and a test checks
// the IAM policy the README documents covers every operation counted.
type Counter struct {
	mu       sync.Mutex
	calls    map[string]int
	attempts map[string]int
	errors   map[string]int
}

// NewCounter returns an empty counter.
func NewCounter() *Counter {
	return &Counter{calls: map[string]int{}, attempts: map[string]int{}, errors: map[string]int{}}
}

// Stats are a counter's figures for one operation.
type Stats struct {
	Operation string
	Calls     int
	Attempts  int
	Errors    int
}

// Snapshot returns the figures per operation, sorted by name.
func (c *Counter) Snapshot() []Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Stats, 0, len(c.calls))
	for op, n := range c.calls {
		out = append(out, Stats{Operation: op, Calls: n, Attempts: c.attempts[op], Errors: c.errors[op]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Operation < out[j].Operation })
	return out
}

// Calls returns the number of calls of one operation ("ECS.DescribeServices").
func (c *Counter) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

func (c *Counter) register(stack *middleware.Stack) error {
	// Initialize runs once per call; Finalize, after the retry middleware, once
	// per attempt.
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ecs-bluegreen/count-calls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := key(ctx)
			out, md, err := next.HandleInitialize(ctx, in)
			c.mu.Lock()
			c.calls[op]++
			var ae smithy.APIError
			if err != nil && (errors.As(err, &ae) || !errors.Is(err, context.Canceled)) {
				c.errors[op]++
			}
			c.mu.Unlock()
			return out, md, err
		}), middleware.After); err != nil {
		return err
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("ecs-bluegreen/count-attempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			c.attempts[key(ctx)]++
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func key(ctx context.Context) string {
	return awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
}
