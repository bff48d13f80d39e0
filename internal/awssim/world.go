package awssim

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// World is the simulated state of every service. One lock guards it all:
// the services act on each other (CodeDeploy creates ECS task sets and moves
// ELBv2 weights), and a simulated account is small.
//
// Time-driven state (tasks starting, health checks passing, deployments
// moving on) advances lazily: every entry point first brings the world up to
// the clock's now, so a manual clock gives deterministic tests and a sped-up
// clock makes a 5-minute canary take seconds.
type World struct {
	mu  sync.Mutex
	env Env

	// ECS
	clusters  map[string]*cluster
	taskDefs  map[string][]*taskDef // family -> revisions (index = revision-1)
	services  map[string]*service   // "cluster/service"
	nextIP    int
	ecsTags   map[string][]tag
	unhealthy map[string]bool // task definition ARNs whose tasks fail health checks
	// answers are HTTP statuses the tasks of a task definition give on every
	// path but the health check's: a release that passes its health checks
	// and still is broken, which only a smoke check catches.
	answers map[string]int

	// ELBv2
	loadBalancers map[string]*loadBalancer
	targetGroups  map[string]*targetGroup
	listeners     map[string]*listener
	rules         map[string]*rule
	elbTags       map[string][]tag

	// CodeDeploy
	applications map[string]*application
	groups       map[string]*deploymentGroup // "app/group"
	configs      map[string]*deploymentConfig
	deployments  map[string]*deployment
	deployOrder  []string

	// CloudWatch, ECR, STS
	alarms       map[string]*alarm
	repositories map[string]*repository
	identities   []WebIdentityCall
	stsSessions  map[string]stsSession // access key id -> the role session it was issued for

	// ext is the state of the operations in the *_admin.go files.
	ext extState
}

type tag struct {
	Key   string `json:"key" xml:"Key"`
	Value string `json:"value" xml:"Value"`
}

func newWorld(env Env) *World {
	w := &World{
		env: env, clusters: map[string]*cluster{}, taskDefs: map[string][]*taskDef{}, services: map[string]*service{},
		ecsTags: map[string][]tag{}, unhealthy: map[string]bool{}, answers: map[string]int{}, nextIP: 10,
		loadBalancers: map[string]*loadBalancer{}, targetGroups: map[string]*targetGroup{}, listeners: map[string]*listener{},
		rules: map[string]*rule{}, elbTags: map[string][]tag{},
		applications: map[string]*application{}, groups: map[string]*deploymentGroup{}, configs: predefinedConfigs(env.Clock.Now()),
		deployments: map[string]*deployment{},
		alarms:      map[string]*alarm{}, repositories: map[string]*repository{},
	}
	return w
}

// faces lists the protocol faces of the world.
func (w *World) faces() []Service {
	return []Service{
		{Name: "ecs", JSONTargetPrefix: "AmazonEC2ContainerServiceV20141113", JSON: w.locked(w.ecsOp)},
		{Name: "codedeploy", JSONTargetPrefix: "CodeDeploy_20141006", JSON: w.locked(w.codeDeployOp)},
		{Name: "ecr", JSONTargetPrefix: "AmazonEC2ContainerRegistry_V20150921", JSON: w.ecrFace(w.locked(w.ecrOp))},
		{
			Name: "monitoring", JSONTargetPrefix: "GraniteServiceVersion20100801", JSON: w.locked(w.cloudWatchJSON),
			QueryVersion: "2010-08-01", XMLNamespace: "http://monitoring.amazonaws.com/doc/2010-08-01/", Query: w.lockedQuery(w.cloudWatchQuery),
		},
		{Name: "elasticloadbalancing", QueryVersion: "2015-12-01", XMLNamespace: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/", Query: w.lockedQuery(w.elbOp)},
		{Name: "sts", QueryVersion: "2011-06-15", XMLNamespace: "https://sts.amazonaws.com/doc/2011-06-15/", Query: w.lockedQueryAs(w.stsOp)},
	}
}

func (w *World) locked(fn func(op string, body []byte) (any, error)) func(context.Context, string, []byte) (any, error) {
	return func(_ context.Context, op string, body []byte) (any, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.advance()
		return fn(op, body)
	}
}

func (w *World) lockedQuery(fn func(op string, f formT) (any, error)) func(context.Context, string, formT) (any, error) {
	return w.lockedQueryAs(func(_ Caller, op string, f formT) (any, error) { return fn(op, f) })
}

// lockedQueryAs is lockedQuery for a service that needs to know who signed
// the request.
func (w *World) lockedQueryAs(fn func(c Caller, op string, f formT) (any, error)) func(context.Context, string, formT) (any, error) {
	return func(ctx context.Context, op string, f formT) (any, error) {
		c, _ := CallerFrom(ctx)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.advance()
		return fn(c, op, f)
	}
}

func (w *World) now() time.Time { return w.env.Clock.Now() }

// advance brings time-driven state up to now: tasks start, targets pass
// health checks, deployments move on.
func (w *World) advance() {
	now := w.now()
	for _, svc := range w.services {
		for _, ts := range svc.taskSets {
			w.advanceTaskSet(svc, ts, now)
		}
		w.advanceServiceDeployments(svc, now)
	}
	for _, id := range w.deployOrder {
		w.advanceDeployment(w.deployments[id], now)
	}
}

func (w *World) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, w.env.Region, w.env.Account, resource)
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomID(n int, alphabet string) string {
	var b strings.Builder
	for range n {
		i, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

func hexID(n int) string { return strings.ToLower(randomID(n, "0123456789abcdef")) }

type formT = wire.Form
