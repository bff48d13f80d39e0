package awssim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// taskStartDelay is how long a simulated task takes from PENDING to RUNNING.
const taskStartDelay = 10 * time.Second

type cluster struct {
	Name, ARN string
	Created   time.Time
}

// taskDef keeps the RegisterTaskDefinition input as sent, so every member
// (including ones this simulator does not model) comes back on Describe.
type taskDef struct {
	input      map[string]json.RawMessage
	family     string
	revision   int
	arn        string
	status     string
	registered time.Time
	containers []containerDef
	tags       []tag
}

type containerDef struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	PortMappings []struct {
		ContainerPort int `json:"containerPort"`
	} `json:"portMappings"`
}

type lbRef struct {
	TargetGroupArn string `json:"targetGroupArn,omitempty"`
	ContainerName  string `json:"containerName,omitempty"`
	ContainerPort  int    `json:"containerPort,omitempty"`
	// AdvancedConfiguration names what an ECS blue/green deployment
	// shifts between (ecs_bluegreen.go).
	AdvancedConfiguration *advancedConfig `json:"advancedConfiguration,omitempty"`
}

type service struct {
	name, arn, cluster, clusterARN string
	controller                     string
	taskDefinition                 string
	desired                        int
	launchType                     string
	platformVersion                string
	network                        json.RawMessage
	loadBalancers                  []lbRef
	status                         string
	created                        time.Time
	taskSets                       []*taskSet
	deploymentID                   string // ECS controller: the current deployment id
	serviceDeployments             []*serviceDeployment
	// stopped are the service's tasks that ended, newest last, kept for
	// stoppedTaskRetention as ECS keeps them (ListTasks desiredStatus STOPPED).
	stopped []*stoppedTask
	// gracePeriod is healthCheckGracePeriodSeconds: how long after a task
	// starts ECS ignores its load balancer health checks.
	gracePeriod time.Duration
	// deployConfig is deploymentConfiguration as sent; breaker its circuit
	// breaker.
	deployConfig map[string]json.RawMessage
	breaker      circuitBreaker
	// events is events[], newest first; steadyNoted tells that the
	// service's steady state has been reported since it last changed.
	events      []serviceEvent
	steadyNoted bool
}

// stoppedTask is a task ECS stopped, with the reason DescribeTasks gives.
type stoppedTask struct {
	task
	taskSetID, taskDefinition string
	reason, stopCode          string
	exitCode                  int
	stoppedAt                 time.Time
}

// stoppedTaskRetention is how long stopped tasks stay visible: ECS keeps them
// at least an hour.
const stoppedTaskRetention = time.Hour

// serviceDeployment is an ECS-controller deployment as ListServiceDeployments
// and DescribeServiceDeployments show it (aws-facts §5.2). Rolling updates
// only: the native blue/green strategies belong to the ecs model, not built yet.
type serviceDeployment struct {
	arn, status, reason    string
	source, target         string // task definition ARNs
	created, started, done time.Time
	taskSet                *taskSet
	// The circuit breaker: its status, the failed tasks counted and the
	// threshold; rollbackSet is the task set a rollback started, and
	// rollbackAt when.
	breakerStatus       string
	failures, threshold int
	rollbackSet         *taskSet
	rollbackAt          time.Time
	// sourceRev and targetRev are the service revisions of source and
	// target (ARNs DescribeServiceRevisions answers).
	sourceRev, targetRev string
	// bg is the progress of a blue/green, linear or canary deployment
	// (ecs_bluegreen.go); nil for a rolling one.
	bg *bgDeployment
}

type taskSet struct {
	id, arn        string
	status         string // PRIMARY, ACTIVE, DRAINING
	taskDefinition string
	scale          float64
	loadBalancers  []lbRef
	startedBy      string
	externalID     string
	created        time.Time
	updated        time.Time
	tasks          []*task
	// stableAt is when the set first got steady; stabilityAt when its
	// stability last changed (stabilityStatusAt), wasSteady what it was.
	stableAt, stabilityAt time.Time
	wasSteady             bool
	// healthStops counts tasks stopped for failing load balancer health
	// checks; once every slot has failed, the task set cannot get steady.
	healthStops int
	// drainUntil is when a DRAINING set's targets have drained; removed
	// tells that the set is gone; halted that ECS stopped launching its
	// tasks (a failed rolling deployment without rollback).
	drainUntil time.Time
	removed    bool
	halted     bool
	// rollout and rolloutReason are an ECS-controller deployment's
	// rolloutState and rolloutStateReason.
	rollout, rolloutReason string
}

type task struct {
	id, arn   string
	ip        string
	created   time.Time
	runningAt time.Time
	targets   bool // registered in the task set's target group
}

func (w *World) ecsOp(op string, body []byte) (any, error) {
	switch op {
	case "CreateCluster":
		return w.createCluster(body)
	case "DescribeClusters":
		return w.describeClusters(body)
	case "RegisterTaskDefinition":
		return w.registerTaskDefinition(body)
	case "DescribeTaskDefinition":
		return w.describeTaskDefinition(body)
	case "ListTaskDefinitions":
		return w.listTaskDefinitions(body)
	case "DeregisterTaskDefinition":
		return w.deregisterTaskDefinition(body)
	case "DeleteTaskDefinitions":
		return w.deleteTaskDefinitions(body)
	case "CreateService":
		return w.createService(body)
	case "DescribeServices":
		return w.describeServices(body)
	case "UpdateService":
		return w.updateService(body)
	case "ListTasks":
		return w.listTasks(body)
	case "DescribeTasks":
		return w.describeTasks(body)
	case "ListServiceDeployments":
		return w.listServiceDeployments(body)
	case "DescribeServiceDeployments":
		return w.describeServiceDeployments(body)
	case "StopServiceDeployment":
		return w.stopServiceDeployment(body)
	case "ContinueServiceDeployment":
		return w.continueServiceDeployment(body)
	case "DescribeServiceRevisions":
		return w.describeServiceRevisions(body)
	case "TagResource":
		return w.ecsTagResource(body)
	case "ListTagsForResource":
		return w.ecsListTags(body)
	}
	if out, err, ok := w.ecsAdminOp(op, body); ok {
		return out, err
	}
	return nil, wire.Errorf("UnknownOperationException", "the ECS simulator does not implement %s", op)
}

