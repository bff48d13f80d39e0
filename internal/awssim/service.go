package awssim

import (
	"context"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// Env is what every simulated service shares: the clock, and the account and
// region that go into ARNs.
type Env struct {
	Clock   clock.Clock
	Region  string
	Account string
	// RegistryHost, when set, is the registry ECR repositories live on.
	RegistryHost string
	// Images is the registry content ECR's image operations answer from
	// (nil: an in-memory store).
	Images ImageStore
}

// Service is one simulated AWS service as the router sees it. A service speaks
// awsJson (JSON != nil), awsQuery (Query != nil), or both.
type Service struct {
	// Name is the signing name from aws-facts §1.1 ("ecs", "elasticloadbalancing").
	Name string
	// JSONTargetPrefix is the X-Amz-Target prefix, such as
	// "AmazonEC2ContainerServiceV20141113".
	JSONTargetPrefix string
	// QueryVersion is the awsQuery Version field, such as "2015-12-01", and
	// XMLNamespace the namespace of its responses.
	QueryVersion string
	XMLNamespace string
	// JSON handles an awsJson operation: body is the request JSON (already
	// inflated when it was sent gzipped); the result is marshalled with
	// encoding/json. Errors should be *wire.Error: the router writes them in
	// the request's protocol; any other error is a 500 InternalFailure.
	// CallerFrom(ctx) tells who signed the request.
	JSON func(ctx context.Context, op string, body []byte) (any, error)
	// Query handles an awsQuery operation. The result is encoded with
	// encoding/xml as the content of the <Op>Result element (nil: an empty
	// response with only ResponseMetadata).
	Query func(ctx context.Context, op string, form wire.Form) (any, error)
}

// AlarmStates tells CodeDeploy the state of a CloudWatch alarm
// ("OK", "ALARM", "INSUFFICIENT_DATA"); ok is false when no such alarm exists.
type AlarmStates interface {
	AlarmState(name string) (state string, ok bool)
}
