package awssim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/clock"
	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// Server is the simulator: one http.Handler for every simulated service on
// one port, routed by protocol (aws-facts §1.5).
type Server struct {
	env       Env
	log       *slog.Logger
	byTarget  map[string]*Service // X-Amz-Target prefix
	byQuery   map[string]*Service // awsQuery Version
	faults    *Faults
	mu        sync.Mutex
	calls     []Call
	world     *World
	dataPlane *DataPlane
}

// Option configures New.
type Option func(*Server)

// WithClock sets the simulated clock (default: real time).
func WithClock(c clock.Clock) Option { return func(s *Server) { s.env.Clock = c } }

// WithRegion sets the region in ARNs (default eu-west-1).
func WithRegion(r string) Option { return func(s *Server) { s.env.Region = r } }

// WithAccount sets the account id in ARNs (default 123456789012).
func WithAccount(a string) Option { return func(s *Server) { s.env.Account = a } }

// WithLogger logs every call at debug level.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithRegistryHost makes ECR repository URIs and GetAuthorizationToken's
// proxyEndpoint point at a registry the sandbox runs (host:port, plain HTTP).
func WithRegistryHost(host string) Option { return func(s *Server) { s.env.RegistryHost = host } }

// WithFaults injects faults into calls; Server.Faults changes them later.
func WithFaults(f *Faults) Option { return func(s *Server) { s.faults = f } }

// New returns a simulator with no resources; create them through the APIs.
func New(opts ...Option) *Server {
	s := &Server{
		env:      Env{Clock: clock.NewScaled(1), Region: "eu-west-1", Account: "123456789012"},
		log:      slog.New(slog.DiscardHandler),
		byTarget: map[string]*Service{},
		byQuery:  map[string]*Service{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.faults == nil {
		s.faults = NewFaults(1)
	}
	s.world = newWorld(s.env)
	for _, svc := range s.world.faces() {
		svc := svc
		if svc.JSONTargetPrefix != "" {
			s.byTarget[svc.JSONTargetPrefix] = &svc
		}
		if svc.QueryVersion != "" {
			s.byQuery[svc.QueryVersion] = &svc
		}
	}
	return s
}

// ECRCredentials are the user and password GetAuthorizationToken hands out,
// for a registry that should accept them.
func (s *Server) ECRCredentials() (user, password string) { return "AWS", s.world.ecrPassword() }

// ECRPasswordValid tells a registry in front of the simulator (the sandbox's)
// whether a Basic auth user and password are what GetAuthorizationToken
// handed out, as ECR's registry checks them.
func (s *Server) ECRPasswordValid(user, password string) bool {
	want := s.world.ecrPassword()
	return user == "AWS" && subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
}

// RepositoryURI is the URI ECR gives the repository name: on the registry
// host set with WithRegistryHost, else on the account's ECR host.
func (s *Server) RepositoryURI(name string) string { return s.world.registryHost() + "/" + name }

// World gives tests and the sandbox the simulated state, for the things no
// AWS API does (making tasks unhealthy, completing hooks).
func (s *Server) World() *World { return s.world }

// Call is one API call as the simulator saw it.
type Call struct {
	Time      time.Time
	Service   string // signing name
	Operation string
	Status    int // 0 when the connection was dropped (ErrorCode "dropped")
	ErrorCode string
	// UserAgent tells the tool's calls from a test's or the CLI's.
	UserAgent string
	// AccessKeyID and Region are from the SigV4 credential scope; empty for
	// unsigned calls (AssumeRoleWithWebIdentity).
	AccessKeyID, Region string
	RequestID           string
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCounts counts calls per "service:Operation".
func (s *Server) CallCounts() map[string]int {
	out := map[string]int{}
	for _, c := range s.Calls() {
		out[c.Service+":"+c.Operation]++
	}
	return out
}

// ErrorCounts counts failed calls per "service:Operation:ErrorCode" (a
// dropped connection counts as the code "dropped").
func (s *Server) ErrorCounts() map[string]int {
	out := map[string]int{}
	for _, c := range s.Calls() {
		if c.ErrorCode != "" {
			out[c.Service+":"+c.Operation+":"+c.ErrorCode]++
		}
	}
	return out
}

// ResetCalls empties the call log, so a benchmark or test can count from a
// known point.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Faults returns the fault injector, to change faults while the simulator
// runs. WithFaults sets it; otherwise it is an injector seeded with 1 that
// injects nothing until told to.
func (s *Server) Faults() *Faults { return s.faults }

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// statusRecorder remembers the status the handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	code   string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	if c := r.Header().Get("X-Amzn-Errortype"); c != "" {
		r.code = c
	}
	r.ResponseWriter.WriteHeader(code)
}

// protocol is how a request was sent, and so how its answer must be written.
type protocol int

const (
	protoJSON protocol = iota
	protoQuery
	protoCBOR
)

// reply writes the answers of one request in its protocol.
type reply struct {
	w           http.ResponseWriter
	proto       protocol
	contentType string // awsJson: the request's own
	rid         string
	ns          string // awsQuery: the XML namespace; CBOR: the Smithy namespace of error shapes
	// queryMode is set when an awsJson client asked for the awsQuery error
	// codes (x-amzn-query-mode: true, the CLI's CloudWatch over JSON 1.0).
	queryMode bool
}

func (p reply) error(e *wire.Error) {
	switch p.proto {
	case protoJSON:
		if p.queryMode {
			p.w.Header().Set("X-Amzn-Query-Error", e.QueryCode()+";"+e.Fault())
		}
		wire.WriteJSONError(p.w, p.contentType, p.rid, e)
	case protoQuery:
		wire.WriteXMLError(p.w, p.ns, p.rid, e)
	case protoCBOR:
		wire.WriteCBORError(p.w, p.rid, p.ns, e)
	}
}

// errorCode is what the call log records: the code the client sees.
func (p reply) errorCode(e *wire.Error) string {
	if p.proto == protoJSON && !p.queryMode {
		return e.Type
	}
	return e.QueryCode()
}

// ServeHTTP routes a request to its service and operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.serveControl(w, r) // not an AWS call: not in the call log
		return
	}
	rid := newRequestID()
	body, err := readBody(r)
	if err != nil {
		// Not yet known which protocol this is; the query error document is
		// what AWS's front end answers an unreadable request with.
		w.Header().Set("X-Amzn-Requestid", rid)
		wire.WriteXMLError(w, "", rid, wire.Errorf("MalformedInput", "the request body cannot be read: %v", err))
		return
	}
	caller := callerOf(r)
	ctx := withCaller(r.Context(), caller)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	call := Call{
		Time: s.env.Clock.Now(), UserAgent: r.Header.Get("User-Agent"),
		AccessKeyID: caller.AccessKeyID, Region: caller.Region, RequestID: rid,
	}
	defer func() {
		call.Status = rec.status
		if call.ErrorCode == "dropped" {
			call.Status = 0 // no answer was sent
		}
		if call.ErrorCode == "" {
			call.ErrorCode = rec.code
		}
		s.record(call)
		s.log.Debug("aws call", "service", call.Service, "operation", call.Operation, "status", call.Status, "error", call.ErrorCode, "request_id", rid)
	}()

	if strings.HasPrefix(r.URL.Path, wire.CBORPathPrefix) && strings.Contains(r.URL.Path, "/operation/") {
		s.serveCBOR(ctx, rec, r, body, rid, &call)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/x-amz-json-1.1"
		}
		rep := reply{w: rec, proto: protoJSON, contentType: ct, rid: rid, queryMode: strings.EqualFold(r.Header.Get("X-Amzn-Query-Mode"), "true")}
		call.Operation = op
		svc := s.byTarget[prefix]
		if svc == nil || svc.JSON == nil {
			call.Service = prefix
			e := wire.Errorf("UnknownOperationException", "unknown service %q", prefix)
			call.ErrorCode = rep.errorCode(e)
			rep.error(e)
			return
		}
		call.Service = svc.Name
		if f := s.faults.pick(svc.Name, op); f != nil {
			call.ErrorCode = f.code(svc.Name)
			if f.apply(rep, r, svc.Name) {
				return
			}
		}
		out, err := svc.JSON(ctx, op, body)
		if err != nil {
			e := wire.AsError(err)
			call.ErrorCode = rep.errorCode(e)
			rep.error(e)
			return
		}
		wire.WriteJSON(rec, ct, rid, out)
		return
	}

	rep := reply{w: rec, proto: protoQuery, rid: rid}
	values, err := formValues(r, body)
	if err != nil {
		e := wire.Errorf("MalformedQueryString", "%v", err)
		call.ErrorCode = rep.errorCode(e)
		rep.error(e)
		return
	}
	op, version := values.Get("Action"), values.Get("Version")
	call.Operation = op
	svc := s.byQuery[version]
	if svc == nil || svc.Query == nil {
		call.Service = "unknown"
		e := (&wire.Error{Type: "InvalidAction", Message: "no service answers Version " + version}).WithCode("InvalidAction")
		call.ErrorCode = rep.errorCode(e)
		rep.error(e)
		return
	}
	call.Service = svc.Name
	rep.ns = svc.XMLNamespace
	if f := s.faults.pick(svc.Name, op); f != nil {
		call.ErrorCode = f.code(svc.Name)
		if f.apply(rep, r, svc.Name) {
			return
		}
	}
	out, err := svc.Query(ctx, op, wire.NewForm(values))
	if err != nil {
		e := wire.AsError(err)
		call.ErrorCode = rep.errorCode(e)
		rep.error(e)
		return
	}
	wire.WriteXML(rec, svc.XMLNamespace, op, rid, out)
}

