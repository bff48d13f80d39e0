package awssim

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ECS operations beyond the core of ecs.go: listing and deleting services
// and clusters, untagging, one-off tasks (RunTask/StopTask) and the task set
// API of services with the EXTERNAL deployment controller.
var ecsAdminOps = map[string]func(*World, []byte) (any, error){
	"ListClusters":                (*World).listClusters,
	"DeleteCluster":               (*World).deleteCluster,
	"ListServices":                (*World).listServices,
	"DeleteService":               (*World).deleteService,
	"UntagResource":               (*World).ecsUntagResource,
	"RunTask":                     (*World).runTask,
	"StopTask":                    (*World).stopTaskOp,
	"CreateTaskSet":               (*World).createTaskSet,
	"DescribeTaskSets":            (*World).describeTaskSets,
	"UpdateTaskSet":               (*World).updateTaskSet,
	"UpdateServicePrimaryTaskSet": (*World).updateServicePrimaryTaskSet,
	"DeleteTaskSet":               (*World).deleteTaskSet,
}

// ecsAdminOp answers the operations of ecsAdminOps; ok is false for others.
func (w *World) ecsAdminOp(op string, body []byte) (out any, err error, ok bool) {
	fn := ecsAdminOps[op]
	if fn == nil {
		return nil, nil, false
	}
	out, err = fn(w, body)
	return out, err, true
}

// serviceExt keeps the CreateService/UpdateService members the core does
// not model, as sent, so DescribeServices echoes them.
type serviceExt struct {
	members   map[string]json.RawMessage
	deletedAt time.Time
}

// echoedServiceMembers are the request members a service echoes under the
// same name (role comes back as roleArn).
var echoedServiceMembers = []string{
	"propagateTags", "enableECSManagedTags", "enableExecuteCommand", "deploymentConfiguration", "placementConstraints",
	"placementStrategy", "healthCheckGracePeriodSeconds", "capacityProviderStrategy", "serviceRegistries",
	"availabilityZoneRebalancing", "schedulingStrategy", "role", "serviceConnectConfiguration", "volumeConfigurations",
}

// serviceDrainTime is how long a deleted service shows DRAINING before it
// is INACTIVE.
const serviceDrainTime = 30 * time.Second

// checkServiceExtras checks the members CreateService and UpdateService
// take beyond the core, before anything changes.
func checkServiceExtras(body []byte) error {
	var v struct {
		PropagateTags *string `json:"propagateTags"`
		Scheduling    *string `json:"schedulingStrategy"`
		Grace         *int    `json:"healthCheckGracePeriodSeconds"`
		Deployment    *struct {
			Max *int `json:"maximumPercent"`
			Min *int `json:"minimumHealthyPercent"`
		} `json:"deploymentConfiguration"`
	}
	if err := wire.DecodeJSON(body, &v); err != nil {
		return err
	}
	if p := v.PropagateTags; p != nil && *p != "TASK_DEFINITION" && *p != "SERVICE" && *p != "NONE" {
		return invalidParam("propagateTags must be one of TASK_DEFINITION, SERVICE, NONE.")
	}
	if p := v.Scheduling; p != nil && *p != "REPLICA" && *p != "DAEMON" {
		return invalidParam("schedulingStrategy must be REPLICA or DAEMON.")
	}
	if v.Grace != nil && (*v.Grace < 0 || *v.Grace > 2147483647) {
		return invalidParam("healthCheckGracePeriodSeconds must be at least 0.")
	}
	if d := v.Deployment; d != nil {
		if d.Max != nil && *d.Max < 0 {
			return invalidParam("maximumPercent must be at least 0.")
		}
		if d.Min != nil && (*d.Min < 0 || *d.Min > 100) {
			return invalidParam("minimumHealthyPercent must be between 0 and 100.")
		}
		if d.Max != nil && d.Min != nil && *d.Max < *d.Min {
			return invalidParam("maximumPercent must be at least minimumHealthyPercent.")
		}
	}
	return nil
}

