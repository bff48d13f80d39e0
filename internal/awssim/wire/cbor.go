package wire

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CBORPathPrefix starts every Smithy RPC v2 CBOR request path; the operation
// is the last segment (aws-facts §1.4).
const CBORPathPrefix = "/service/"

// DecodeCBOR turns a Smithy RPC v2 CBOR request body into plain Go values
// (map[string]any, []any, string, float64, int64, bool, time.Time). An empty
// body is an empty input.
func DecodeCBOR(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, Errorf("SerializationException", "the request body is not valid CBOR: %v", err)
	}
	m, ok := plain(v).(map[string]any)
	if !ok {
		return nil, Errorf("SerializationException", "the request body is not a CBOR map")
	}
	return m, nil
}

func plain(v cbor.Value) any {
	switch x := v.(type) {
	case cbor.Map:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case cbor.List:
		out := make([]any, 0, len(x))
		for _, e := range x {
			out = append(out, plain(e))
		}
		return out
	case cbor.String:
		return string(x)
	case cbor.Uint:
		return float64(x)
	case cbor.NegInt:
		return -float64(x)
	case cbor.Float32:
		return float64(x)
	case cbor.Float64:
		return float64(x)
	case cbor.Bool:
		return bool(x)
	case *cbor.Tag:
		if t, err := cbor.AsTime(x); err == nil {
			return t
		}
		return plain(x.Value)
	case cbor.Slice:
		return []byte(x)
	}
	return nil
}

// EncodeCBOR turns plain Go values into CBOR, with time.Time as tag 1 and a
// float of epoch seconds, as Smithy RPC v2 CBOR sends timestamps.
func EncodeCBOR(v any) cbor.Value {
	switch x := v.(type) {
	case map[string]any:
		out := cbor.Map{}
		for k, e := range x {
			out[k] = EncodeCBOR(e)
		}
		return out
	case []map[string]any:
		out := cbor.List{}
		for _, e := range x {
			out = append(out, EncodeCBOR(e))
		}
		return out
	case []any:
		out := cbor.List{}
		for _, e := range x {
			out = append(out, EncodeCBOR(e))
		}
		return out
	case []string:
		out := cbor.List{}
		for _, e := range x {
			out = append(out, cbor.String(e))
		}
		return out
	case string:
		return cbor.String(x)
	case bool:
		return cbor.Bool(x)
	case int:
		if x < 0 {
			return cbor.NegInt(uint64(-x))
		}
		return cbor.Uint(uint64(x))
	case float64:
		if x == math.Trunc(x) && x >= 0 && x < 1<<53 {
			return cbor.Uint(uint64(x))
		}
		return cbor.Float64(x)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(x.UnixNano()) / 1e9)}
	case nil:
		return &cbor.Nil{}
	}
	return cbor.String(fmt.Sprint(v))
}

// WriteCBOR writes a Smithy RPC v2 CBOR response.
func WriteCBOR(w http.ResponseWriter, requestID string, v map[string]any) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(cbor.Encode(EncodeCBOR(v)))
}

// WriteCBORError writes a CBOR error: "__type" names the shape (the namespace
// is the service's), and x-amzn-query-error carries the awsQuery code so the
// SDK's ErrorCode() matches what query clients see.
func WriteCBORError(w http.ResponseWriter, requestID, namespace string, e *Error) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("X-Amzn-Query-Error", e.QueryCode()+";"+e.Fault())
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(namespace + "#" + e.Type), "message": cbor.String(e.Message)}))
}

// SortedKeys returns a map's keys in order, for stable output in tests.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