func clientErr(format string, args ...any) error {
	return wire.Errorf("ClientException", format, args...)
}

func invalidParam(format string, args ...any) error {
	return wire.Errorf("InvalidParameterException", format, args...)
}

func (w *World) cluster(nameOrARN string) (*cluster, error) {
	if nameOrARN == "" {
		nameOrARN = "default"
	}
	name := nameOrARN
	if i := strings.LastIndex(name, "/"); strings.HasPrefix(name, "arn:") && i >= 0 {
		name = name[i+1:]
	}
	c := w.clusters[name]
	if c == nil {
		return nil, wire.Errorf("ClusterNotFoundException", "Cluster not found.")
	}
	return c, nil
}

func (w *World) createCluster(body []byte) (any, error) {
	var in struct {
		ClusterName string `json:"clusterName"`
		Tags        []tag  `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.ClusterName == "" {
		in.ClusterName = "default"
	}
	c := w.clusters[in.ClusterName]
	if c == nil {
		c = &cluster{Name: in.ClusterName, ARN: w.arn("ecs", "cluster/"+in.ClusterName), Created: w.now()}
		w.clusters[c.Name] = c
	}
	return map[string]any{"cluster": w.clusterOut(c)}, nil
}

func (w *World) clusterOut(c *cluster) map[string]any {
	running, active := 0, 0
	for _, s := range w.services {
		if s.cluster == c.Name && s.status == "ACTIVE" {
			active++
			for _, ts := range s.taskSets {
				running += ts.running(w.now())
			}
		}
	}
	return map[string]any{
		"clusterArn": c.ARN, "clusterName": c.Name, "status": "ACTIVE",
		"runningTasksCount": running, "pendingTasksCount": 0, "activeServicesCount": active, "registeredContainerInstancesCount": 0,
		"settings": []any{map[string]string{"name": "containerInsights", "value": "disabled"}},
	}
}

func (w *World) describeClusters(body []byte) (any, error) {
	var in struct {
		Clusters []string `json:"clusters"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.Clusters) == 0 {
		in.Clusters = []string{"default"}
	}
	clusters, failures := []any{}, []any{}
	for _, n := range in.Clusters {
		c, err := w.cluster(n)
		if err != nil {
			failures = append(failures, map[string]string{"arn": n, "reason": "MISSING"})
			continue
		}
		clusters = append(clusters, w.clusterOut(c))
	}
	return map[string]any{"clusters": clusters, "failures": failures}, nil
}

var familyPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// readOnlyTaskDefFields are output-only members RegisterTaskDefinition rejects
// (aws-facts §3.3).
var readOnlyTaskDefFields = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

func (w *World) registerTaskDefinition(body []byte) (any, error) {
	var raw map[string]json.RawMessage
	if err := wire.DecodeJSON(body, &raw); err != nil {
		return nil, err
	}
	for _, f := range readOnlyTaskDefFields {
		if _, ok := raw[f]; ok {
			return nil, wire.Errorf("SerializationException", "Unknown parameter in input: %q", f)
		}
	}
	var in struct {
		Family                  string         `json:"family"`
		ContainerDefinitions    []containerDef `json:"containerDefinitions"`
		NetworkMode             string         `json:"networkMode"`
		RequiresCompatibilities []string       `json:"requiresCompatibilities"`
		CPU                     string         `json:"cpu"`
		Memory                  string         `json:"memory"`
		Tags                    []tag          `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !familyPattern.MatchString(in.Family) {
		return nil, clientErr("Family contains invalid characters or is missing: up to 255 letters (uppercase and lowercase), numbers, hyphens and underscores are allowed.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container list cannot be empty.")
	}
	names := map[string]bool{}
	for _, c := range in.ContainerDefinitions {
		if c.Name == "" || c.Image == "" {
			return nil, clientErr("Container.name and Container.image should not be null or empty.")
		}
		if names[c.Name] {
			return nil, clientErr("Duplicate container name %q.", c.Name)
		}
		names[c.Name] = true
	}
	fargate := false
	for _, c := range in.RequiresCompatibilities {
		switch c {
		case "FARGATE":
			fargate = true
		case "EC2", "EXTERNAL", "MANAGED_INSTANCES":
		default:
			return nil, clientErr("Invalid compatibility %q.", c)
		}
	}
	if fargate {
		if in.NetworkMode != "awsvpc" {
			return nil, clientErr("Fargate only supports network mode 'awsvpc'.")
		}
		if in.CPU == "" || in.Memory == "" {
			return nil, clientErr("Fargate requires that 'cpu' and 'memory' be defined at the task level.")
		}
	}
	delete(raw, "tags")
	revs := w.taskDefs[in.Family]
	td := &taskDef{
		input: raw, family: in.Family, revision: len(revs) + 1, status: "ACTIVE", registered: w.now(),
		containers: in.ContainerDefinitions, tags: in.Tags,
	}
	td.arn = w.arn("ecs", "task-definition/"+td.family+":"+strconv.Itoa(td.revision))
	w.taskDefs[in.Family] = append(revs, td)
	return map[string]any{"taskDefinition": w.taskDefOut(td), "tags": nonNilTags(td.tags)}, nil
}

func nonNilTags(t []tag) []tag {
	if t == nil {
		return []tag{}
	}
	return t
}

func (w *World) taskDefOut(td *taskDef) map[string]any {
	out := map[string]any{}
	for k, v := range td.input {
		out[k] = v
	}
	var compat []string
	_ = json.Unmarshal(td.input["requiresCompatibilities"], &compat)
	compatibilities := []string{"EC2"}
	for _, c := range compat {
		if c == "FARGATE" {
			compatibilities = []string{"EC2", "FARGATE"}
		}
	}
	out["containerDefinitions"] = containerDefaults(td.input["containerDefinitions"], string(td.input["networkMode"]) == `"awsvpc"`)
	out["taskDefinitionArn"] = td.arn
	out["revision"] = td.revision
	out["status"] = td.status
	out["compatibilities"] = compatibilities
	out["requiresAttributes"] = []any{}
	out["registeredAt"] = wire.EpochSeconds(td.registered)
	out["registeredBy"] = "arn:aws:iam::" + w.env.Account + ":root"
	if _, ok := out["volumes"]; !ok {
		out["volumes"] = []any{}
	}
	if _, ok := out["placementConstraints"]; !ok {
		out["placementConstraints"] = []any{}
	}
	return out
}

// findTaskDef resolves family, family:revision or an ARN; a bare family is
// its latest ACTIVE revision.
func (w *World) findTaskDef(ref string) (*taskDef, error) {
	if ref == "" {
		return nil, clientErr("TaskDefinition must be specified.")
	}
	s := ref
	if strings.HasPrefix(s, "arn:") {
		i := strings.Index(s, "task-definition/")
		if i < 0 {
			return nil, clientErr("Invalid task definition ARN %q.", ref)
		}
		s = s[i+len("task-definition/"):]
	}
	family, revText, hasRev := strings.Cut(s, ":")
	revs := w.taskDefs[family]
	if hasRev {
		n, err := strconv.Atoi(revText)
		if err != nil || n < 1 || n > len(revs) || revs[n-1].status == "DELETE_IN_PROGRESS" {
			return nil, clientErr("Unable to describe task definition.")
		}
		return revs[n-1], nil
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].status == "ACTIVE" {
			return revs[i], nil
		}
	}
	return nil, clientErr("Unable to describe task definition.")
}

// taskDefByARN is the revision an ARN names whatever its status: tasks keep
// describing their containers after their task definition was deleted.
func (w *World) taskDefByARN(arn string) *taskDef {
	for _, revs := range w.taskDefs {
		for _, td := range revs {
			if td.arn == arn {
				return td
			}
		}
	}
	return nil
}

func (w *World) describeTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string   `json:"taskDefinition"`
		Include        []string `json:"include"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"taskDefinition": w.taskDefOut(td)}
	for _, i := range in.Include {
		if i == "TAGS" {
			out["tags"] = nonNilTags(td.tags)
		}
	}
	return out, nil
}

