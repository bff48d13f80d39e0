package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/awssim/wire"
)

// CodeDeploy operations that read in batches, change, tag and remove
// applications, deployment groups and configurations, beyond the core of
// codedeploy.go.
var codeDeployAdminOps = map[string]func(*World, []byte) (any, error){
	"BatchGetApplications":     (*World).batchGetApplications,
	"UpdateApplication":        (*World).updateApplication,
	"DeleteApplication":        (*World).deleteApplication,
	"BatchGetDeploymentGroups": (*World).batchGetDeploymentGroups,
	"UpdateDeploymentGroup":    (*World).updateDeploymentGroup,
	"DeleteDeploymentGroup":    (*World).deleteDeploymentGroup,
	"ListDeploymentConfigs":    (*World).listDeploymentConfigs,
	"DeleteDeploymentConfig":   (*World).deleteDeploymentConfig,
	"GetApplicationRevision":   (*World).getApplicationRevision,
	"TagResource":              (*World).cdTagResource,
	"UntagResource":            (*World).cdUntagResource,
	"ListTagsForResource":      (*World).cdListTags,
}

// codeDeployAdminOp answers the operations of codeDeployAdminOps; ok is
// false for others.
func (w *World) codeDeployAdminOp(op string, body []byte) (out any, err error, ok bool) {
	fn := codeDeployAdminOps[op]
	if fn == nil {
		return nil, nil, false
	}
	out, err = fn(w, body)
	return out, err, true
}

// cdBatchLimit is the most names a CodeDeploy BatchGet takes.
const cdBatchLimit = 100

// groupExt is what a deployment group keeps beyond the core: the members
// CodeDeploy echoes that the simulator does not act on.
type groupExt struct {
	triggers         json.RawMessage
	outdatedStrategy string
	terminationHook  bool
}

// deployExt is what a deployment keeps beyond the core.
type deployExt struct {
	content       string // the AppSpec as sent
	alarmOverride *alarmConfig
}

type alarmConfig struct {
	Enabled                bool `json:"enabled"`
	IgnorePollAlarmFailure bool `json:"ignorePollAlarmFailure"`
	Alarms                 []struct {
		Name string `json:"name"`
	} `json:"alarms"`
}

func (w *World) appARN(name string) string { return w.arn("codedeploy", "application:"+name) }

func (w *World) groupARN(g *deploymentGroup) string {
	return w.arn("codedeploy", "deploymentgroup:"+g.app+"/"+g.name)
}

// keepApplicationExtras stores what CreateApplication takes beyond the
// core: its tags.
func (w *World) keepApplicationExtras(name string, body []byte) {
	var in struct {
		Tags []cdTag `json:"tags"`
	}
	_ = json.Unmarshal(body, &in)
	if len(in.Tags) > 0 {
		lazyMap(&w.ext.appTags)[w.appARN(name)] = fromCDTags(in.Tags)
	}
}

