package awssim

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
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

// WithFaults injects faults into calls.
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

// World gives tests and the sandbox the simulated state, for the things no
// AWS API does (making tasks unhealthy, completing hooks).
func (s *Server) World() *World { return s.world }

// Call is one API call as the simulator saw it.
type Call struct {
	Time      time.Time
	Service   string // signing name
	Operation string
	Status    int
	ErrorCode string
	// UserAgent tells the tool's calls from a test's or the CLI's.
	UserAgent string
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

// ServeHTTP routes a request to its service and operation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rid := newRequestID()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	call := Call{Time: s.env.Clock.Now(), UserAgent: r.Header.Get("User-Agent")}
	defer func() {
		call.Status = rec.status
		if call.ErrorCode == "" {
			call.ErrorCode = rec.code
		}
		s.record(call)
		s.log.Debug("aws call", "service", call.Service, "operation", call.Operation, "status", call.Status, "error", call.ErrorCode)
	}()

	if strings.HasPrefix(r.URL.Path, wire.CBORPathPrefix) && strings.Contains(r.URL.Path, "/operation/") {
		s.serveCBOR(rec, r, body, rid, &call)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/x-amz-json-1.1"
		}
		call.Operation = op
		svc := s.byTarget[prefix]
		if svc == nil || svc.JSON == nil {
			call.Service = prefix
			wire.WriteJSONError(rec, ct, rid, wire.Errorf("UnknownOperationException", "unknown service %q", prefix))
			return
		}
		call.Service = svc.Name
		if f := s.faults.pick(svc.Name, op); f != nil {
			call.ErrorCode = f.code(svc.Name)
			if f.apply(rec, r, ct, rid, false, "") {
				return
			}
		}
		out, err := svc.JSON(op, body)
		if err != nil {
			e := wire.AsError(err)
			call.ErrorCode = e.Type
			wire.WriteJSONError(rec, ct, rid, e)
			return
		}
		wire.WriteJSON(rec, ct, rid, out)
		return
	}

	values, err := formValues(r, body)
	if err != nil {
		wire.WriteXMLError(rec, "", rid, wire.Errorf("MalformedQueryString", "%v", err))
		return
	}
	op, version := values.Get("Action"), values.Get("Version")
	call.Operation = op
	svc := s.byQuery[version]
	if svc == nil || svc.Query == nil {
		call.Service = "unknown"
		wire.WriteXMLError(rec, "", rid, (&wire.Error{Type: "InvalidAction", Message: "no service answers Version " + version}).WithCode("InvalidAction"))
		return
	}
	call.Service = svc.Name
	if f := s.faults.pick(svc.Name, op); f != nil {
		call.ErrorCode = f.code(svc.Name)
		if f.apply(rec, r, "", rid, true, svc.XMLNamespace) {
			return
		}
	}
	out, err := svc.Query(op, wire.NewForm(values))
	if err != nil {
		e := wire.AsError(err)
		call.ErrorCode = e.QueryCode()
		wire.WriteXMLError(rec, svc.XMLNamespace, rid, e)
		return
	}
	wire.WriteXML(rec, svc.XMLNamespace, op, rid, out)
}

// serveCBOR answers Smithy RPC v2 CBOR, which the current Go SDK uses for
// CloudWatch: POST /service/GraniteServiceVersion20100801/operation/<Op>.
func (s *Server) serveCBOR(w http.ResponseWriter, r *http.Request, body []byte, rid string, call *Call) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	op := parts[len(parts)-1]
	call.Service, call.Operation = "monitoring", op
	if len(parts) != 4 || parts[1] != "GraniteServiceVersion20100801" {
		wire.WriteCBORError(w, rid, "com.amazonaws.cloudwatch", wire.Errorf("UnknownOperationException", "unknown service path %s", r.URL.Path))
		return
	}
	if f := s.faults.pick("monitoring", op); f != nil {
		call.ErrorCode = f.code("monitoring")
		if f.apply(w, r, "", rid, true, "http://monitoring.amazonaws.com/doc/2010-08-01/") {
			return
		}
	}
	in, err := wire.DecodeCBOR(body)
	if err == nil {
		var out map[string]any
		out, err = s.world.cloudWatchCBOR(op, in)
		if err == nil {
			wire.WriteCBOR(w, rid, out)
			return
		}
	}
	e := wire.AsError(err)
	call.ErrorCode = e.QueryCode()
	wire.WriteCBORError(w, rid, "com.amazonaws.cloudwatch", e)
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