func (w *World) listTaskDefinitions(body []byte) (any, error) {
	var in struct {
		FamilyPrefix string `json:"familyPrefix"`
		Status       string `json:"status"`
		Sort         string `json:"sort"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Status == "" {
		in.Status = "ACTIVE"
	}
	var all []*taskDef
	families := make([]string, 0, len(w.taskDefs))
	for f := range w.taskDefs {
		families = append(families, f)
	}
	sort.Strings(families)
	for _, f := range families {
		if in.FamilyPrefix != "" && !strings.HasPrefix(f, in.FamilyPrefix) {
			continue
		}
		for _, td := range w.taskDefs[f] {
			if td.status == in.Status {
				all = append(all, td)
			}
		}
	}
	if in.Sort == "DESC" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	return paginate(all, in.MaxResults, in.NextToken, 100, func(td *taskDef) string { return td.arn }, "taskDefinitionArns")
}

// paginate pages a list: nextToken is the index of the next item.
func paginate[T any](items []T, max int, token string, defaultMax int, id func(T) string, key string) (any, error) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, invalidParam("Invalid nextToken.")
		}
		start = n
	}
	if max <= 0 {
		max = defaultMax
	}
	end := min(start+max, len(items))
	ids := make([]string, 0, end-start)
	for _, it := range items[start:end] {
		ids = append(ids, id(it))
	}
	out := map[string]any{key: ids}
	if end < len(items) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (w *World) deregisterTaskDefinition(body []byte) (any, error) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !strings.Contains(in.TaskDefinition, ":") {
		return nil, clientErr("The specified task definition does not exist: a revision is required.")
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	td.status = "INACTIVE"
	return map[string]any{"taskDefinition": w.taskDefOut(td)}, nil
}

func (w *World) deleteTaskDefinitions(body []byte) (any, error) {
	var in struct {
		TaskDefinitions []string `json:"taskDefinitions"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	out, failures := []any{}, []any{}
	for _, ref := range in.TaskDefinitions {
		td, err := w.findTaskDef(ref)
		switch {
		case err != nil:
			failures = append(failures, map[string]string{"arn": ref, "reason": "TASK_DEFINITION_NOT_FOUND"})
		case td.status != "INACTIVE":
			failures = append(failures, map[string]string{"arn": ref, "reason": "The specified task definition is still in ACTIVE status. Please deregister the target and try again."})
		default:
			td.status = "DELETE_IN_PROGRESS"
			out = append(out, w.taskDefOut(td))
		}
	}
	return map[string]any{"taskDefinitions": out, "failures": failures}, nil
}

func (w *World) createService(body []byte) (any, error) {
	var in struct {
		Cluster              string          `json:"cluster"`
		ServiceName          string          `json:"serviceName"`
		TaskDefinition       string          `json:"taskDefinition"`
		DesiredCount         *int            `json:"desiredCount"`
		LaunchType           string          `json:"launchType"`
		PlatformVersion      string          `json:"platformVersion"`
		NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
		LoadBalancers        []lbRef         `json:"loadBalancers"`
		DeploymentController *struct {
			Type string `json:"type"`
		} `json:"deploymentController"`
		Tags []tag `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.ServiceName == "" {
		return nil, invalidParam("serviceName is required.")
	}
	key := c.Name + "/" + in.ServiceName
	if s := w.services[key]; s != nil && s.status == "ACTIVE" {
		return nil, invalidParam("Creation of service was not idempotent.")
	}
	controller := "ECS"
	if in.DeploymentController != nil && in.DeploymentController.Type != "" {
		controller = in.DeploymentController.Type
	}
	switch controller {
	case "ECS", "CODE_DEPLOY", "EXTERNAL":
	default:
		return nil, invalidParam("Invalid deployment controller type %q.", controller)
	}
	var td *taskDef
	if controller != "EXTERNAL" {
		if td, err = w.findTaskDef(in.TaskDefinition); err != nil {
			return nil, err
		}
	}
	desired := 1
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	for _, lb := range in.LoadBalancers {
		if _, ok := w.targetGroups[lb.TargetGroupArn]; !ok {
			return nil, invalidParam("The target group %s does not exist.", lb.TargetGroupArn)
		}
		if len(w.loadBalancersOf(lb.TargetGroupArn)) == 0 {
			// ECS registers the tasks with a load balancer it finds through a
			// listener or rule; a group none forwards to has none.
			return nil, invalidParam("The target group with targetGroupArn %s does not have an associated load balancer.", lb.TargetGroupArn)
		}
		if td != nil && !td.hasPort(lb.ContainerName, lb.ContainerPort) {
			return nil, invalidParam("The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort)
		}
	}
	if controller == "CODE_DEPLOY" && len(in.LoadBalancers) != 1 {
		return nil, invalidParam("A service with the CODE_DEPLOY deployment controller needs exactly one load balancer target group.")
	}
	s := &service{
		name: in.ServiceName, arn: w.arn("ecs", "service/"+c.Name+"/"+in.ServiceName), cluster: c.Name, clusterARN: c.ARN,
		controller: controller, desired: desired, launchType: in.LaunchType, platformVersion: in.PlatformVersion,
		network: in.NetworkConfiguration, loadBalancers: in.LoadBalancers, status: "ACTIVE", created: w.now(),
	}
	if s.launchType == "" {
		s.launchType = "EC2"
	}
	if err := w.applyServiceSettings(s, body); err != nil {
		return nil, err
	}
	if err := w.checkStrategy(s); err != nil {
		return nil, err
	}
	if td != nil {
		s.taskDefinition = td.arn
		ts := w.newTaskSet(s, td.arn, in.LoadBalancers, "", "")
		ts.status = "PRIMARY"
		s.taskSets = append(s.taskSets, ts)
		s.deploymentID = "ecs-svc/" + randomID(19, "0123456789")
		if controller == "ECS" {
			ts.rollout = "IN_PROGRESS"
			w.startServiceDeployment(s, "", td.arn, ts)
		}
	}
	if err := w.keepServiceExtras(s, body); err != nil {
		return nil, err
	}
	w.services[key] = s
	if len(in.Tags) > 0 {
		w.ecsTags[s.arn] = in.Tags
	}
	out := w.serviceOut(s)
	if len(in.Tags) > 0 {
		out["tags"] = in.Tags // CreateService echoes the tags it took
	}
	return map[string]any{"service": out}, nil
}

func (td *taskDef) hasPort(container string, port int) bool {
	for _, c := range td.containers {
		if c.Name != container {
			continue
		}
		for _, p := range c.PortMappings {
			if p.ContainerPort == port {
				return true
			}
		}
	}
	return false
}

func (td *taskDef) hasContainer(name string) bool {
	for _, c := range td.containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// newTaskSet starts a task set with its tasks PENDING.
func (w *World) newTaskSet(s *service, taskDefARN string, lbs []lbRef, startedBy, externalID string) *taskSet {
	now := w.now()
	ts := &taskSet{
		id: "ecs-svc/" + randomID(19, "0123456789"), status: "ACTIVE", taskDefinition: taskDefARN, scale: 100,
		loadBalancers: lbs, startedBy: startedBy, externalID: externalID, created: now, updated: now, stabilityAt: now,
	}
	ts.arn = w.arn("ecs", "task-set/"+s.cluster+"/"+s.name+"/"+ts.id)
	w.scaleTaskSet(s, ts)
	return ts
}

func (ts *taskSet) computedDesired(s *service) int {
	if ts.status == "DRAINING" {
		return 0
	}
	return int(math.Ceil(float64(s.desired) * ts.scale / 100))
}

// setStatus changes a task set's status (PRIMARY, ACTIVE, DRAINING) and
// stamps updatedAt.
func (ts *taskSet) setStatus(status string, at time.Time) {
	if ts.status != status {
		ts.status, ts.updated = status, at
	}
}

// scaleTaskSet starts or stops tasks to match the computed desired count. A
// draining task set keeps its tasks until its targets have drained.
func (w *World) scaleTaskSet(s *service, ts *taskSet) {
	if ts.status == "DRAINING" || ts.halted {
		return
	}
	want := ts.computedDesired(s)
	now := w.now()
	var started []string
	for len(ts.tasks) < want {
		w.nextIP++
		t := &task{id: hexID(32), created: now, runningAt: now.Add(taskStartDelay), ip: fmt.Sprintf("10.0.%d.%d", w.nextIP/250, w.nextIP%250+2)}
		t.arn = w.arn("ecs", "task/"+s.cluster+"/"+t.id)
		ts.tasks = append(ts.tasks, t)
		started = append(started, "(task "+t.id+")")
	}
	if len(started) > 0 {
		w.taskSetEvent(s, ts, fmt.Sprintf("has started %d tasks: %s.", len(started), strings.Join(started, " ")))
	}
	var stopped []string
	for len(ts.tasks) > want {
		t := ts.tasks[len(ts.tasks)-1]
		w.stopTask(s, ts, t, "Scaling activity initiated by (deployment "+ts.id+")", 0, now)
		stopped = append(stopped, "(task "+t.id+")")
	}
	if len(stopped) > 0 {
		w.taskSetEvent(s, ts, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), strings.Join(stopped, " ")))
	}
	if len(started)+len(stopped) > 0 {
		ts.stabilityAt = now
	}
}

// drainTaskSet starts taking a task set away as ECS does when CodeDeploy or
// a rolling deployment is done with it: the set is DRAINING, its targets
// drain for their groups' deregistration delay, and then its tasks stop and
// the set is gone (settleDrained).
func (w *World) drainTaskSet(s *service, ts *taskSet) {
	now := w.now()
	ts.setStatus("DRAINING", now)
	ts.drainUntil = now
	ids := map[string]bool{}
	for _, t := range ts.tasks {
		ids[t.ip] = true
		w.deregisterTask(s, ts, t)
	}
	for _, lb := range ts.loadBalancers {
		if tg := w.targetGroups[lb.TargetGroupArn]; tg != nil {
			if end := tg.drainingUntil(ids); end.After(ts.drainUntil) {
				ts.drainUntil = end
			}
		}
	}
	if len(ts.tasks) > 0 {
		w.taskSetEvent(s, ts, fmt.Sprintf("has begun draining connections on %d tasks.", len(ts.tasks)))
	}
}

// drained tells whether a draining task set has finished draining.
func (ts *taskSet) drained(now time.Time) bool {
	return ts.status == "DRAINING" && !now.Before(ts.drainUntil)
}

// removeTaskSet stops a task set's tasks and drops it.
func (w *World) removeTaskSet(s *service, ts *taskSet) {
	now := w.now()
	var stopped []string
	for len(ts.tasks) > 0 {
		stopped = append(stopped, "(task "+ts.tasks[0].id+")")
		w.stopTask(s, ts, ts.tasks[0], "Scaling activity initiated by (deployment "+ts.id+")", 0, now)
	}
	if len(stopped) > 0 {
		w.taskSetEvent(s, ts, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), strings.Join(stopped, " ")))
	}
	for i, x := range s.taskSets {
		if x == ts {
			s.taskSets = append(s.taskSets[:i], s.taskSets[i+1:]...)
			break
		}
	}
	ts.removed = true
}

// stopTask takes a task out of its task set and out of its target groups,
// and keeps it, with why it stopped, among the service's stopped tasks.
func (w *World) stopTask(s *service, ts *taskSet, t *task, reason string, exitCode int, now time.Time) {
	w.deregisterTask(s, ts, t)
	for i, x := range ts.tasks {
		if x == t {
			ts.tasks = append(ts.tasks[:i], ts.tasks[i+1:]...)
			break
		}
	}
	keep := s.stopped[:0]
	for _, st := range s.stopped {
		if now.Sub(st.stoppedAt) < stoppedTaskRetention {
			keep = append(keep, st)
		}
	}
	s.stopped = append(keep, &stoppedTask{
		task: *t, taskSetID: ts.id, taskDefinition: ts.taskDefinition,
		reason: reason, stopCode: "ServiceSchedulerInitiated", exitCode: exitCode, stoppedAt: now,
	})
}

// deregisterTask takes a task's targets out of its groups: they drain.
func (w *World) deregisterTask(s *service, ts *taskSet, t *task) {
	if !t.targets {
		return
	}
	for _, lb := range ts.loadBalancers {
		if tg := w.targetGroups[lb.TargetGroupArn]; tg != nil {
			tg.remove(t.ip, lb.ContainerPort, w.now())
			w.taskSetEvent(s, ts, fmt.Sprintf("deregistered 1 targets in (target-group %s)", tg.ARN))
		}
	}
	t.targets = false
}

// advanceTaskSet registers running tasks as targets of the task set's target
// groups (ECS does this for services with load balancers), replaces tasks
// the load balancer found unhealthy, and notes when the set gets steady.
func (w *World) advanceTaskSet(s *service, ts *taskSet, now time.Time) {
	if ts.drained(now) {
		w.removeTaskSet(s, ts)
		return
	}
	registered := map[string]int{}
	for _, t := range ts.tasks {
		if t.targets || now.Before(t.runningAt) || ts.status == "DRAINING" {
			continue
		}
		for _, lb := range ts.loadBalancers {
			if tg := w.targetGroups[lb.TargetGroupArn]; tg != nil {
				tg.add(t.ip, lb.ContainerPort, t.runningAt, ts.taskDefinition)
				registered[tg.ARN]++
			}
		}
		t.targets = true
		ts.stabilityAt = now
	}
	for _, arn := range slices.Sorted(maps.Keys(registered)) {
		w.taskSetEvent(s, ts, fmt.Sprintf("registered %d targets in (target-group %s)", registered[arn], arn))
	}
	// ECS replaces a task its load balancer found unhealthy, once the
	// service's health check grace period after the task started is over.
	replace := false
	for _, t := range slices.Clone(ts.tasks) {
		if tg, port := w.failedHealthChecks(s, ts, t, now); tg != nil {
			w.taskSetEvent(s, ts, fmt.Sprintf("(task %s) (port %d) is unhealthy in (target-group %s) due to (reason Health checks failed with these codes: [503]).", t.id, port, tg.ARN))
			w.stopTask(s, ts, t, "Task failed ELB health checks in (target-group "+tg.ARN+")", 143, now)
			w.taskSetEvent(s, ts, fmt.Sprintf("has stopped 1 running tasks: (task %s).", t.id))
			ts.healthStops++
			replace = true
		}
	}
	if replace {
		ts.stabilityAt = now
		w.afterTaskFailure(s, ts)
		w.scaleTaskSet(s, ts)
	}
	steady := ts.steady(s, now)
	if steady && ts.stableAt.IsZero() {
		ts.stableAt = now
	}
	if steady != ts.wasSteady {
		ts.wasSteady = steady
		ts.stabilityAt = now
	}
}

// steady tells whether all of a task set's tasks run and are registered.
func (ts *taskSet) steady(s *service, now time.Time) bool {
	want := ts.computedDesired(s)
	if len(ts.tasks) != want || ts.running(now) != want {
		return false
	}
	for _, t := range ts.tasks {
		if !t.targets && len(ts.loadBalancers) > 0 {
			return false
		}
	}
	return true
}

// failedHealthChecks is the target group (and port) in which a registered
// task is unhealthy, or nil.
func (w *World) failedHealthChecks(s *service, ts *taskSet, t *task, now time.Time) (*targetGroup, int) {
	if !t.targets || now.Before(t.runningAt.Add(s.gracePeriod)) {
		return nil, 0
	}
	for _, lb := range ts.loadBalancers {
		tg := w.targetGroups[lb.TargetGroupArn]
		if tg == nil {
			continue
		}
		for _, x := range tg.targets {
			if x.id == t.ip && x.port == lb.ContainerPort {
				// ECS acts on the load balancer's verdict one health check
				// later, so the unhealthy state can be seen before the task goes.
				if state, _, _ := tg.health(x, now); state == "unhealthy" && tg.checks(x, now) >= tg.Unhealthy+1 {
					return tg, lb.ContainerPort
				}
			}
		}
	}
	return nil, 0
}

// serviceDueTimes reports when a service's tasks change next: a task
// starts, its grace period ends, a draining task set is done.
func (w *World) serviceDueTimes(s *service, due func(time.Time)) {
	w.bgDueTimes(s, due)
	for _, ts := range s.taskSets {
		if ts.status == "DRAINING" {
			due(ts.drainUntil)
		}
		for _, t := range ts.tasks {
			due(t.runningAt)
			due(t.runningAt.Add(s.gracePeriod))
		}
	}
}

func (ts *taskSet) running(now time.Time) int {
	n := 0
	for _, t := range ts.tasks {
		if !now.Before(t.runningAt) {
			n++
		}
	}
	return n
}

func (w *World) taskSetOut(s *service, ts *taskSet) map[string]any {
	now := w.now()
	running := ts.running(now)
	stability := "STABILIZING"
	if ts.steady(s, now) {
		stability = "STEADY_STATE"
	}
	out := map[string]any{
		"id": ts.id, "taskSetArn": ts.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN, "status": ts.status,
		"taskDefinition": ts.taskDefinition, "computedDesiredCount": ts.computedDesired(s), "pendingCount": len(ts.tasks) - running,
		"runningCount": running, "createdAt": wire.EpochSeconds(ts.created), "updatedAt": wire.EpochSeconds(ts.updated),
		"launchType": s.launchType, "loadBalancers": ts.loadBalancers, "serviceRegistries": []any{},
		"scale": map[string]any{"value": ts.scale, "unit": "PERCENT"}, "stabilityStatus": stability,
		"stabilityStatusAt": wire.EpochSeconds(ts.stabilityAt),
	}
	if ts.startedBy != "" {
		out["startedBy"] = ts.startedBy
	}
	if ts.externalID != "" {
		out["externalId"] = ts.externalID
	}
	if s.platformVersion != "" {
		out["platformVersion"] = s.platformVersion
	}
	if len(s.network) > 0 {
		out["networkConfiguration"] = s.network
	}
	return out
}

func (w *World) serviceOut(s *service) map[string]any {
	now := w.now()
	running, pending := 0, 0
	for _, ts := range s.taskSets {
		r := ts.running(now)
		running += r
		pending += len(ts.tasks) - r
	}
	lbs := s.loadBalancers
	if lbs == nil {
		lbs = []lbRef{}
	}
	out := map[string]any{
		"serviceArn": s.arn, "serviceName": s.name, "clusterArn": s.clusterARN, "status": s.status,
		"desiredCount": s.desired, "runningCount": running, "pendingCount": pending, "launchType": s.launchType,
		"taskDefinition": s.taskDefinition, "loadBalancers": lbs, "serviceRegistries": []any{},
		"deploymentController": map[string]string{"type": s.controller}, "createdAt": wire.EpochSeconds(s.created),
		"schedulingStrategy": "REPLICA", "events": s.eventsOut(), "placementConstraints": []any{}, "placementStrategy": []any{},
		"deploymentConfiguration": s.deploymentConfigurationOut(),
	}
	if len(s.loadBalancers) > 0 {
		out["healthCheckGracePeriodSeconds"] = int(s.gracePeriod / time.Second)
	}
	if s.platformVersion != "" {
		out["platformVersion"] = s.platformVersion
	}
	if len(s.network) > 0 {
		out["networkConfiguration"] = s.network
	}
	switch s.controller {
	case "CODE_DEPLOY", "EXTERNAL":
		// State lives in taskSets; deployments[] stays empty (aws-facts §5.1).
		sets := []any{}
		for _, ts := range s.taskSets {
			sets = append(sets, w.taskSetOut(s, ts))
		}
		out["taskSets"] = sets
		out["deployments"] = []any{}
	default:
		out["deployments"] = w.deploymentsOut(s, now)
	}
	w.serviceExtOut(s, out)
	w.bgServiceOut(s, out)
	return out
}

func (w *World) service(clusterName, name string) (*service, error) {
	c, err := w.cluster(clusterName)
	if err != nil {
		return nil, err
	}
	if i := strings.LastIndex(name, "/"); strings.HasPrefix(name, "arn:") && i >= 0 {
		name = name[i+1:]
	}
	s := w.services[c.Name+"/"+name]
	if s == nil {
		return nil, wire.Errorf("ServiceNotFoundException", "Service not found.")
	}
	return s, nil
}

func (w *World) describeServices(body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Services []string `json:"services"`
		Include  []string `json:"include"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.Services) == 0 {
		return nil, invalidParam("Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParam("Services cannot contain more than 10 elements.")
	}
	if _, err := w.cluster(in.Cluster); err != nil {
		return nil, err
	}
	services, failures := []any{}, []any{}
	for _, name := range in.Services {
		s, err := w.service(in.Cluster, name)
		if err != nil {
			failures = append(failures, map[string]string{"arn": w.arn("ecs", "service/"+name), "reason": "MISSING"})
			continue
		}
		out := w.serviceOut(s)
		for _, i := range in.Include {
			if i == "TAGS" {
				out["tags"] = nonNilTags(w.ecsTags[s.arn])
			}
		}
		services = append(services, out)
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

func (w *World) updateService(body []byte) (any, error) {
	var in struct {
		Cluster        string `json:"cluster"`
		Service        string `json:"service"`
		TaskDefinition string `json:"taskDefinition"`
		DesiredCount   *int   `json:"desiredCount"`
		LoadBalancers  []any  `json:"loadBalancers"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, err := w.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.status != "ACTIVE" {
		return nil, wire.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if err := checkServiceExtras(body); err != nil {
		return nil, err
	}
	// A change of deployment controller (the migration from CodeDeploy to
	// ECS blue/green) comes first and is undone if the rest is refused.
	undo := s.snapshot()
	out, err := w.updateServiceWith(s, in.TaskDefinition, in.DesiredCount, in.LoadBalancers != nil, body)
	if err != nil {
		undo()
	}
	return out, err
}

func (w *World) updateServiceWith(s *service, taskDefinition string, desiredCount *int, loadBalancers bool, body []byte) (any, error) {
	in := struct {
		TaskDefinition string
		DesiredCount   *int
		LoadBalancers  bool
	}{taskDefinition, desiredCount, loadBalancers}
	if err := w.updateController(s, body); err != nil {
		return nil, err
	}
	if s.controller == "CODE_DEPLOY" && (in.TaskDefinition != "" || in.LoadBalancers) {
		return nil, invalidParam("Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.")
	}
	if err := w.updateLoadBalancers(s, body); err != nil {
		return nil, err
	}
	if err := w.applyServiceSettings(s, body); err != nil {
		return nil, err
	}
	if err := w.checkStrategy(s); err != nil {
		return nil, err
	}
	if in.DesiredCount != nil {
		if *in.DesiredCount < 0 {
			return nil, invalidParam("desiredCount must be at least 0.")
		}
		s.desired = *in.DesiredCount
		for _, ts := range s.taskSets {
			w.scaleTaskSet(s, ts)
		}
	}
	if in.TaskDefinition != "" && s.controller == "ECS" {
		td, err := w.findTaskDef(in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		if td.arn != s.taskDefinition && s.isBlueGreen() {
			w.startBlueGreen(s, td.arn)
		} else if td.arn != s.taskDefinition {
			source := w.lastCompleted(s)
			ts := w.startRolling(s, td.arn)
			w.startServiceDeployment(s, source, td.arn, ts)
		}
	}
	if err := w.keepServiceExtras(s, body); err != nil { // checked above: keeps only
		return nil, err
	}
	return map[string]any{"service": w.serviceOut(s)}, nil
}

func (w *World) listTasks(body []byte) (any, error) {
	var in struct {
		Cluster       string `json:"cluster"`
		ServiceName   string `json:"serviceName"`
		StartedBy     string `json:"startedBy"`
		DesiredStatus string `json:"desiredStatus"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	switch in.DesiredStatus {
	case "", "RUNNING", "PENDING", "STOPPED":
	default:
		return nil, invalidParam("desiredStatus must be one of RUNNING, PENDING, STOPPED")
	}
	if in.ServiceName != "" && in.StartedBy != "" {
		return nil, invalidParam("startedBy and serviceName cannot both be specified")
	}
	now := w.now()
	arns := []string{}
	for _, s := range w.sortedServices() {
		if s.cluster != c.Name || (in.ServiceName != "" && s.name != in.ServiceName) {
			continue
		}
		if in.DesiredStatus == "STOPPED" {
			for _, st := range s.stopped {
				if now.Sub(st.stoppedAt) < stoppedTaskRetention && (in.StartedBy == "" || st.taskSetID == in.StartedBy) {
					arns = append(arns, st.arn)
				}
			}
			continue
		}
		for _, ts := range s.taskSets {
			if in.StartedBy != "" && ts.id != in.StartedBy {
				continue
			}
			for _, t := range ts.tasks {
				arns = append(arns, t.arn)
			}
		}
	}
	if in.ServiceName == "" {
		arns = w.runTaskArns(arns, c.Name, in.StartedBy, in.DesiredStatus, "")
	}
	return map[string]any{"taskArns": arns}, nil
}

func (w *World) sortedServices() []*service {
	keys := make([]string, 0, len(w.services))
	for k := range w.services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*service, 0, len(keys))
	for _, k := range keys {
		out = append(out, w.services[k])
	}
	return out
}

func (w *World) describeTasks(body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	now := w.now()
	want := map[string]bool{}
	for _, t := range in.Tasks {
		want[t] = true
	}
	tasks, failures := []any{}, []any{}
	for _, s := range w.sortedServices() {
		for _, ts := range s.taskSets {
			td := w.taskDefByARN(ts.taskDefinition)
			for _, t := range ts.tasks {
				if !want[t.arn] && !want[t.id] {
					continue
				}
				delete(want, t.arn)
				delete(want, t.id)
				status := "PENDING"
				if !now.Before(t.runningAt) {
					status = "RUNNING"
				}
				containers := []any{}
				if td != nil {
					for _, c := range td.containers {
						containers = append(containers, map[string]any{"name": c.Name, "image": c.Image, "lastStatus": status, "taskArn": t.arn})
					}
				}
				out := map[string]any{
					"taskArn": t.arn, "clusterArn": s.clusterARN, "taskDefinitionArn": ts.taskDefinition, "lastStatus": status,
					"desiredStatus": "RUNNING", "startedBy": ts.id, "group": "service:" + s.name, "launchType": s.launchType,
					"createdAt": wire.EpochSeconds(t.created), "containers": containers,
					"attachments": []any{map[string]any{
						"type": "ElasticNetworkInterface", "status": "ATTACHED",
						"details": []any{map[string]string{"name": "privateIPv4Address", "value": t.ip}},
					}},
				}
				if status == "RUNNING" {
					out["startedAt"] = wire.EpochSeconds(t.runningAt) // when it started, not when it was asked about
				}
				if ts.status == "DRAINING" {
					out["desiredStatus"] = "STOPPED" // its targets drain before it stops
				}
				tasks = append(tasks, out)
			}
		}
	}
	for _, s := range w.sortedServices() {
		for _, st := range s.stopped {
			if !want[st.arn] && !want[st.id] {
				continue
			}
			delete(want, st.arn)
			delete(want, st.id)
			tasks = append(tasks, w.stoppedTaskOut(s, st))
		}
	}
	tasks = w.describeRunTasks(want, tasks)
	for ref := range want {
		failures = append(failures, map[string]string{"arn": ref, "reason": "MISSING"})
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

// stoppedTaskOut is a stopped task as DescribeTasks shows it: the reason, the
// stop code and each container's exit code.
func (w *World) stoppedTaskOut(s *service, st *stoppedTask) map[string]any {
	containers := []any{}
	if td := w.taskDefByARN(st.taskDefinition); td != nil {
		for _, c := range td.containers {
			containers = append(containers, map[string]any{"name": c.Name, "image": c.Image, "lastStatus": "STOPPED", "exitCode": st.exitCode, "taskArn": st.arn})
		}
	}
	return map[string]any{
		"taskArn": st.arn, "clusterArn": s.clusterARN, "taskDefinitionArn": st.taskDefinition,
		"lastStatus": "STOPPED", "desiredStatus": "STOPPED", "startedBy": st.taskSetID, "group": "service:" + s.name, "launchType": s.launchType,
		"createdAt": wire.EpochSeconds(st.created), "startedAt": wire.EpochSeconds(st.runningAt),
		"stoppingAt": wire.EpochSeconds(st.stoppedAt), "stoppedAt": wire.EpochSeconds(st.stoppedAt),
		"stopCode": st.stopCode, "stoppedReason": st.reason, "containers": containers,
	}
}

func (w *World) ecsTagResource(body []byte) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	w.ecsTags[in.ResourceArn] = mergeTags(w.ecsTags[in.ResourceArn], in.Tags)
	return map[string]any{}, nil
}

func (w *World) ecsListTags(body []byte) (any, error) {
	var in struct {
		ResourceArn string `json:"resourceArn"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	return map[string]any{"tags": nonNilTags(w.ecsTags[in.ResourceArn])}, nil
}

func mergeTags(have, add []tag) []tag {
	out := append([]tag(nil), have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

// containerDefaults echoes container definitions as ECS does: members left
// out come back with their defaults (cpu 0, essential true, empty lists), and
// port mappings gain their protocol (and, in awsvpc mode, the host port).
func containerDefaults(raw json.RawMessage, awsvpc bool) any {
	var defs []map[string]any
	if err := json.Unmarshal(raw, &defs); err != nil {
		return raw
	}
	for _, d := range defs {
		for k, v := range map[string]any{"cpu": 0, "essential": true, "environment": []any{}, "mountPoints": []any{}, "volumesFrom": []any{}} {
			if _, ok := d[k]; !ok {
				d[k] = v
			}
		}
		pms, _ := d["portMappings"].([]any)
		for _, pm := range pms {
			m, ok := pm.(map[string]any)
			if !ok {
				continue
			}
			if _, ok := m["protocol"]; !ok {
				m["protocol"] = "tcp"
			}
			if _, ok := m["hostPort"]; !ok && awsvpc {
				m["hostPort"] = m["containerPort"]
			}
		}
		if pms == nil {
			d["portMappings"] = []any{}
		}
	}
	return defs
}

// lastCompleted is the task definition of the service's last completed
// deployment: what the circuit breaker rolls back to.
func (w *World) lastCompleted(s *service) string {
	for i := len(s.serviceDeployments) - 1; i >= 0; i-- {
		d := s.serviceDeployments[i]
		switch d.status {
		case "SUCCESSFUL":
			return d.target
		case "ROLLBACK_SUCCESSFUL":
			return d.source
		}
	}
	return s.taskDefinition
}

func (w *World) serviceDeploymentOut(s *service, d *serviceDeployment, full bool) map[string]any {
	if d.bg != nil {
		return w.bgDeploymentOut(s, d, full)
	}
	out := map[string]any{
		"serviceDeploymentArn": d.arn, "serviceArn": s.arn, "clusterArn": s.clusterARN, "status": d.status,
		"createdAt": wire.EpochSeconds(d.created), "startedAt": wire.EpochSeconds(d.started), "targetServiceRevisionArn": d.targetRev,
	}
	if d.reason != "" {
		out["statusReason"] = d.reason
	}
	if !d.done.IsZero() {
		out["finishedAt"] = wire.EpochSeconds(d.done)
	}
	if full {
		out["targetServiceRevision"] = map[string]any{"arn": d.targetRev, "requestedTaskCount": s.desired, "runningTaskCount": d.taskSet.running(w.now())}
		if d.source != "" {
			out["sourceServiceRevisions"] = []any{map[string]any{"arn": d.sourceRev}}
		}
		out["deploymentConfiguration"] = s.deploymentConfigurationOut()
		updated := d.started
		for _, t := range []time.Time{d.rollbackAt, d.done} {
			if t.After(updated) {
				updated = t
			}
		}
		out["updatedAt"] = wire.EpochSeconds(updated)
		out["deploymentCircuitBreaker"] = map[string]any{"status": d.breakerStatus, "failureCount": d.failures, "threshold": d.threshold}
		if d.rollbackSet != nil {
			out["rollback"] = map[string]any{"reason": d.reason, "startedAt": wire.EpochSeconds(d.rollbackAt), "serviceRevisionArn": d.sourceRev}
		}
	}
	return out
}

func (w *World) listServiceDeployments(body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Service string   `json:"service"`
		Status  []string `json:"status"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Service == "" {
		return nil, invalidParam("service is required.")
	}
	s, err := w.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i := len(s.serviceDeployments) - 1; i >= 0; i-- {
		d := s.serviceDeployments[i]
		if len(in.Status) > 0 && !contains(in.Status, d.status) {
			continue
		}
		out = append(out, w.serviceDeploymentOut(s, d, false))
	}
	return map[string]any{"serviceDeployments": out}, nil
}

func (w *World) findServiceDeployment(arn string) (*service, *serviceDeployment) {
	for _, s := range w.services {
		for _, d := range s.serviceDeployments {
			if d.arn == arn {
				return s, d
			}
		}
	}
	return nil, nil
}

func (w *World) describeServiceDeployments(body []byte) (any, error) {
	var in struct {
		ARNs []string `json:"serviceDeploymentArns"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.ARNs) == 0 || len(in.ARNs) > 20 {
		return nil, invalidParam("serviceDeploymentArns must hold 1 to 20 ARNs.")
	}
	out, failures := []any{}, []any{}
	for _, arn := range in.ARNs {
		s, d := w.findServiceDeployment(arn)
		if d == nil {
			failures = append(failures, map[string]string{"arn": arn, "reason": "MISSING"})
			continue
		}
		out = append(out, w.serviceDeploymentOut(s, d, true))
	}
	return map[string]any{"serviceDeployments": out, "failures": failures}, nil
}

func (w *World) stopServiceDeployment(body []byte) (any, error) {
	var in struct {
		ARN      string `json:"serviceDeploymentArn"`
		StopType string `json:"stopType"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, d := w.findServiceDeployment(in.ARN)
	if d == nil {
		return nil, wire.Errorf("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", in.ARN)
	}
	switch d.status {
	case "IN_PROGRESS", "PENDING":
	case "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS":
		// The ECS guide: a deployment already stopping or rolling back
		// carries on.
		return map[string]string{"serviceDeploymentArn": d.arn}, nil
	default:
		return nil, wire.Errorf("ConflictException", "The service deployment is %s and cannot be stopped.", d.status)
	}
	switch in.StopType {
	case "", "ROLLBACK":
		if d.source == "" {
			return nil, wire.Errorf("ConflictException", "The first deployment of a service has nothing to roll back to.")
		}
		if d.bg != nil {
			w.requestRollback(d, "Service deployment rolled back by StopServiceDeployment.")
			break
		}
		w.rollBackTo(s, d, "stopped with rollback")
	case "ABORT":
		d.status, d.reason, d.done = "STOPPED", "aborted", w.now()
	default:
		return nil, invalidParam("stopType must be ROLLBACK or ABORT.")
	}
	return map[string]string{"serviceDeploymentArn": d.arn}, nil
}
