package awssim

import (
	"context"
	"net/http"
	"strings"
)

// Caller is who signed a request, as its SigV4 credential scope says
// (Credential=AKID/20261124/eu-west-1/codedeploy/aws4_request). The simulator
// never checks signatures, so any credentials are accepted, but the access
// key still tells callers apart: STS GetCallerIdentity answers with the
// identity the key was issued to.
type Caller struct {
	AccessKeyID string
	Date        string // yyyymmdd of the scope
	Region      string
	Service     string // the signing name
}

// callerOf reads the credential scope from the Authorization header, or from
// X-Amz-Credential for a presigned URL. An unsigned request has no caller.
func callerOf(r *http.Request) Caller {
	scope := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		for part := range strings.SplitSeq(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				scope = v
			}
		}
	}
	f := strings.Split(scope, "/")
	if len(f) != 5 || f[4] != "aws4_request" {
		return Caller{}
	}
	return Caller{AccessKeyID: f[0], Date: f[1], Region: f[2], Service: f[3]}
}

type callerKey struct{}

func withCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller of the request a service handler serves;
// ok is false for an unsigned request.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, _ = ctx.Value(callerKey{}).(Caller)
	return c, c.AccessKeyID != ""
}