// keepServiceExtras checks and keeps the members CreateService and
// UpdateService take beyond the core.
func (w *World) keepServiceExtras(s *service, body []byte) error {
	if err := checkServiceExtras(body); err != nil {
		return err
	}
	var in map[string]json.RawMessage
	if err := wire.DecodeJSON(body, &in); err != nil {
		return err
	}
	ext := lazyMap(&w.ext.serviceExt)
	e := ext[s.arn]
	if e == nil || !e.deletedAt.IsZero() {
		e = &serviceExt{members: map[string]json.RawMessage{}}
		ext[s.arn] = e
	}
	for _, k := range echoedServiceMembers {
		raw, ok := in[k]
		if !ok || string(raw) == "null" {
			continue
		}
		if k == "deploymentConfiguration" {
			raw = mergeObjects(e.members[k], raw)
		}
		e.members[k] = raw
	}
	return nil
}

// mergeObjects lays the members of over onto base (both JSON objects).
func mergeObjects(base, over json.RawMessage) json.RawMessage {
	var a, b map[string]json.RawMessage
	_ = json.Unmarshal(base, &a)
	if err := json.Unmarshal(over, &b); err != nil {
		return over
	}
	if a == nil {
		a = map[string]json.RawMessage{}
	}
	for k, v := range b {
		a[k] = v
	}
	out, _ := json.Marshal(a)
	return out
}

// serviceExtOut puts the kept members into a service's description, over
// the defaults ECS gives a service that was not told otherwise.
func (w *World) serviceExtOut(s *service, out map[string]any) {
	w.settleDeleted(s)
	out["status"] = s.status
	defaults := map[string]any{"propagateTags": "NONE", "enableECSManagedTags": false, "enableExecuteCommand": false, "availabilityZoneRebalancing": "DISABLED"}
	if s.controller != "ECS" {
		defaults["availabilityZoneRebalancing"] = "DISABLED"
	}
	for k, v := range defaults {
		if _, set := out[k]; !set {
			out[k] = v
		}
	}
	if s.controller == "ECS" {
		dc, _ := out["deploymentConfiguration"].(map[string]any)
		if dc != nil {
			if _, set := dc["deploymentCircuitBreaker"]; !set {
				dc["deploymentCircuitBreaker"] = map[string]bool{"enable": false, "rollback": false}
			}
		}
	}
	if s.taskDefinition == "" {
		delete(out, "taskDefinition")
	}
	e := w.ext.serviceExt[s.arn]
	if e == nil {
		return
	}
	for k, raw := range e.members {
		var v any
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		switch k {
		case "role":
			out["roleArn"] = v
		case "deploymentConfiguration":
			dc, _ := out[k].(map[string]any)
			sent, _ := v.(map[string]any)
			if dc == nil {
				dc = map[string]any{}
			}
			for sk, sv := range sent {
				dc[sk] = sv
			}
			out[k] = dc
		default:
			out[k] = v
		}
	}
}

// settleDeleted turns a deleted service INACTIVE once it has drained.
func (w *World) settleDeleted(s *service) {
	if e := w.ext.serviceExt[s.arn]; e != nil && s.status == "DRAINING" && !e.deletedAt.IsZero() && !w.now().Before(e.deletedAt.Add(serviceDrainTime)) {
		s.status = "INACTIVE"
	}
}

func (w *World) listClusters(body []byte) (any, error) {
	var in struct {
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, invalidParam("maxResults must be between 1 and 100.")
	}
	all := sortedByKey(w.clusters)
	return paginate(all, in.MaxResults, in.NextToken, 100, func(c *cluster) string { return c.ARN }, "clusterArns")
}

