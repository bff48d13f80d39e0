package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// ECS lifecycle events in order (aws-facts §2.3).
var ecsEvents = []string{"BeforeInstall", "Install", "AfterInstall", "AllowTestTraffic", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"}

// hookEvents are the events an appspec may attach a Lambda to.
var hookEvents = map[string]bool{"BeforeInstall": true, "AfterInstall": true, "AfterAllowTestTraffic": true, "BeforeAllowTraffic": true, "AfterAllowTraffic": true}

const (
	hookTimeout = time.Hour
	// installTimeout bounds how long the replacement may take to become healthy.
	installTimeout = 60 * time.Minute
	// stopDelay is how long CodeDeploy takes from answering StopDeployment
	// with Pending to the deployment being Stopped.
	stopDelay = 2 * time.Second
)

type application struct {
	name, id string
	created  time.Time
}

type deploymentGroup struct {
	app, name, id, serviceRole, config string
	cluster, service                   string
	tgNames                            []string
	prodListener, testListener         string
	readyAction                        string
	readyWait                          int
	terminationWait                    int
	alarmsEnabled, ignorePoll          bool
	alarms                             []string
	rollbackEnabled                    bool
	rollbackEvents                     []string
	lastSuccessful, lastAttempted      string
}

type deploymentConfig struct {
	name, id, typ     string
	percent, interval int
	created           time.Time
}

type lifecycleEvent struct {
	status     string
	start, end time.Time
	errorCode  string
	message    string
}

type hookExecution struct {
	id, lambda, status string
	started            time.Time
}

type deployment struct {
	id, app, group, config, creator, description string
	status                                       string
	created, started, completed                  time.Time
	appspecSHA                                   string
	taskDef, container                           string
	port                                         int
	errorCode, errorMessage                      string
	rollbackOf, rolledBackBy, rollbackMessage    string
	rollbackEnabled                              bool
	rollbackEvents                               []string
	events                                       map[string]*lifecycleEvent
	hooks                                        map[string]*hookExecution
	phase                                        int // index into ecsEvents; len(ecsEvents) = termination wait; -1 before start
	ready                                        bool
	readySince                                   time.Time
	trafficStart                                 time.Time
	terminationSince                             time.Time
	continued, finish                            bool
	blue, green                                  *taskSet
	blueTG, greenTG                              string
	// blueTaskDef is what the original task set ran: a rollback starts it
	// again when the original set is gone.
	blueTaskDef  string
	greenWeight  float64
	weightAt     time.Time
	targetStatus string
	// stopAt is when StopDeployment was called (Stopped follows stopDelay
	// later), stopRollback whether it asked for a rollback.
	stopAt       time.Time
	stopRollback bool
}

func predefinedConfigs(now time.Time) map[string]*deploymentConfig {
	out := map[string]*deploymentConfig{}
	for _, c := range []deploymentConfig{
		{name: "CodeDeployDefault.ECSAllAtOnce", typ: "AllAtOnce"},
		{name: "CodeDeployDefault.ECSCanary10Percent5Minutes", typ: "TimeBasedCanary", percent: 10, interval: 5},
		{name: "CodeDeployDefault.ECSCanary10Percent15Minutes", typ: "TimeBasedCanary", percent: 10, interval: 15},
		{name: "CodeDeployDefault.ECSLinear10PercentEvery1Minutes", typ: "TimeBasedLinear", percent: 10, interval: 1},
		{name: "CodeDeployDefault.ECSLinear10PercentEvery3Minutes", typ: "TimeBasedLinear", percent: 10, interval: 3},
	} {
		c := c
		c.id, c.created = hexID(8)+"-"+hexID(4)+"-"+hexID(4)+"-"+hexID(4)+"-"+hexID(12), now
		out[c.name] = &c
	}
	return out
}

func cdErr(shape, format string, args ...any) error { return wire.Errorf(shape, format, args...) }

func (w *World) codeDeployOp(op string, body []byte) (any, error) {
	switch op {
	case "CreateApplication":
		return w.createApplication(body)
	case "GetApplication":
		return w.getApplication(body)
	case "ListApplications":
		return w.listApplications()
	case "CreateDeploymentGroup":
		return w.createDeploymentGroup(body)
	case "GetDeploymentGroup":
		return w.getDeploymentGroup(body)
	case "ListDeploymentGroups":
		return w.listDeploymentGroups(body)
	case "CreateDeploymentConfig":
		return w.createDeploymentConfig(body)
	case "GetDeploymentConfig":
		return w.getDeploymentConfig(body)
	case "CreateDeployment":
		return w.createDeployment(body)
	case "GetDeployment":
		return w.getDeployment(body)
	case "BatchGetDeployments":
		return w.batchGetDeployments(body)
	case "ListDeployments":
		return w.listDeployments(body)
	case "ListDeploymentTargets":
		return w.listDeploymentTargets(body)
	case "GetDeploymentTarget":
		return w.getDeploymentTarget(body)
	case "BatchGetDeploymentTargets":
		return w.batchGetDeploymentTargets(body)
	case "ContinueDeployment":
		return w.continueDeployment(body)
	case "StopDeployment":
		return w.stopDeployment(body)
	case "PutLifecycleEventHookExecutionStatus":
		return w.putHookStatus(body)
	}
	if out, err, ok := w.codeDeployAdminOp(op, body); ok {
		return out, err
	}
	return nil, wire.Errorf("UnknownOperationException", "the CodeDeploy simulator does not implement %s", op)
}

func (w *World) createApplication(body []byte) (any, error) {
	var in struct {
		ApplicationName string `json:"applicationName"`
		ComputePlatform string `json:"computePlatform"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.ApplicationName == "" {
		return nil, cdErr("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	if w.applications[in.ApplicationName] != nil {
		return nil, cdErr("ApplicationAlreadyExistsException", "%s already exists in the account", in.ApplicationName)
	}
	if in.ComputePlatform != "ECS" {
		return nil, cdErr("InvalidComputePlatformException", "This simulator supports only the ECS compute platform.")
	}
	a := &application{name: in.ApplicationName, id: hexID(8) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(12), created: w.now()}
	w.applications[a.name] = a
	w.keepApplicationExtras(a.name, body)
	return map[string]string{"applicationId": a.id}, nil
}

func (w *World) app(name string) (*application, error) {
	if name == "" {
		return nil, cdErr("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	a := w.applications[name]
	if a == nil {
		return nil, cdErr("ApplicationDoesNotExistException", "No application found for name: %s", name)
	}
	return a, nil
}

func (w *World) getApplication(body []byte) (any, error) {
	var in struct {
		ApplicationName string `json:"applicationName"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	a, err := w.app(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"application": map[string]any{"applicationId": a.id, "applicationName": a.name, "computePlatform": "ECS", "createTime": wire.EpochSeconds(a.created), "linkedToGitHub": false}}, nil
}

func (w *World) listApplications() (any, error) {
	names := []string{}
	for n := range w.applications {
		names = append(names, n)
	}
	sort.Strings(names)
	return map[string]any{"applications": names}, nil
}

type dgInput struct {
	ApplicationName      string `json:"applicationName"`
	DeploymentGroupName  string `json:"deploymentGroupName"`
	CurrentGroupName     string `json:"currentDeploymentGroupName"`
	NewGroupName         string `json:"newDeploymentGroupName"`
	DeploymentConfigName string `json:"deploymentConfigName"`
	ServiceRoleArn       string `json:"serviceRoleArn"`
	EcsServices          []struct {
		ServiceName string `json:"serviceName"`
		ClusterName string `json:"clusterName"`
	} `json:"ecsServices"`
	DeploymentStyle *struct {
		DeploymentType   string `json:"deploymentType"`
		DeploymentOption string `json:"deploymentOption"`
	} `json:"deploymentStyle"`
	BlueGreen *struct {
		Ready *struct {
			ActionOnTimeout   string `json:"actionOnTimeout"`
			WaitTimeInMinutes int    `json:"waitTimeInMinutes"`
		} `json:"deploymentReadyOption"`
		Terminate *struct {
			Action                       string `json:"action"`
			TerminationWaitTimeInMinutes int    `json:"terminationWaitTimeInMinutes"`
		} `json:"terminateBlueInstancesOnDeploymentSuccess"`
	} `json:"blueGreenDeploymentConfiguration"`
	LoadBalancerInfo *struct {
		TargetGroupPairInfoList []struct {
			TargetGroups []struct {
				Name string `json:"name"`
			} `json:"targetGroups"`
			ProdTrafficRoute *struct {
				ListenerArns []string `json:"listenerArns"`
			} `json:"prodTrafficRoute"`
			TestTrafficRoute *struct {
				ListenerArns []string `json:"listenerArns"`
			} `json:"testTrafficRoute"`
		} `json:"targetGroupPairInfoList"`
	} `json:"loadBalancerInfo"`
	AlarmConfiguration *struct {
		Enabled                bool `json:"enabled"`
		IgnorePollAlarmFailure bool `json:"ignorePollAlarmFailure"`
		Alarms                 []struct {
			Name string `json:"name"`
		} `json:"alarms"`
	} `json:"alarmConfiguration"`
	AutoRollback *struct {
		Enabled bool     `json:"enabled"`
		Events  []string `json:"events"`
	} `json:"autoRollbackConfiguration"`
}

func (w *World) createDeploymentGroup(body []byte) (any, error) {
	var in dgInput
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := w.app(in.ApplicationName); err != nil {
		return nil, err
	}
	if in.DeploymentGroupName == "" {
		return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
	}
	if w.groups[in.ApplicationName+"/"+in.DeploymentGroupName] != nil {
		return nil, cdErr("DeploymentGroupAlreadyExistsException", "A deployment group with the specified name already exists with the application.")
	}
	if in.ServiceRoleArn == "" {
		return nil, cdErr("RoleRequiredException", "The role ID was not specified.")
	}
	g := &deploymentGroup{app: in.ApplicationName, name: in.DeploymentGroupName, id: hexID(8) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(12)}
	if err := w.applyGroup(g, in); err != nil {
		return nil, err
	}
	if err := w.keepGroupExtras(g, body, true); err != nil {
		return nil, err
	}
	w.groups[g.app+"/"+g.name] = g
	return map[string]string{"deploymentGroupId": g.id}, nil
}

func (w *World) applyGroup(g *deploymentGroup, in dgInput) error {
	if in.ServiceRoleArn != "" {
		g.serviceRole = in.ServiceRoleArn
	}
	g.config = in.DeploymentConfigName
	if g.config == "" {
		g.config = "CodeDeployDefault.ECSAllAtOnce"
	}
	if w.configs[g.config] == nil {
		return cdErr("DeploymentConfigDoesNotExistException", "The deployment configuration %s does not exist", g.config)
	}
	if in.DeploymentStyle == nil || in.DeploymentStyle.DeploymentType != "BLUE_GREEN" || in.DeploymentStyle.DeploymentOption != "WITH_TRAFFIC_CONTROL" {
		return cdErr("InvalidDeploymentStyleException", "For ECS deployments the deployment style must be BLUE_GREEN with WITH_TRAFFIC_CONTROL.")
	}
	if len(in.EcsServices) != 1 {
		return cdErr("InvalidECSServiceException", "An ECS deployment group needs exactly one ECS service.")
	}
	svc, err := w.service(in.EcsServices[0].ClusterName, in.EcsServices[0].ServiceName)
	if err != nil {
		return cdErr("ECSServiceMappingLimitExceededException", "The ECS service %s was not found in cluster %s.", in.EcsServices[0].ServiceName, in.EcsServices[0].ClusterName)
	}
	if svc.controller != "CODE_DEPLOY" {
		return cdErr("InvalidECSServiceException", "The ECS service %s does not use the CODE_DEPLOY deployment controller.", svc.name)
	}
	for _, other := range w.groups {
		if other != g && other.cluster == svc.cluster && other.service == svc.name {
			return cdErr("ECSServiceMappingLimitExceededException", "The ECS service %s is already in deployment group %s/%s.", svc.name, other.app, other.name)
		}
	}
	g.cluster, g.service = svc.cluster, svc.name
	if in.LoadBalancerInfo == nil || len(in.LoadBalancerInfo.TargetGroupPairInfoList) != 1 {
		return cdErr("InvalidLoadBalancerInfoException", "An ECS deployment group needs one target group pair.")
	}
	pair := in.LoadBalancerInfo.TargetGroupPairInfoList[0]
	if len(pair.TargetGroups) != 2 {
		return cdErr("InvalidTargetGroupPairException", "A target group pair needs two target groups.")
	}
	g.tgNames = nil
	for _, tg := range pair.TargetGroups {
		if w.tgByName(tg.Name) == nil {
			return cdErr("InvalidTargetGroupPairException", "Target group %s does not exist.", tg.Name)
		}
		g.tgNames = append(g.tgNames, tg.Name)
	}
	if pair.ProdTrafficRoute == nil || len(pair.ProdTrafficRoute.ListenerArns) != 1 {
		return cdErr("InvalidTrafficRoutingConfigurationException", "The production traffic route needs exactly one listener.")
	}
	g.prodListener = pair.ProdTrafficRoute.ListenerArns[0]
	if w.listeners[g.prodListener] == nil {
		return cdErr("InvalidTargetGroupPairException", "Listener %s does not exist.", g.prodListener)
	}
	g.testListener = ""
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) > 0 {
		g.testListener = pair.TestTrafficRoute.ListenerArns[0]
		if w.listeners[g.testListener] == nil {
			return cdErr("InvalidTargetGroupPairException", "Listener %s does not exist.", g.testListener)
		}
	}
	g.readyAction, g.readyWait, g.terminationWait = "CONTINUE_DEPLOYMENT", 0, 0
	if bg := in.BlueGreen; bg != nil {
		if bg.Ready != nil {
			g.readyAction, g.readyWait = bg.Ready.ActionOnTimeout, bg.Ready.WaitTimeInMinutes
			if g.readyAction == "" {
				g.readyAction = "CONTINUE_DEPLOYMENT"
			}
			if g.readyWait > 7200 {
				return cdErr("InvalidBlueGreenDeploymentConfigurationException", "The ready wait for ECS is at most 7200 minutes.")
			}
		}
		if bg.Terminate != nil {
			g.terminationWait = bg.Terminate.TerminationWaitTimeInMinutes
			if g.terminationWait > 2880 {
				return cdErr("InvalidBlueGreenDeploymentConfigurationException", "The termination wait is at most 2880 minutes.")
			}
		}
	}
	g.alarmsEnabled, g.ignorePoll, g.alarms = false, false, nil
	if a := in.AlarmConfiguration; a != nil {
		g.alarmsEnabled, g.ignorePoll = a.Enabled, a.IgnorePollAlarmFailure
		if len(a.Alarms) > 10 {
			return cdErr("AlarmsLimitExceededException", "At most 10 alarms.")
		}
		for _, al := range a.Alarms {
			g.alarms = append(g.alarms, al.Name)
		}
	}
	g.rollbackEnabled, g.rollbackEvents = false, nil
	if r := in.AutoRollback; r != nil {
		g.rollbackEnabled, g.rollbackEvents = r.Enabled, r.Events
	}
	return nil
}

func (w *World) tgByName(name string) *targetGroup {
	for _, tg := range w.targetGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

func (w *World) group(app, name string) (*deploymentGroup, error) {
	if _, err := w.app(app); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
	}
	g := w.groups[app+"/"+name]
	if g == nil {
		return nil, cdErr("DeploymentGroupDoesNotExistException", "The deployment group %s does not exist for application %s.", name, app)
	}
	return g, nil
}

func (w *World) lastInfo(id string) map[string]any {
	d := w.deployments[id]
	if d == nil {
		return nil
	}
	out := map[string]any{"deploymentId": d.id, "status": d.status, "createTime": wire.EpochSeconds(d.created)}
	if !d.completed.IsZero() {
		out["endTime"] = wire.EpochSeconds(d.completed)
	}
	return out
}

func (w *World) groupOut(g *deploymentGroup) map[string]any {
	tgs := []any{}
	for _, n := range g.tgNames {
		tgs = append(tgs, map[string]string{"name": n})
	}
	pair := map[string]any{"targetGroups": tgs, "prodTrafficRoute": map[string]any{"listenerArns": []string{g.prodListener}}}
	if g.testListener != "" {
		pair["testTrafficRoute"] = map[string]any{"listenerArns": []string{g.testListener}}
	}
	alarms := []any{}
	for _, a := range g.alarms {
		alarms = append(alarms, map[string]string{"name": a})
	}
	events := g.rollbackEvents
	if events == nil {
		events = []string{}
	}
	out := map[string]any{
		"applicationName": g.app, "deploymentGroupId": g.id, "deploymentGroupName": g.name, "deploymentConfigName": g.config,
		"serviceRoleArn": g.serviceRole, "computePlatform": "ECS",
		"ecsServices":     []any{map[string]string{"serviceName": g.service, "clusterName": g.cluster}},
		"deploymentStyle": map[string]string{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
		"blueGreenDeploymentConfiguration": map[string]any{
			"deploymentReadyOption":                     map[string]any{"actionOnTimeout": g.readyAction, "waitTimeInMinutes": g.readyWait},
			"terminateBlueInstancesOnDeploymentSuccess": map[string]any{"action": "TERMINATE", "terminationWaitTimeInMinutes": g.terminationWait},
		},
		"loadBalancerInfo":          map[string]any{"targetGroupPairInfoList": []any{pair}},
		"alarmConfiguration":        map[string]any{"enabled": g.alarmsEnabled, "ignorePollAlarmFailure": g.ignorePoll, "alarms": alarms},
		"autoRollbackConfiguration": map[string]any{"enabled": g.rollbackEnabled, "events": events},
		"triggerConfigurations":     []any{},
	}
	if li := w.lastInfo(g.lastSuccessful); li != nil {
		out["lastSuccessfulDeployment"] = li
	}
	if li := w.lastInfo(g.lastAttempted); li != nil {
		out["lastAttemptedDeployment"] = li
	}
	w.groupExtOut(g, out)
	return out
}

func (w *World) getDeploymentGroup(body []byte) (any, error) {
	var in dgInput
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	g, err := w.group(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentGroupInfo": w.groupOut(g)}, nil
}

func (w *World) listDeploymentGroups(body []byte) (any, error) {
	var in dgInput
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := w.app(in.ApplicationName); err != nil {
		return nil, err
	}
	names := []string{}
	for _, g := range w.groups {
		if g.app == in.ApplicationName {
			names = append(names, g.name)
		}
	}
	sort.Strings(names)
	return map[string]any{"applicationName": in.ApplicationName, "deploymentGroups": names}, nil
}

func (w *World) createDeploymentConfig(body []byte) (any, error) {
	var in struct {
		Name            string `json:"deploymentConfigName"`
		ComputePlatform string `json:"computePlatform"`
		Routing         *struct {
			Type   string `json:"type"`
			Canary *struct {
				Percentage int `json:"canaryPercentage"`
				Interval   int `json:"canaryInterval"`
			} `json:"timeBasedCanary"`
			Linear *struct {
				Percentage int `json:"linearPercentage"`
				Interval   int `json:"linearInterval"`
			} `json:"timeBasedLinear"`
		} `json:"trafficRoutingConfig"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, cdErr("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
	}
	if strings.HasPrefix(in.Name, "CodeDeployDefault.") || w.configs[in.Name] != nil {
		return nil, cdErr("DeploymentConfigAlreadyExistsException", "A deployment configuration with the specified name already exists.")
	}
	if in.Routing == nil {
		return nil, cdErr("InvalidTrafficRoutingConfigurationException", "An ECS deployment configuration needs a traffic routing configuration.")
	}
	c := &deploymentConfig{name: in.Name, id: hexID(8) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(12), typ: in.Routing.Type, created: w.now()}
	switch {
	case c.typ == "TimeBasedCanary" && in.Routing.Canary != nil:
		c.percent, c.interval = in.Routing.Canary.Percentage, in.Routing.Canary.Interval
	case c.typ == "TimeBasedLinear" && in.Routing.Linear != nil:
		c.percent, c.interval = in.Routing.Linear.Percentage, in.Routing.Linear.Interval
	case c.typ == "AllAtOnce":
	default:
		return nil, cdErr("InvalidTrafficRoutingConfigurationException", "The traffic routing configuration is not valid.")
	}
	if c.typ != "AllAtOnce" && (c.percent < 1 || c.percent > 99 || c.interval < 1) {
		return nil, cdErr("InvalidTrafficRoutingConfigurationException", "Percentage must be 1 to 99 and the interval at least one minute.")
	}
	w.configs[c.name] = c
	return map[string]string{"deploymentConfigId": c.id}, nil
}

func (w *World) getDeploymentConfig(body []byte) (any, error) {
	var in struct {
		Name string `json:"deploymentConfigName"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	c := w.configs[in.Name]
	if c == nil {
		return nil, cdErr("DeploymentConfigDoesNotExistException", "The deployment configuration %s does not exist.", in.Name)
	}
	routing := map[string]any{"type": c.typ}
	switch c.typ {
	case "TimeBasedCanary":
		routing["timeBasedCanary"] = map[string]int{"canaryPercentage": c.percent, "canaryInterval": c.interval}
	case "TimeBasedLinear":
		routing["timeBasedLinear"] = map[string]int{"linearPercentage": c.percent, "linearInterval": c.interval}
	}
	return map[string]any{"deploymentConfigInfo": map[string]any{
		"deploymentConfigId": c.id, "deploymentConfigName": c.name, "computePlatform": "ECS",
		"createTime": wire.EpochSeconds(c.created), "trafficRoutingConfig": routing,
	}}, nil
}

// appspec is the part of an ECS AppSpec the simulator reads.
type appspec struct {
	Version   any `yaml:"version" json:"version"`
	Resources []map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			TaskDefinition   string `yaml:"TaskDefinition"`
			LoadBalancerInfo struct {
				ContainerName string `yaml:"ContainerName"`
				ContainerPort any    `yaml:"ContainerPort"`
			} `yaml:"LoadBalancerInfo"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
	Hooks []map[string]string `yaml:"Hooks"`
}

func isActive(status string) bool {
	switch status {
	case "Created", "Queued", "InProgress", "Ready", "Baking":
		return true
	}
	return false
}

func (w *World) createDeployment(body []byte) (any, error) {
	var in struct {
		ApplicationName     string `json:"applicationName"`
		DeploymentGroupName string `json:"deploymentGroupName"`
		DeploymentConfig    string `json:"deploymentConfigName"`
		Description         string `json:"description"`
		Revision            *struct {
			RevisionType string `json:"revisionType"`
			AppSpec      *struct {
				Content string `json:"content"`
				Sha256  string `json:"sha256"`
			} `json:"appSpecContent"`
		} `json:"revision"`
		AutoRollback *struct {
			Enabled bool     `json:"enabled"`
			Events  []string `json:"events"`
		} `json:"autoRollbackConfiguration"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	g, err := w.group(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	if len(in.Description) > 256 {
		return nil, cdErr("DescriptionTooLongException", "The description is too long.")
	}
	config := g.config
	if in.DeploymentConfig != "" {
		if w.configs[in.DeploymentConfig] == nil {
			return nil, cdErr("DeploymentConfigDoesNotExistException", "The deployment configuration %s does not exist.", in.DeploymentConfig)
		}
		config = in.DeploymentConfig
	}
	if in.Revision == nil {
		return nil, cdErr("RevisionRequiredException", "The revision ID was not specified.")
	}
	if in.Revision.RevisionType != "AppSpecContent" || in.Revision.AppSpec == nil || in.Revision.AppSpec.Content == "" {
		return nil, cdErr("InvalidRevisionException", "An ECS deployment needs an AppSpecContent revision with content.")
	}
	content := in.Revision.AppSpec.Content
	sum := sha256.Sum256([]byte(content))
	if in.Revision.AppSpec.Sha256 != "" && !strings.EqualFold(in.Revision.AppSpec.Sha256, hex.EncodeToString(sum[:])) {
		return nil, cdErr("InvalidRevisionException", "The AppSpec content does not match its sha256.")
	}
	var spec appspec
	if err := yaml.Unmarshal([]byte(content), &spec); err != nil {
		return nil, cdErr("InvalidRevisionException", "The AppSpec file is not valid YAML or JSON: %v", err)
	}
	if len(spec.Resources) != 1 {
		return nil, cdErr("InvalidRevisionException", "The AppSpec file must have exactly one resource.")
	}
	var res struct {
		td, container string
		port          int
	}
	for _, r := range spec.Resources[0] {
		if r.Type != "AWS::ECS::Service" {
			return nil, cdErr("InvalidRevisionException", "The AppSpec resource type must be AWS::ECS::Service.")
		}
		res.td, res.container = r.Properties.TaskDefinition, r.Properties.LoadBalancerInfo.ContainerName
		switch p := r.Properties.LoadBalancerInfo.ContainerPort.(type) {
		case int:
			res.port = p
		default:
			return nil, cdErr("InvalidRevisionException", "ContainerPort must be a number.")
		}
	}
	td, err := w.findTaskDef(res.td)
	if err != nil || !strings.Contains(res.td, ":") {
		return nil, cdErr("InvalidRevisionException", "The task definition %q in the AppSpec does not exist.", res.td)
	}
	if !td.hasContainer(res.container) {
		return nil, cdErr("InvalidRevisionException", "The container %q is not in task definition %s.", res.container, td.arn)
	}
	if !td.hasPort(res.container, res.port) {
		return nil, cdErr("InvalidRevisionException", "The container %s does not map port %d.", res.container, res.port)
	}
	hooks := map[string]*hookExecution{}
	for _, h := range spec.Hooks {
		for event, lambda := range h {
			if !hookEvents[event] {
				return nil, cdErr("InvalidRevisionException", "%s is not an ECS lifecycle hook.", event)
			}
			hooks[event] = &hookExecution{id: hexID(8) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(4) + "-" + hexID(12), lambda: lambda}
		}
	}
	for _, d := range w.deployments {
		if d.app == g.app && d.group == g.name && isActive(d.status) {
			return nil, cdErr("DeploymentLimitExceededException", "The Deployment Group '%s' already has an active Deployment '%s'", g.name, d.id)
		}
	}
	d := &deployment{
		id: "d-" + randomID(9, idAlphabet), app: g.app, group: g.name, config: config, creator: "user", description: in.Description,
		status: "Created", created: w.now(), appspecSHA: hex.EncodeToString(sum[:]), taskDef: td.arn, container: res.container, port: res.port,
		rollbackEnabled: g.rollbackEnabled, rollbackEvents: g.rollbackEvents, events: map[string]*lifecycleEvent{}, hooks: hooks, phase: -1,
		targetStatus: "Pending",
	}
	if in.AutoRollback != nil {
		d.rollbackEnabled, d.rollbackEvents = in.AutoRollback.Enabled, in.AutoRollback.Events
	}
	if err := w.keepDeploymentExtras(d, body); err != nil {
		return nil, err
	}
	for _, e := range ecsEvents {
		d.events[e] = &lifecycleEvent{status: "Pending"}
	}
	w.deployments[d.id] = d
	w.deployOrder = append(w.deployOrder, d.id)
	g.lastAttempted = d.id
	w.advanceDeployment(d, w.now())
	return map[string]string{"deploymentId": d.id}, nil
}

func (w *World) deployment(id string) (*deployment, error) {
	if id == "" {
		return nil, cdErr("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
	}
	if !strings.HasPrefix(id, "d-") {
		return nil, cdErr("InvalidDeploymentIdException", "The deployment ID %s is not valid.", id)
	}
	d := w.deployments[id]
	if d == nil {
		return nil, cdErr("DeploymentDoesNotExistException", "The deployment %s could not be found.", id)
	}
	return d, nil
}

func (w *World) deploymentOut(d *deployment) map[string]any {
	g := w.groups[d.app+"/"+d.group]
	out := map[string]any{
		"applicationName": d.app, "deploymentGroupName": d.group, "deploymentConfigName": d.config, "deploymentId": d.id,
		"status": d.status, "creator": d.creator, "createTime": wire.EpochSeconds(d.created), "computePlatform": "ECS",
		"deploymentStyle":                    map[string]string{"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
		"revision":                           map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]string{"sha256": d.appspecSHA}},
		"autoRollbackConfiguration":          map[string]any{"enabled": d.rollbackEnabled, "events": nonNilStrings(d.rollbackEvents)},
		"instanceTerminationWaitTimeStarted": !d.terminationSince.IsZero(),
		"deploymentOverview":                 w.overview(d),
	}
	if d.description != "" {
		out["description"] = d.description
	}
	if !d.started.IsZero() {
		out["startTime"] = wire.EpochSeconds(d.started)
	}
	if !d.completed.IsZero() {
		out["completeTime"] = wire.EpochSeconds(d.completed)
	}
	if d.errorCode != "" {
		out["errorInformation"] = map[string]string{"code": d.errorCode, "message": d.errorMessage}
	}
	if d.rollbackOf != "" || d.rolledBackBy != "" {
		ri := map[string]string{}
		if d.rolledBackBy != "" {
			ri["rollbackDeploymentId"] = d.rolledBackBy
		}
		if d.rollbackOf != "" {
			ri["rollbackTriggeringDeploymentId"] = d.rollbackOf
		}
		if d.rollbackMessage != "" {
			ri["rollbackMessage"] = d.rollbackMessage
		}
		out["rollbackInfo"] = ri
	}
	if g != nil {
		out["blueGreenDeploymentConfiguration"] = w.groupOut(g)["blueGreenDeploymentConfiguration"]
		out["loadBalancerInfo"] = w.groupOut(g)["loadBalancerInfo"]
	}
	w.deploymentExtOut(d, out)
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (w *World) overview(d *deployment) map[string]int {
	o := map[string]int{"Pending": 0, "InProgress": 0, "Succeeded": 0, "Failed": 0, "Skipped": 0, "Ready": 0}
	o[d.targetStatus]++
	return o
}

func (w *World) getDeployment(body []byte) (any, error) {
	var in struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentInfo": w.deploymentOut(d)}, nil
}

func (w *World) batchGetDeployments(body []byte) (any, error) {
	var in struct {
		DeploymentIDs []string `json:"deploymentIds"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.DeploymentIDs) > 100 {
		return nil, cdErr("BatchLimitExceededException", "The maximum number of deployment IDs is 100.")
	}
	out := []any{}
	for _, id := range in.DeploymentIDs {
		if d := w.deployments[id]; d != nil {
			out = append(out, w.deploymentOut(d))
		}
	}
	return map[string]any{"deploymentsInfo": out}, nil
}

func (w *World) listDeployments(body []byte) (any, error) {
	var in struct {
		ApplicationName     string   `json:"applicationName"`
		DeploymentGroupName string   `json:"deploymentGroupName"`
		IncludeOnlyStatuses []string `json:"includeOnlyStatuses"`
		NextToken           string   `json:"nextToken"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.DeploymentGroupName != "" {
		if _, err := w.group(in.ApplicationName, in.DeploymentGroupName); err != nil {
			return nil, err
		}
	} else if in.ApplicationName != "" {
		if _, err := w.app(in.ApplicationName); err != nil {
			return nil, err
		}
	}
	var ds []*deployment
	for i := len(w.deployOrder) - 1; i >= 0; i-- { // newest first
		d := w.deployments[w.deployOrder[i]]
		if (in.ApplicationName != "" && d.app != in.ApplicationName) || (in.DeploymentGroupName != "" && d.group != in.DeploymentGroupName) {
			continue
		}
		if len(in.IncludeOnlyStatuses) > 0 && !contains(in.IncludeOnlyStatuses, d.status) {
			continue
		}
		ds = append(ds, d)
	}
	return paginate(ds, 100, in.NextToken, 100, func(d *deployment) string { return d.id }, "deployments")
}

func (w *World) targetOf(d *deployment) (targetID, targetARN string) {
	g := w.groups[d.app+"/"+d.group]
	if g == nil {
		return "", ""
	}
	s, _ := w.service(g.cluster, g.service)
	arn := ""
	if s != nil {
		arn = s.arn
	}
	return g.cluster + ":" + g.service, arn
}

func (w *World) listDeploymentTargets(body []byte) (any, error) {
	var in struct {
		DeploymentID string `json:"deploymentId"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if d.status == "Created" || d.status == "Queued" {
		return nil, cdErr("DeploymentNotStartedException", "The specified deployment has not started.")
	}
	id, _ := w.targetOf(d)
	return map[string]any{"targetIds": []string{id}}, nil
}

func (w *World) ecsTargetOut(d *deployment) map[string]any {
	id, arn := w.targetOf(d)
	events := []any{}
	for _, name := range ecsEvents {
		e := d.events[name]
		ev := map[string]any{"lifecycleEventName": name, "status": e.status}
		if !e.start.IsZero() {
			ev["startTime"] = wire.EpochSeconds(e.start)
		}
		if !e.end.IsZero() {
			ev["endTime"] = wire.EpochSeconds(e.end)
		}
		if e.errorCode != "" || e.message != "" {
			ev["diagnostics"] = map[string]string{"errorCode": e.errorCode, "message": e.message, "scriptName": "", "logTail": ""}
		}
		events = append(events, ev)
	}
	sets := []any{}
	now := w.now()
	g := w.groups[d.app+"/"+d.group]
	svc, _ := w.service(g.cluster, g.service)
	add := func(ts *taskSet, label, tgARN string, weight float64) {
		if ts == nil || svc == nil {
			return
		}
		name := ""
		if tg := w.targetGroups[tgARN]; tg != nil {
			name = tg.Name
		}
		r := ts.running(now)
		sets = append(sets, map[string]any{
			"identifer": ts.id, "desiredCount": ts.computedDesired(svc), "pendingCount": len(ts.tasks) - r, "runningCount": r,
			"status": ts.status, "trafficWeight": weight, "targetGroup": map[string]string{"name": name}, "taskSetLabel": label,
		})
	}
	add(d.blue, "Blue", d.blueTG, 100-d.greenWeight)
	add(d.green, "Green", d.greenTG, d.greenWeight)
	return map[string]any{
		"deploymentTargetType": "ECSTarget",
		"ecsTarget": map[string]any{
			"deploymentId": d.id, "targetId": id, "targetArn": arn, "lastUpdatedAt": wire.EpochSeconds(d.lastUpdated()),
			"status": d.targetStatus, "lifecycleEvents": events, "taskSetsInfo": sets,
		},
	}
}

func (w *World) getDeploymentTarget(body []byte) (any, error) {
	var in struct {
		DeploymentID string `json:"deploymentId"`
		TargetID     string `json:"targetId"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if id, _ := w.targetOf(d); id != in.TargetID {
		return nil, cdErr("DeploymentTargetDoesNotExistException", "The target %s does not exist in deployment %s.", in.TargetID, d.id)
	}
	return map[string]any{"deploymentTarget": w.ecsTargetOut(d)}, nil
}

func (w *World) batchGetDeploymentTargets(body []byte) (any, error) {
	var in struct {
		DeploymentID string   `json:"deploymentId"`
		TargetIDs    []string `json:"targetIds"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if len(in.TargetIDs) > 25 {
		return nil, cdErr("DeploymentTargetListSizeExceededException", "At most 25 targets.")
	}
	if d.status == "Created" || d.status == "Queued" {
		return nil, cdErr("DeploymentNotStartedException", "The specified deployment has not started.")
	}
	id, _ := w.targetOf(d)
	out := []any{}
	for _, t := range in.TargetIDs {
		if t != id {
			return nil, cdErr("DeploymentTargetDoesNotExistException", "The target %s does not exist in deployment %s.", t, d.id)
		}
		out = append(out, w.ecsTargetOut(d))
	}
	return map[string]any{"deploymentTargets": out}, nil
}

func (w *World) continueDeployment(body []byte) (any, error) {
	var in struct {
		DeploymentID string `json:"deploymentId"`
		WaitType     string `json:"deploymentWaitType"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if !isActive(d.status) {
		return nil, cdErr("DeploymentAlreadyCompletedException", "The deployment %s is already completed.", d.id)
	}
	switch in.WaitType {
	case "READY_WAIT", "":
		if d.status != "Ready" {
			return nil, cdErr("DeploymentIsNotInReadyStateException", "The deployment %s is not in the Ready state.", d.id)
		}
		d.continued = true
	case "TERMINATION_WAIT":
		if d.terminationSince.IsZero() {
			return nil, cdErr("InvalidDeploymentStatusException", "The deployment %s is not waiting to terminate the original task set.", d.id)
		}
		d.finish = true
	default:
		return nil, cdErr("InvalidDeploymentWaitTypeException", "The wait type %s is not valid.", in.WaitType)
	}
	w.advanceDeployment(d, w.now())
	return map[string]any{}, nil
}

func (w *World) stopDeployment(body []byte) (any, error) {
	var in struct {
		DeploymentID        string `json:"deploymentId"`
		AutoRollbackEnabled *bool  `json:"autoRollbackEnabled"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if !isActive(d.status) {
		return nil, cdErr("DeploymentAlreadyCompletedException", "The deployment %s has already completed.", d.id)
	}
	if d.stopAt.IsZero() {
		d.stopRollback = d.rollbackEnabled && contains(d.rollbackEvents, "DEPLOYMENT_STOP_ON_REQUEST")
		if in.AutoRollbackEnabled != nil {
			d.stopRollback = *in.AutoRollbackEnabled
		}
		d.stopAt = w.now()
	}
	// As CodeDeploy does, the stop is accepted now and done a moment later.
	return map[string]string{"status": "Pending", "statusMessage": "Stopping Pending. Stopping to schedule commands in the deployment instances"}, nil
}

func (w *World) putHookStatus(body []byte) (any, error) {
	var in struct {
		DeploymentID string `json:"deploymentId"`
		ExecutionID  string `json:"lifecycleEventHookExecutionId"`
		Status       string `json:"status"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	d, err := w.deployment(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if in.Status != "Succeeded" && in.Status != "Failed" {
		return nil, cdErr("InvalidLifecycleEventHookExecutionStatusException", "The status must be Succeeded or Failed.")
	}
	for _, h := range d.hooks {
		if h.id != in.ExecutionID {
			continue
		}
		if h.status != "InProgress" {
			return nil, cdErr("LifecycleEventAlreadyCompletedException", "The lifecycle event has already completed.")
		}
		h.status = in.Status
		w.advanceDeployment(d, w.now())
		return map[string]string{"lifecycleEventHookExecutionId": h.id}, nil
	}
	return nil, cdErr("InvalidLifecycleEventHookExecutionIdException", "The lifecycle event hook execution id %s is not valid.", in.ExecutionID)
}