// keepGroupExtras stores what CreateDeploymentGroup and
// UpdateDeploymentGroup take beyond the core: trigger configurations,
// outdatedInstancesStrategy, terminationHookEnabled and tags.
func (w *World) keepGroupExtras(g *deploymentGroup, body []byte, create bool) error {
	var in struct {
		Triggers         json.RawMessage `json:"triggerConfigurations"`
		OutdatedStrategy *string         `json:"outdatedInstancesStrategy"`
		TerminationHook  *bool           `json:"terminationHookEnabled"`
		Tags             []cdTag         `json:"tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return err
	}
	ext := lazyMap(&w.ext.groupExt)
	e := ext[g.id]
	if e == nil {
		e = &groupExt{outdatedStrategy: "UPDATE"}
	}
	next := *e
	if in.Triggers != nil {
		var triggers []struct {
			Name   string   `json:"triggerName"`
			Target string   `json:"triggerTargetArn"`
			Events []string `json:"triggerEvents"`
		}
		if err := json.Unmarshal(in.Triggers, &triggers); err != nil {
			return cdErr("InvalidTriggerConfigException", "The trigger configuration is not valid: %v", err)
		}
		if len(triggers) > 10 {
			return cdErr("TriggerTargetsLimitExceededException", "A deployment group can have at most 10 triggers.")
		}
		for _, t := range triggers {
			if t.Name == "" || !strings.HasPrefix(t.Target, "arn:aws:sns:") {
				return cdErr("InvalidTriggerConfigException", "Trigger %q needs a name and an Amazon SNS topic ARN as its target.", t.Name)
			}
		}
		next.triggers = in.Triggers
	}
	if in.OutdatedStrategy != nil {
		if *in.OutdatedStrategy != "UPDATE" && *in.OutdatedStrategy != "IGNORE" {
			return cdErr("InvalidInputException", "outdatedInstancesStrategy must be UPDATE or IGNORE.")
		}
		next.outdatedStrategy = *in.OutdatedStrategy
	}
	if in.TerminationHook != nil {
		next.terminationHook = *in.TerminationHook
	}
	if create && len(in.Tags) > 0 {
		lazyMap(&w.ext.appTags)[w.groupARN(g)] = fromCDTags(in.Tags)
	}
	ext[g.id] = &next
	return nil
}

// groupExtOut adds the kept members to a deployment group's description.
func (w *World) groupExtOut(g *deploymentGroup, out map[string]any) {
	e := w.ext.groupExt[g.id]
	if e == nil {
		e = &groupExt{outdatedStrategy: "UPDATE"}
	}
	out["outdatedInstancesStrategy"] = e.outdatedStrategy
	out["terminationHookEnabled"] = e.terminationHook
	if e.triggers != nil {
		out["triggerConfigurations"] = e.triggers
	}
}

// keepDeploymentExtras reads what CreateDeployment takes beyond the core:
// the AppSpec content (for GetApplicationRevision) and
// overrideAlarmConfiguration, which replaces the group's alarms for this
// deployment.
func (w *World) keepDeploymentExtras(d *deployment, body []byte) error {
	var in struct {
		Revision *struct {
			AppSpec *struct {
				Content string `json:"content"`
			} `json:"appSpecContent"`
		} `json:"revision"`
		Override *alarmConfig `json:"overrideAlarmConfiguration"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return err
	}
	e := &deployExt{alarmOverride: in.Override}
	if in.Revision != nil && in.Revision.AppSpec != nil {
		e.content = in.Revision.AppSpec.Content
	}
	if o := in.Override; o != nil {
		if len(o.Alarms) > 10 {
			return cdErr("AlarmsLimitExceededException", "The maximum number of alarms for a deployment is 10.")
		}
		if o.Enabled && len(o.Alarms) == 0 {
			return cdErr("InvalidAlarmConfigException", "The alarm configuration is enabled but lists no alarms.")
		}
	}
	lazyMap(&w.ext.deployExt)[d.id] = e
	return nil
}

// deploymentAlarmFiring is the first of the deployment's alarms in ALARM:
// the group's, or the deployment's own when it overrode them.
func (w *World) deploymentAlarmFiring(d *deployment, g *deploymentGroup) string {
	e := w.ext.deployExt[d.id]
	if e == nil || e.alarmOverride == nil {
		return w.alarmFiring(g)
	}
	if !e.alarmOverride.Enabled {
		return ""
	}
	for _, a := range e.alarmOverride.Alarms {
		if al := w.alarms[a.Name]; al != nil && al.state == "ALARM" {
			return a.Name
		}
	}
	return ""
}

// deploymentExtOut adds the kept members to a deployment's description.
func (w *World) deploymentExtOut(d *deployment, out map[string]any) {
	if e := w.ext.deployExt[d.id]; e != nil && e.alarmOverride != nil {
		o := *e.alarmOverride
		if o.Alarms == nil {
			o.Alarms = []struct {
				Name string `json:"name"`
			}{}
		}
		out["overrideAlarmConfiguration"] = o
	}
}

func (w *World) applicationOut(a *application) map[string]any {
	return map[string]any{"applicationId": a.id, "applicationName": a.name, "computePlatform": "ECS", "createTime": wire.EpochSeconds(a.created), "linkedToGitHub": false}
}