// serveCBOR answers Smithy RPC v2 CBOR, which the current Go SDK uses for
// CloudWatch: POST /service/GraniteServiceVersion20100801/operation/<Op>.
func (s *Server) serveCBOR(ctx context.Context, w http.ResponseWriter, r *http.Request, body []byte, rid string, call *Call) {
	rep := reply{w: w, proto: protoCBOR, rid: rid, ns: "com.amazonaws.cloudwatch"}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	op := parts[len(parts)-1]
	call.Service, call.Operation = "monitoring", op
	if len(parts) != 4 || parts[1] != "GraniteServiceVersion20100801" {
		e := wire.Errorf("UnknownOperationException", "unknown service path %s", r.URL.Path)
		call.ErrorCode = rep.errorCode(e)
		rep.error(e)
		return
	}
	if f := s.faults.pick("monitoring", op); f != nil {
		call.ErrorCode = f.code("monitoring")
		if f.apply(rep, r, "monitoring") {
			return
		}
	}
	in, err := wire.DecodeCBOR(body)
	if err == nil {
		var out map[string]any
		out, err = s.world.cloudWatchCBOR(ctx, op, in)
		if err == nil {
			wire.WriteCBOR(w, rid, out)
			return
		}
	}
	e := wire.AsError(err)
	call.ErrorCode = rep.errorCode(e)
	rep.error(e)
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, err
		}
		defer gz.Close()
		rd = gz
	}
	return io.ReadAll(io.LimitReader(rd, 32<<20))
}

func formValues(r *http.Request, body []byte) (url.Values, error) {
	if r.Method == http.MethodGet {
		return r.URL.Query(), nil
	}
	v, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil {
		return nil, err
	}
	for k, vs := range r.URL.Query() {
		v[k] = append(v[k], vs...)
	}
	return v, nil
}
