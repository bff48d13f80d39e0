package deploy

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// sendBack points all of route's traffic at toTG again, retrying for as
// long as ctx allows (the job's end) while AWS answers with a server
// error, a throttle or not at all: the rewrite is idempotent, and
// production must not stay on a colour that failed its switch because one
// answer was lost.
func (l *Listener) sendBack(ctx context.Context, route, toTG, otherTG string) error {
	wait := time.Second
	for {
		err := l.setWeights(ctx, route, toTG, otherTG, 100)
		if err == nil || !retryable(err) {
			return err
		}
		l.Log.Warn("sending production traffic back failed: trying again", "route", route, "error", err.Error())
		select {
		case <-ctx.Done():
			return err
		case <-l.clock().After(wait):
		}
		wait = min(2*wait, 15*time.Second)
	}
}

// retryable is an error worth trying again: AWS's server faults and
// throttles, and requests that got no answer; not a refusal (a client
// fault) or a route we cannot rewrite, which will not change by itself.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorFault() != smithy.FaultClient || isThrottle(apiErr.ErrorCode())
	}
	var send *smithyhttp.RequestSendError
	var ne net.Error
	return errors.As(err, &send) || errors.As(err, &ne)
}
