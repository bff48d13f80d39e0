package awssim

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
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
// moving on) follows a schedule: every entry point first brings the world up
// to the clock's now by stepping from one due time to the next, so each
// transition happens at, and carries, its due simulated time whether or not
// anybody called in between. A manual clock gives deterministic tests and a
// sped-up clock makes a 5-minute canary take seconds.
type World struct {
	mu  sync.Mutex
	env Env
	// at is the simulated time the world has been brought to: the clock's
	// now between calls, a transition's due time while advance steps to it.
	at time.Time
	// used caches which target groups listeners and rules forward to;
	// routingChanged tells that it must be worked out again.
	used           map[string]bool
	routingChanged bool

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

	// ext is the state of the operations in the *_admin.go files; bg what
	// ECS blue/green deployments keep (ecs_bluegreen.go).
	ext extState
	bg  bgState
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
		at: env.Clock.Now(),
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
		defer w.settleAfter(op) // what the call set off happens at the call's time
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
		defer w.settleAfter(op)
		return fn(c, op, f)
	}
}

// now is the world's simulated time: everything a call or a transition
// stamps carries it.
func (w *World) now() time.Time { return w.at }

// maxSteps bounds how many due times one advance steps through; a world
// that keeps replacing failing tasks over a long jump of the clock could
// otherwise take a long time to catch up.
const maxSteps = 100000

// advance brings the world from its time to the clock's now, stepping
// through every due time in between in order, so a transition is made, and
// stamped, at the moment it was due, and what it sets off (a task set
// getting healthy ends Install, which moves test traffic) follows from there.
//
// Between due times nothing changes by itself (what a call changes is
// settled when the call is done, settleAfter), so the world is settled only
// at due times.
func (w *World) advance() {
	target := w.env.Clock.Now()
	if target.Before(w.at) {
		target = w.at // a clock that went back would undo history
	}
	for range maxSteps {
		next := w.nextDue()
		if next.IsZero() || next.After(target) {
			break
		}
		w.at = next
		w.settle()
	}
	w.at = target
}

// settleAfter settles what a call changed, at the call's time. Reads change
// nothing, so they are skipped: a watcher's polls cost little.
func (w *World) settleAfter(op string) {
	for _, read := range []string{"Describe", "Get", "List", "BatchGet"} {
		if strings.HasPrefix(op, read) {
			return
		}
	}
	w.routingChanged = true // a write may have changed listeners or rules
	w.settle()
}

// settle makes every transition due at the world's time, and those they set
// off at once.
func (w *World) settle() {
	now := w.at
	// Two rounds: a deployment that moved traffic changes which groups are
	// health-checked, and a task set it drained may already be done.
	for range 2 {
		w.settleTargetGroups(now)
		for _, svc := range w.services {
			for _, ts := range slices.Clone(svc.taskSets) {
				w.advanceTaskSet(svc, ts, now)
			}
			w.advanceServiceDeployments(svc, now)
		}
		for _, id := range w.deployOrder {
			w.advanceDeployment(w.deployments[id], now)
		}
	}
	w.settleTargetGroups(now)
}

func (w *World) settleTargetGroups(now time.Time) {
	if w.routingChanged || w.used == nil {
		w.used, w.routingChanged = w.usedTargetGroups(), false
	}
	used := w.used
	for arn, tg := range w.targetGroups {
		w.settleTargetGroup(tg, used[arn], now)
	}
}

// nextDue is the earliest time after the world's time at which some
// time-driven state changes, or zero when nothing is scheduled.
func (w *World) nextDue() time.Time {
	var next time.Time
	due := func(t time.Time) {
		if t.After(w.at) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, tg := range w.targetGroups {
		tg.dueTimes(due)
	}
	for _, svc := range w.services {
		w.serviceDueTimes(svc, due)
	}
	for _, id := range w.deployOrder {
		w.deploymentDueTimes(w.deployments[id], due)
	}
	return next
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