// deleteCluster removes a cluster that has no active services and no
// running tasks. ECS keeps a deleted cluster visible as INACTIVE for a
// while; here DescribeClusters answers it as MISSING at once.
func (w *World) deleteCluster(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Cluster == "" {
		return nil, invalidParam("cluster is required.")
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	for _, s := range w.services {
		w.settleDeleted(s)
		if s.cluster == c.Name && (s.status == "ACTIVE" || s.status == "DRAINING") {
			return nil, wire.Errorf("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
		}
	}
	now := w.now()
	for _, t := range w.ext.tasks {
		if t.cluster == c.Name && t.stoppedAt.IsZero() || (t.cluster == c.Name && now.Before(t.stoppedAt)) {
			return nil, wire.Errorf("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
		}
	}
	out := w.clusterOut(c)
	out["status"] = "INACTIVE"
	delete(w.clusters, c.Name)
	return map[string]any{"cluster": out}, nil
}

func (w *World) listServices(body []byte) (any, error) {
	var in struct {
		Cluster    string `json:"cluster"`
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
		LaunchType string `json:"launchType"`
		Scheduling string `json:"schedulingStrategy"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, invalidParam("maxResults must be between 1 and 100.")
	}
	var all []*service
	for _, s := range w.sortedServices() {
		w.settleDeleted(s)
		if s.cluster != c.Name || s.status == "INACTIVE" {
			continue
		}
		if in.LaunchType != "" && s.launchType != in.LaunchType {
			continue
		}
		if in.Scheduling != "" && w.schedulingOf(s) != in.Scheduling {
			continue
		}
		all = append(all, s)
	}
	return paginate(all, in.MaxResults, in.NextToken, 10, func(s *service) string { return s.arn }, "serviceArns")
}

func (w *World) schedulingOf(s *service) string {
	if e := w.ext.serviceExt[s.arn]; e != nil {
		var v string
		if json.Unmarshal(e.members["schedulingStrategy"], &v) == nil && v != "" {
			return v
		}
	}
	return "REPLICA"
}

// deleteService drains a service: it must be scaled to zero first unless
// force is set; its tasks stop, it shows DRAINING, then INACTIVE.
func (w *World) deleteService(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Service string `json:"service"`
		Force   bool   `json:"force"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, err := w.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	w.settleDeleted(s)
	if s.status != "ACTIVE" {
		return nil, wire.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if s.desired > 0 && !in.Force && w.schedulingOf(s) == "REPLICA" {
		return nil, invalidParam("The service cannot be stopped while it is scaled above 0.")
	}
	for _, g := range w.groups {
		if g.cluster == s.cluster && g.service == s.name {
			for _, d := range w.deployments {
				if d.app == g.app && d.group == g.name && isActive(d.status) {
					return nil, invalidParam("The service has an active CodeDeploy deployment %s; stop it first.", d.id)
				}
			}
		}
	}
	s.desired = 0
	for _, ts := range append([]*taskSet(nil), s.taskSets...) {
		w.removeTaskSet(s, ts)
	}
	s.status = "DRAINING"
	ext := lazyMap(&w.ext.serviceExt)
	if ext[s.arn] == nil {
		ext[s.arn] = &serviceExt{members: map[string]json.RawMessage{}}
	}
	ext[s.arn].deletedAt = w.now()
	return map[string]any{"service": w.serviceOut(s)}, nil
}

func (w *World) ecsResourceExists(arn string) bool {
	for _, c := range w.clusters {
		if c.ARN == arn {
			return true
		}
	}
	for _, s := range w.services {
		if s.arn == arn {
			return true
		}
		for _, ts := range s.taskSets {
			if ts.arn == arn {
				return true
			}
		}
	}
	for _, revs := range w.taskDefs {
		for _, td := range revs {
			if td != nil && td.arn == arn {
				return true
			}
		}
	}
	_, task := w.ext.tasks[arn]
	return task
}

func (w *World) ecsUntagResource(body []byte) (any, error) {
	var in struct {
		ResourceArn string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.ResourceArn, "arn:aws:ecs:") {
		return nil, invalidParam("Invalid resource ARN %q.", in.ResourceArn)
	}
	if !w.ecsResourceExists(in.ResourceArn) {
		return nil, wire.Errorf("ResourceNotFoundException", "The specified resource could not be found.")
	}
	var kept []tag
	for _, t := range w.ecsTags[in.ResourceArn] {
		if !contains(in.TagKeys, t.Key) {
			kept = append(kept, t)
		}
	}
	w.ecsTags[in.ResourceArn] = kept
	return map[string]any{}, nil
}

// runTask is a task RunTask started: a one-off task, such as a database
// migration, that runs for runTaskDuration and exits.
type runTask struct {
	task
	cluster, clusterARN, taskDef, group, startedBy, launchType string
	network                                                    json.RawMessage
	overrides                                                  json.RawMessage
	stoppedAt, stoppingAt                                      time.Time
	stopCode, reason                                           string
	exitCode                                                   int
}

// runTaskDuration is how long a one-off task's essential container runs
// before it exits with code 0 (a migration, a batch job). A test that needs
// a failing or longer task stops it with StopTask.
const runTaskDuration = 30 * time.Second

func (w *World) runTask(body []byte) (any, error) {
	var in struct {
		Cluster        string          `json:"cluster"`
		TaskDefinition string          `json:"taskDefinition"`
		Count          *int            `json:"count"`
		LaunchType     string          `json:"launchType"`
		Network        json.RawMessage `json:"networkConfiguration"`
		Overrides      json.RawMessage `json:"overrides"`
		StartedBy      string          `json:"startedBy"`
		Group          string          `json:"group"`
		Tags           []tag           `json:"tags"`
		PropagateTags  string          `json:"propagateTags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition is required.")
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if td.status != "ACTIVE" {
		return nil, clientErr("TaskDefinition is inactive")
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("count must be between 1 and 10.")
	}
	if len(in.StartedBy) > 128 {
		return nil, invalidParam("startedBy must be at most 128 characters.")
	}
	var mode string
	if raw, ok := td.input["networkMode"]; ok {
		_ = json.Unmarshal(raw, &mode)
	}
	if mode == "awsvpc" && len(in.Network) == 0 {
		return nil, invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if in.LaunchType == "" {
		in.LaunchType = "EC2"
	}
	if in.Group == "" {
		in.Group = "family:" + td.family
	}
	now := w.now()
	tasks := lazyMap(&w.ext.tasks)
	out := []any{}
	for range count {
		w.nextIP++
		t := &runTask{
			task:    task{id: hexID(32), created: now, runningAt: now.Add(taskStartDelay), ip: fmt.Sprintf("10.0.%d.%d", w.nextIP/250, w.nextIP%250+2)},
			cluster: c.Name, clusterARN: c.ARN, taskDef: td.arn, group: in.Group, startedBy: in.StartedBy, launchType: in.LaunchType,
			network: in.Network, overrides: in.Overrides,
		}
		t.arn = w.arn("ecs", "task/"+c.Name+"/"+t.id)
		t.stoppingAt = t.runningAt.Add(runTaskDuration)
		t.stoppedAt = t.stoppingAt
		t.stopCode, t.reason = "EssentialContainerExited", "Essential container in task exited"
		tasks[t.arn] = t
		if len(in.Tags) > 0 {
			w.ecsTags[t.arn] = in.Tags
		}
		out = append(out, w.runTaskOut(t))
	}
	return map[string]any{"tasks": out, "failures": []any{}}, nil
}

// status is the task's lastStatus and desiredStatus now. A task stopped
// while PENDING never runs.
func (t *runTask) status(now time.Time) (last, desired string) {
	switch {
	case !now.Before(t.stoppedAt):
		return "STOPPED", "STOPPED"
	case !now.Before(t.stoppingAt):
		return "DEACTIVATING", "STOPPED"
	case now.Before(t.runningAt):
		return "PENDING", "RUNNING"
	}
	return "RUNNING", "RUNNING"
}

// ran tells whether the task's container started before it was stopped.
func (t *runTask) ran() bool { return t.runningAt.Before(t.stoppingAt) }

func (w *World) runTaskOut(t *runTask) map[string]any {
	now := w.now()
	last, desired := t.status(now)
	td, _ := w.findTaskDef(t.taskDef)
	containers := []any{}
	if td != nil {
		for _, c := range td.containers {
			co := map[string]any{"name": c.Name, "image": c.Image, "lastStatus": last, "taskArn": t.arn}
			if last == "STOPPED" && t.ran() {
				co["exitCode"] = t.exitCode
			}
			containers = append(containers, co)
		}
	}
	out := map[string]any{
		"taskArn": t.arn, "clusterArn": t.clusterARN, "taskDefinitionArn": t.taskDef, "lastStatus": last, "desiredStatus": desired,
		"group": t.group, "launchType": t.launchType, "createdAt": wire.EpochSeconds(t.created), "containers": containers,
		"attachments": []any{map[string]any{
			"type": "ElasticNetworkInterface", "status": "ATTACHED",
			"details": []any{map[string]string{"name": "privateIPv4Address", "value": t.ip}},
		}},
		"tags": nonNilTags(w.ecsTags[t.arn]), "version": 1,
	}
	if t.startedBy != "" {
		out["startedBy"] = t.startedBy
	}
	if len(t.overrides) > 0 {
		out["overrides"] = t.overrides
	} else {
		out["overrides"] = map[string]any{"containerOverrides": []any{}, "inferenceAcceleratorOverrides": []any{}}
	}
	if !now.Before(t.runningAt) && t.ran() {
		out["startedAt"] = wire.EpochSeconds(t.runningAt)
	}
	if desired == "STOPPED" {
		out["stoppingAt"] = wire.EpochSeconds(t.stoppingAt)
		out["stopCode"], out["stoppedReason"] = t.stopCode, t.reason
	}
	if last == "STOPPED" {
		out["stoppedAt"], out["executionStoppedAt"] = wire.EpochSeconds(t.stoppedAt), wire.EpochSeconds(t.stoppedAt)
	}
	return out
}

// runTaskArns adds the one-off tasks ListTasks selects to arns.
func (w *World) runTaskArns(arns []string, clusterName, startedBy, desiredStatus, family string) []string {
	now := w.now()
	var keys []string
	for k := range w.ext.tasks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := w.ext.tasks[k]
		if t.cluster != clusterName || (startedBy != "" && t.startedBy != startedBy) || (family != "" && t.group != "family:"+family) {
			continue
		}
		_, desired := t.status(now)
		if desired == "STOPPED" && now.Sub(t.stoppedAt) >= stoppedTaskRetention {
			continue
		}
		if (desiredStatus == "STOPPED") == (desired == "STOPPED") {
			arns = append(arns, t.arn)
		}
	}
	return arns
}

// describeRunTasks adds the one-off tasks among want to tasks and takes
// them out of want.
func (w *World) describeRunTasks(want map[string]bool, tasks []any) []any {
	for ref := range want {
		t := w.ext.tasks[ref]
		if t == nil {
			for _, x := range w.ext.tasks {
				if x.id == ref {
					t = x
				}
			}
		}
		if t == nil {
			continue
		}
		delete(want, ref)
		tasks = append(tasks, w.runTaskOut(t))
	}
	return tasks
}

// stopTaskOp stops a one-off task, or a service's task (which the service
// then replaces), with the caller's reason and stop code UserInitiated.
func (w *World) stopTaskOp(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c, err := w.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Task == "" {
		return nil, invalidParam("task is required.")
	}
	if len(in.Reason) > 1024 {
		return nil, invalidParam("reason must be at most 1024 characters.")
	}
	now := w.now()
	for _, t := range w.ext.tasks {
		if t.cluster != c.Name || (t.arn != in.Task && t.id != in.Task) {
			continue
		}
		if _, desired := t.status(now); desired == "RUNNING" {
			// The container gets SIGTERM and exits at once.
			t.stoppingAt, t.stoppedAt = now, now.Add(time.Second)
			t.stopCode, t.reason, t.exitCode = "UserInitiated", in.Reason, 143
			if t.reason == "" {
				t.reason = "Task stopped by user"
			}
		}
		return map[string]any{"task": w.runTaskOut(t)}, nil
	}
	for _, s := range w.sortedServices() {
		if s.cluster != c.Name {
			continue
		}
		for _, ts := range s.taskSets {
			for _, t := range ts.tasks {
				if t.arn != in.Task && t.id != in.Task {
					continue
				}
				reason := in.Reason
				if reason == "" {
					reason = "Task stopped by user"
				}
				w.stopTask(s, ts, t, reason, 143, now)
				st := s.stopped[len(s.stopped)-1]
				st.stopCode = "UserInitiated"
				w.scaleTaskSet(s, ts) // the service replaces it
				return map[string]any{"task": w.stoppedTaskOut(s, st)}, nil
			}
		}
	}
	return nil, invalidParam("The referenced task was not found.")
}

// externalService is a service whose task sets the caller manages.
func (w *World) externalService(clusterName, name string) (*service, error) {
	if clusterName == "" {
		return nil, invalidParam("cluster is required.")
	}
	if name == "" {
		return nil, invalidParam("service is required.")
	}
	s, err := w.service(clusterName, name)
	if err != nil {
		return nil, err
	}
	w.settleDeleted(s)
	if s.status != "ACTIVE" {
		return nil, wire.Errorf("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	if s.controller != "EXTERNAL" {
		return nil, invalidParam("Amazon ECS only supports task set management on services configured to use external deployment controllers.")
	}
	return s, nil
}

// externalTaskSet is a task set of an EXTERNAL-controller service, by id or
// ARN, as UpdateTaskSet, UpdateServicePrimaryTaskSet and DeleteTaskSet name
// it.
func (w *World) externalTaskSet(clusterName, serviceName, ref string) (*service, *taskSet, error) {
	s, err := w.externalService(clusterName, serviceName)
	if err != nil {
		return nil, nil, err
	}
	ts := w.findTaskSet(s, ref)
	if ts == nil {
		return nil, nil, wire.Errorf("TaskSetNotFoundException", "The specified task set does not exist.")
	}
	return s, ts, nil
}

func (w *World) findTaskSet(s *service, ref string) *taskSet {
	for _, ts := range s.taskSets {
		if ts.id == ref || ts.arn == ref {
			return ts
		}
	}
	return nil
}

type scaleIn struct {
	Value *float64 `json:"value"`
	Unit  string   `json:"unit"`
}

func (sc *scaleIn) value() (float64, error) {
	if sc == nil || sc.Value == nil {
		return 100, nil
	}
	if sc.Unit != "" && sc.Unit != "PERCENT" {
		return 0, invalidParam("scale unit must be PERCENT.")
	}
	if *sc.Value < 0 || *sc.Value > 100 {
		return 0, invalidParam("scale value must be between 0 and 100.")
	}
	return *sc.Value, nil
}

func (w *World) createTaskSet(body []byte) (any, error) {
	var in struct {
		Cluster         string          `json:"cluster"`
		Service         string          `json:"service"`
		ExternalID      string          `json:"externalId"`
		TaskDefinition  string          `json:"taskDefinition"`
		LoadBalancers   []lbRef         `json:"loadBalancers"`
		LaunchType      string          `json:"launchType"`
		PlatformVersion string          `json:"platformVersion"`
		Network         json.RawMessage `json:"networkConfiguration"`
		Scale           *scaleIn        `json:"scale"`
		Tags            []tag           `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, err := w.externalService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("taskDefinition is required.")
	}
	td, err := w.findTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	scale, err := in.Scale.value()
	if err != nil {
		return nil, err
	}
	if len(in.LoadBalancers) > 1 {
		return nil, invalidParam("A task set can have at most one load balancer.")
	}
	for _, lb := range in.LoadBalancers {
		if _, ok := w.targetGroups[lb.TargetGroupArn]; !ok {
			return nil, invalidParam("The target group %s does not exist.", lb.TargetGroupArn)
		}
		if !td.hasPort(lb.ContainerName, lb.ContainerPort) {
			return nil, invalidParam("The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort)
		}
	}
	if len(in.Network) > 0 && len(s.network) == 0 {
		s.network = in.Network
	}
	if in.LaunchType != "" {
		s.launchType = in.LaunchType
	}
	if len(s.taskSets) >= 5 {
		return nil, wire.Errorf("LimitExceededException", "A service can have at most 5 task sets.")
	}
	if in.PlatformVersion != "" && s.platformVersion == "" {
		s.platformVersion = in.PlatformVersion
	}
	ts := w.newTaskSetScaled(s, td.arn, in.LoadBalancers, in.ExternalID, scale)
	s.taskSets = append(s.taskSets, ts)
	if len(in.Tags) > 0 {
		w.ecsTags[ts.arn] = in.Tags
	}
	return map[string]any{"taskSet": w.externalTaskSetOut(s, ts)}, nil
}

// newTaskSetScaled is newTaskSet at a scale other than 100%.
func (w *World) newTaskSetScaled(s *service, taskDefARN string, lbs []lbRef, externalID string, scale float64) *taskSet {
	desired := s.desired
	s.desired = 0 // start no task before the scale is known
	ts := w.newTaskSet(s, taskDefARN, lbs, "", externalID)
	s.desired = desired
	ts.scale = scale
	w.scaleTaskSet(s, ts)
	return ts
}

func (w *World) describeTaskSets(body []byte) (any, error) {
	var in struct {
		Cluster  string   `json:"cluster"`
		Service  string   `json:"service"`
		TaskSets []string `json:"taskSets"`
		Include  []string `json:"include"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, err := w.externalService(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	out, failures := []any{}, []any{}
	add := func(ts *taskSet) {
		o := w.externalTaskSetOut(s, ts)
		if contains(in.Include, "TAGS") {
			o["tags"] = nonNilTags(w.ecsTags[ts.arn])
		}
		out = append(out, o)
	}
	if len(in.TaskSets) == 0 {
		for _, ts := range s.taskSets {
			add(ts)
		}
	}
	for _, ref := range in.TaskSets {
		if ts := w.findTaskSet(s, ref); ts != nil {
			add(ts)
		} else {
			failures = append(failures, map[string]string{"arn": ref, "reason": "MISSING"})
		}
	}
	return map[string]any{"taskSets": out, "failures": failures}, nil
}

func (w *World) updateTaskSet(body []byte) (any, error) {
	var in struct {
		Cluster string   `json:"cluster"`
		Service string   `json:"service"`
		TaskSet string   `json:"taskSet"`
		Scale   *scaleIn `json:"scale"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, ts, err := w.externalTaskSet(in.Cluster, in.Service, in.TaskSet)
	if err != nil {
		return nil, err
	}
	if in.Scale == nil {
		return nil, invalidParam("scale is required.")
	}
	scale, err := in.Scale.value()
	if err != nil {
		return nil, err
	}
	ts.scale, ts.updated, ts.stableAt = scale, w.now(), time.Time{}
	w.scaleTaskSet(s, ts)
	return map[string]any{"taskSet": w.externalTaskSetOut(s, ts)}, nil
}

func (w *World) updateServicePrimaryTaskSet(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Service string `json:"service"`
		Primary string `json:"primaryTaskSet"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, ts, err := w.externalTaskSet(in.Cluster, in.Service, in.Primary)
	if err != nil {
		return nil, err
	}
	if ts.status == "DRAINING" {
		return nil, invalidParam("A DRAINING task set cannot become the primary task set.")
	}
	now := w.now()
	for _, other := range s.taskSets {
		if other != ts && other.status == "PRIMARY" {
			other.status, other.updated = "ACTIVE", now
		}
	}
	ts.status, ts.updated = "PRIMARY", now
	s.taskDefinition = ts.taskDefinition
	return map[string]any{"taskSet": w.externalTaskSetOut(s, ts)}, nil
}

func (w *World) deleteTaskSet(body []byte) (any, error) {
	var in struct {
		Cluster string `json:"cluster"`
		Service string `json:"service"`
		TaskSet string `json:"taskSet"`
		Force   bool   `json:"force"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	s, ts, err := w.externalTaskSet(in.Cluster, in.Service, in.TaskSet)
	if err != nil {
		return nil, err
	}
	if ts.status == "PRIMARY" && !in.Force {
		return nil, invalidParam("The primary task set cannot be deleted; make another task set primary first, or use force.")
	}
	if ts.scale > 0 && !in.Force {
		return nil, invalidParam("The task set must be scaled to 0 before it is deleted, or use force.")
	}
	ts.status, ts.updated = "DRAINING", w.now()
	out := w.externalTaskSetOut(s, ts)
	out["status"] = "DRAINING"
	w.removeTaskSet(s, ts)
	if s.taskDefinition == ts.taskDefinition && w.primaryOf(s) == nil {
		s.taskDefinition = ""
	}
	return map[string]any{"taskSet": out}, nil
}

// externalTaskSetOut is a task set of an EXTERNAL service as the task set
// API answers it: with its tags, and the members ECS fills for a launch
// type (an empty capacityProviderStrategy, Fargate's LATEST platform).
func (w *World) externalTaskSetOut(s *service, ts *taskSet) map[string]any {
	out := w.taskSetOut(s, ts)
	out["tags"] = nonNilTags(w.ecsTags[ts.arn])
	out["capacityProviderStrategy"] = []any{}
	if ts.loadBalancers == nil {
		out["loadBalancers"] = []any{}
	}
	if _, ok := out["platformVersion"]; !ok && s.launchType == "FARGATE" {
		out["platformVersion"] = "LATEST"
	}
	return out
}

func (w *World) primaryOf(s *service) *taskSet {
	for _, ts := range s.taskSets {
		if ts.status == "PRIMARY" {
			return ts
		}
	}
	return nil
}
