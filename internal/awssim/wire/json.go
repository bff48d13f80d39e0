package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// DecodeJSON reads an awsJson request body into v. An empty body counts as {}.
// A body that is not JSON, or whose members have the wrong types, is the
// SerializationException AWS answers with.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Errorf("SerializationException", "member %s: expected %s", te.Field, te.Type)
		}
		return Errorf("SerializationException", "the request body is not valid JSON: %v", err)
	}
	return nil
}

// WriteJSON writes an awsJson response with the given content type.
func WriteJSON(w http.ResponseWriter, contentType, requestID string, v any) {
	body := []byte("{}")
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			WriteJSONError(w, contentType, requestID, ServerError("InternalFailure", "encoding the response: %v", err))
			return
		}
		body = b
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// WriteJSONError writes an awsJson error: the shape name in "__type" (and in
// X-Amzn-ErrorType) and the text in "message".
func WriteJSONError(w http.ResponseWriter, contentType, requestID string, e *Error) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("X-Amzn-Errortype", e.Type)
	w.WriteHeader(e.HTTPStatus())
	b, _ := json.Marshal(map[string]string{"__type": e.Type, "message": e.Message})
	_, _ = w.Write(b)
}

// AsError turns any handler error into a *Error; unknown errors are 500s.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ServerError("InternalFailure", "%v", err)
}

// Missing is the ValidationException (awsJson) for a required member.
func Missing(member string) *Error {
	return Errorf("InvalidParameterException", "%s is required", member)
}

// Must returns a ValidationError-style error naming the member when ok is false.
func Must(ok bool, shape, format string, args ...any) error {
	if ok {
		return nil
	}
	return &Error{Type: shape, Message: fmt.Sprintf(format, args...)}
}
