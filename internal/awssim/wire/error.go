// Package wire encodes and decodes the AWS wire protocols the simulator speaks:
// awsJson 1.0/1.1, awsQuery (form in, XML out) and Smithy RPC v2 CBOR.
package wire

import (
	"fmt"
	"net/http"
)

// Error is an AWS error as a service raises it. Each protocol renders it its own
// way: awsJson puts Type in "__type", awsQuery puts Code in <Code>, and CBOR sends
// Type in "__type" with Code in the x-amzn-query-error header.
type Error struct {
	// Type is the error shape name from the service model, such as
	// "DeploymentLimitExceededException" or "ListenerNotFoundException".
	Type string
	// Code is the awsQuery error code when it differs from Type, such as
	// "ListenerNotFound". Empty means the same as Type.
	Code string
	// Message is the human text AWS sends in "message" / <Message>.
	Message string
	// Status is the HTTP status; zero means 400.
	Status int
}

// Errorf returns a client (HTTP 400) error of the given shape.
func Errorf(shape, format string, args ...any) *Error {
	return &Error{Type: shape, Message: fmt.Sprintf(format, args...)}
}

// ServerError returns an HTTP 500 error of the given shape.
func ServerError(shape, format string, args ...any) *Error {
	return &Error{Type: shape, Message: fmt.Sprintf(format, args...), Status: http.StatusInternalServerError}
}

// WithCode sets the awsQuery code and returns e.
func (e *Error) WithCode(code string) *Error { e.Code = code; return e }

// WithStatus sets the HTTP status and returns e.
func (e *Error) WithStatus(status int) *Error { e.Status = status; return e }

func (e *Error) Error() string { return e.QueryCode() + ": " + e.Message }

// QueryCode is the code awsQuery clients see.
func (e *Error) QueryCode() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Type
}

// HTTPStatus is the status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// Fault is "Sender" for 4xx errors and "Receiver" for 5xx, as awsQuery reports it.
func (e *Error) Fault() string {
	if e.HTTPStatus() >= 500 {
		return "Receiver"
	}
	return "Sender"
}