func (w *World) batchGetApplications(body []byte) (any, error) {
	var in struct {
		Names []string `json:"applicationNames"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if len(in.Names) == 0 {
		return nil, cdErr("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	if len(in.Names) > cdBatchLimit {
		return nil, cdErr("BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (%d) was exceeded.", cdBatchLimit)
	}
	out := []any{}
	for _, n := range in.Names {
		a, err := w.app(n)
		if err != nil {
			return nil, err
		}
		out = append(out, w.applicationOut(a))
	}
	return map[string]any{"applicationsInfo": out}, nil
}

func (w *World) updateApplication(body []byte) (any, error) {
	var in struct {
		Name    string `json:"applicationName"`
		NewName string `json:"newApplicationName"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	a, err := w.app(in.Name)
	if err != nil {
		return nil, err
	}
	if in.NewName == "" || in.NewName == a.name {
		return struct{}{}, nil
	}
	if len(in.NewName) > 100 {
		return nil, cdErr("InvalidApplicationNameException", "The application name is longer than 100 characters.")
	}
	if w.applications[in.NewName] != nil {
		return nil, cdErr("ApplicationAlreadyExistsException", "%s already exists in the account", in.NewName)
	}
	old := a.name
	oldARN := w.appARN(old)
	delete(w.applications, old)
	a.name = in.NewName
	w.applications[a.name] = a
	if tags, ok := w.ext.appTags[oldARN]; ok {
		delete(w.ext.appTags, oldARN)
		w.ext.appTags[w.appARN(a.name)] = tags
	}
	for key, g := range w.groups {
		if g.app == old {
			gOld := w.groupARN(g)
			delete(w.groups, key)
			g.app = a.name
			w.groups[g.app+"/"+g.name] = g
			w.moveTags(gOld, w.groupARN(g))
		}
	}
	for _, d := range w.deployments {
		if d.app == old {
			d.app = a.name
		}
	}
	return struct{}{}, nil
}

func (w *World) moveTags(from, to string) {
	if tags, ok := w.ext.appTags[from]; ok {
		delete(w.ext.appTags, from)
		w.ext.appTags[to] = tags
	}
}

// deleteApplication removes an application with its deployment groups; an
// application that does not exist is already deleted, as CodeDeploy answers.
func (w *World) deleteApplication(body []byte) (any, error) {
	var in struct {
		Name string `json:"applicationName"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, cdErr("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	if w.applications[in.Name] == nil {
		return struct{}{}, nil
	}
	for key, g := range w.groups {
		if g.app == in.Name {
			w.dropGroup(key, g)
		}
	}
	delete(w.ext.appTags, w.appARN(in.Name))
	delete(w.applications, in.Name)
	return struct{}{}, nil
}

func (w *World) dropGroup(key string, g *deploymentGroup) {
	delete(w.ext.appTags, w.groupARN(g))
	delete(w.ext.groupExt, g.id)
	delete(w.groups, key)
}

func (w *World) batchGetDeploymentGroups(body []byte) (any, error) {
	var in struct {
		App   string   `json:"applicationName"`
		Names []string `json:"deploymentGroupNames"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := w.app(in.App); err != nil {
		return nil, err
	}
	if len(in.Names) == 0 {
		return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
	}
	if len(in.Names) > cdBatchLimit {
		return nil, cdErr("BatchLimitExceededException", "The maximum number of names or IDs allowed for this request (%d) was exceeded.", cdBatchLimit)
	}
	out, missing := []any{}, []string{}
	for _, n := range in.Names {
		g := w.groups[in.App+"/"+n]
		if g == nil {
			missing = append(missing, n)
			continue
		}
		out = append(out, w.groupOut(g))
	}
	res := map[string]any{"deploymentGroupsInfo": out}
	if len(missing) > 0 {
		res["errorMessage"] = "Deployment groups not found: " + strings.Join(missing, ", ")
	}
	return res, nil
}

// updateDeploymentGroup changes only the members the request carries: the
// group as it is now is the base the request is laid over.
func (w *World) updateDeploymentGroup(body []byte) (any, error) {
	var names dgInput
	if err := wire.DecodeJSON(body, &names); err != nil {
		return nil, err
	}
	g, err := w.group(names.ApplicationName, names.CurrentGroupName)
	if err != nil {
		if names.CurrentGroupName == "" {
			return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
		}
		return nil, err
	}
	current, err := json.Marshal(w.groupOut(g))
	if err != nil {
		return nil, err
	}
	var in dgInput
	if err := json.Unmarshal(current, &in); err != nil {
		return nil, err
	}
	// Structures the request names replace the group's whole.
	var sent map[string]json.RawMessage
	_ = json.Unmarshal(body, &sent)
	for _, k := range []string{"blueGreenDeploymentConfiguration", "loadBalancerInfo", "alarmConfiguration", "autoRollbackConfiguration", "deploymentStyle", "ecsServices"} {
		if _, ok := sent[k]; ok {
			switch k {
			case "blueGreenDeploymentConfiguration":
				in.BlueGreen = nil
			case "loadBalancerInfo":
				in.LoadBalancerInfo = nil
			case "alarmConfiguration":
				in.AlarmConfiguration = nil
			case "autoRollbackConfiguration":
				in.AutoRollback = nil
			case "deploymentStyle":
				in.DeploymentStyle = nil
			case "ecsServices":
				in.EcsServices = nil
			}
		}
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	newName := names.NewGroupName
	if newName != "" && newName != g.name && w.groups[g.app+"/"+newName] != nil {
		return nil, cdErr("DeploymentGroupAlreadyExistsException", "A deployment group with the specified name already exists with the application.")
	}
	// Validate on a copy, so a refused update changes nothing; the group
	// itself is out of the map meanwhile, or applyGroup would find its
	// service already taken by it.
	next := *g
	oldKey := g.app + "/" + g.name
	delete(w.groups, oldKey)
	err = w.applyGroup(&next, in)
	w.groups[oldKey] = g
	if err != nil {
		return nil, err
	}
	if err := w.keepGroupExtras(&next, body, false); err != nil {
		return nil, err
	}
	oldARN := w.groupARN(g)
	*g = next
	if newName != "" && newName != g.name {
		delete(w.groups, oldKey)
		for _, d := range w.deployments {
			if d.app == g.app && d.group == g.name {
				d.group = newName
			}
		}
		g.name = newName
		w.groups[g.app+"/"+g.name] = g
		w.moveTags(oldARN, w.groupARN(g))
	}
	return map[string]any{"hooksNotCleanedUp": []any{}}, nil
}

// deleteDeploymentGroup removes a group; one that does not exist is
// already deleted, as CodeDeploy answers.
func (w *World) deleteDeploymentGroup(body []byte) (any, error) {
	var in dgInput
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.ApplicationName == "" {
		return nil, cdErr("ApplicationNameRequiredException", "The minimum number of required application names was not specified.")
	}
	if in.DeploymentGroupName == "" {
		return nil, cdErr("DeploymentGroupNameRequiredException", "The deployment group name was not specified.")
	}
	key := in.ApplicationName + "/" + in.DeploymentGroupName
	if g := w.groups[key]; g != nil {
		w.dropGroup(key, g)
	}
	return map[string]any{"hooksNotCleanedUp": []any{}}, nil
}

func (w *World) listDeploymentConfigs(body []byte) (any, error) {
	var in struct {
		NextToken string `json:"nextToken"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(w.configs))
	for n := range w.configs {
		names = append(names, n)
	}
	sort.Strings(names)
	// One page of 100, as CodeDeploy pages; the token is the next name.
	start := 0
	if in.NextToken != "" {
		start = sort.SearchStrings(names, in.NextToken)
		if start >= len(names) || names[start] != in.NextToken {
			return nil, cdErr("InvalidNextTokenException", "The next token was specified in an invalid format.")
		}
	}
	end := min(start+100, len(names))
	out := map[string]any{"deploymentConfigsList": names[start:end]}
	if end < len(names) {
		out["nextToken"] = names[end]
	}
	return out, nil
}

func (w *World) deleteDeploymentConfig(body []byte) (any, error) {
	var in struct {
		Name string `json:"deploymentConfigName"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, cdErr("DeploymentConfigNameRequiredException", "The deployment configuration name was not specified.")
	}
	if strings.HasPrefix(in.Name, "CodeDeployDefault.") {
		return nil, cdErr("InvalidOperationException", "The predefined deployment configuration %s cannot be deleted.", in.Name)
	}
	for _, g := range w.groups {
		if g.config == in.Name {
			return nil, cdErr("DeploymentConfigInUseException", "The deployment configuration %s is in use by deployment group %s/%s.", in.Name, g.app, g.name)
		}
	}
	for _, d := range w.deployments {
		if d.config == in.Name && isActive(d.status) {
			return nil, cdErr("DeploymentConfigInUseException", "The deployment configuration %s is in use by deployment %s.", in.Name, d.id)
		}
	}
	delete(w.configs, in.Name)
	return struct{}{}, nil
}

// getApplicationRevision finds an AppSpecContent revision among the
// application's deployments by its sha256 (or the sha256 of its content).
func (w *World) getApplicationRevision(body []byte) (any, error) {
	var in struct {
		App      string `json:"applicationName"`
		Revision *struct {
			Type    string `json:"revisionType"`
			AppSpec *struct {
				Content string `json:"content"`
				Sha256  string `json:"sha256"`
			} `json:"appSpecContent"`
		} `json:"revision"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	if _, err := w.app(in.App); err != nil {
		return nil, err
	}
	if in.Revision == nil {
		return nil, cdErr("RevisionRequiredException", "The revision ID was not specified.")
	}
	if in.Revision.Type != "AppSpecContent" || in.Revision.AppSpec == nil {
		return nil, cdErr("InvalidRevisionException", "An ECS application's revisions are AppSpecContent revisions; S3, GitHub and String revisions are not kept.")
	}
	sum := strings.ToLower(in.Revision.AppSpec.Sha256)
	if sum == "" && in.Revision.AppSpec.Content != "" {
		sum = sha256Hex(in.Revision.AppSpec.Content)
	}
	var first, last time.Time
	var content string
	groups := []string{}
	for _, id := range w.deployOrder {
		d := w.deployments[id]
		if d.app != in.App || d.appspecSHA != sum {
			continue
		}
		if first.IsZero() {
			first = d.created
		}
		last = d.created
		if e := w.ext.deployExt[d.id]; e != nil && e.content != "" {
			content = e.content
		}
		if !contains(groups, d.group) {
			groups = append(groups, d.group)
		}
	}
	if first.IsZero() {
		return nil, cdErr("RevisionDoesNotExistException", "No application revision found for application %s with sha256 %s.", in.App, sum)
	}
	return map[string]any{
		"applicationName": in.App,
		"revision":        map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]string{"content": content, "sha256": sum}},
		"revisionInfo": map[string]any{
			"deploymentGroups": groups, "firstUsedTime": wire.EpochSeconds(first), "lastUsedTime": wire.EpochSeconds(last), "registerTime": wire.EpochSeconds(first),
		},
	}, nil
}

// cdTag is a CodeDeploy tag: Key and Value capitalised, unlike ECS's.
type cdTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func fromCDTags(in []cdTag) []tag {
	out := make([]tag, 0, len(in))
	for _, t := range in {
		out = append(out, tag(t))
	}
	return out
}

// cdResource resolves a CodeDeploy ARN to the key its tags are kept under,
// with the errors CodeDeploy gives for each kind of resource.
func (w *World) cdResource(arn string) (string, error) {
	if arn == "" {
		return "", cdErr("ResourceArnRequiredException", "The ARN of a resource is required.")
	}
	prefix := fmt.Sprintf("arn:aws:codedeploy:%s:%s:", w.env.Region, w.env.Account)
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok {
		return "", cdErr("InvalidArnException", "The specified ARN %s is not in a valid format.", arn)
	}
	kind, name, _ := strings.Cut(rest, ":")
	switch kind {
	case "application":
		if w.applications[name] == nil {
			return "", cdErr("ApplicationDoesNotExistException", "No application found for name: %s", name)
		}
	case "deploymentgroup":
		if w.groups[name] == nil {
			return "", cdErr("DeploymentGroupDoesNotExistException", "The deployment group %s does not exist.", name)
		}
	case "deploymentconfig":
		return "", cdErr("ArnNotSupportedException", "Tagging deployment configurations is not supported.")
	default:
		return "", cdErr("InvalidArnException", "The specified ARN %s is not in a valid format.", arn)
	}
	return arn, nil
}

func (w *World) cdTagResource(body []byte) (any, error) {
	var in struct {
		ARN  string  `json:"ResourceArn"`
		Tags []cdTag `json:"Tags"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	key, err := w.cdResource(in.ARN)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, cdErr("TagRequiredException", "A tag was not specified.")
	}
	for _, t := range in.Tags {
		if t.Key == "" || strings.HasPrefix(t.Key, "aws:") {
			return nil, cdErr("InvalidTagsToAddException", "The tag key %q is not valid: keys are 1 to 128 characters and cannot begin with aws:.", t.Key)
		}
	}
	tags := lazyMap(&w.ext.appTags)
	tags[key] = mergeTags(tags[key], fromCDTags(in.Tags))
	return struct{}{}, nil
}

func (w *World) cdUntagResource(body []byte) (any, error) {
	var in struct {
		ARN  string   `json:"ResourceArn"`
		Keys []string `json:"TagKeys"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	key, err := w.cdResource(in.ARN)
	if err != nil {
		return nil, err
	}
	if len(in.Keys) == 0 {
		return nil, cdErr("TagRequiredException", "A tag key was not specified.")
	}
	var kept []tag
	for _, t := range w.ext.appTags[key] {
		if !contains(in.Keys, t.Key) {
			kept = append(kept, t)
		}
	}
	if kept == nil {
		delete(w.ext.appTags, key)
	} else {
		w.ext.appTags[key] = kept
	}
	return struct{}{}, nil
}

func (w *World) cdListTags(body []byte) (any, error) {
	var in struct {
		ARN string `json:"ResourceArn"`
	}
	if err := wire.DecodeJSON(body, &in); err != nil {
		return nil, err
	}
	key, err := w.cdResource(in.ARN)
	if err != nil {
		return nil, err
	}
	out := []cdTag{}
	for _, t := range w.ext.appTags[key] {
		out = append(out, cdTag(t))
	}
	return map[string]any{"Tags": out}, nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
