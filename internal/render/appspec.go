package render

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ECS lifecycle events an AppSpec may attach a hook to (aws-facts §3.1).
var hookEvents = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}

// TaskDefinitionPlaceholder is where CodePipeline-style AppSpecs leave the
// task definition ARN to be filled in.
const TaskDefinitionPlaceholder = "<TASK_DEFINITION>"

// AppSpec is an ECS AppSpec kept as a YAML node tree, so comments, key order
// and hooks survive rendering. JSON AppSpecs parse the same way (JSON is
// YAML) and are written back as YAML.
type AppSpec struct {
	File string
	doc  yaml.Node
}

// ParseAppSpec reads an AppSpec in YAML or JSON: one document, each key
// once, only the members CodeDeploy's ECS AppSpec defines. Every problem
// names the file, line and member. ReadFile bounds the size of data.
func ParseAppSpec(data []byte, file string) (*AppSpec, error) {
	a := &AppSpec{File: file}
	doc, err := decodeAppSpec(data, file)
	if err != nil {
		return nil, err
	}
	a.doc = doc
	if a.doc.Kind != yaml.DocumentNode || len(a.doc.Content) == 0 || a.doc.Content[0].Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: 1, Msg: "an AppSpec must be a mapping with version, Resources and optionally Hooks"}
	}
	return a, nil
}

// ServiceSpec is what a generated AppSpec takes from the ECS service: where
// the load balancer sends traffic and how replacement tasks are placed.
// Networking, platform version and capacity providers are written out so the
// file says exactly what CodeDeploy will do, and a reviewer sees it.
type ServiceSpec struct {
	Container string
	Port      int
	// PlatformVersion is the Fargate platform version (empty: not written).
	PlatformVersion string
	// Subnets, SecurityGroups and AssignPublicIP are the awsvpc settings;
	// written only when subnets are known (the three go together).
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP string
	// CapacityProviders is the service's capacity provider strategy.
	CapacityProviders []CapacityProvider
}

// CapacityProvider is one item of a capacity provider strategy.
type CapacityProvider struct {
	Name         string
	Base, Weight int
}

// appSpecDoc is the generated AppSpec's shape; field order is the file's
// key order.
type appSpecDoc struct {
	Version   yaml.Node                         `yaml:"version"`
	Resources []map[string]appSpecTargetService `yaml:"Resources"`
}

type appSpecTargetService struct {
	Type       string            `yaml:"Type"`
	Properties appSpecProperties `yaml:"Properties"`
}

type appSpecProperties struct {
	TaskDefinition           string                    `yaml:"TaskDefinition"`
	LoadBalancerInfo         appSpecLoadBalancer       `yaml:"LoadBalancerInfo"`
	PlatformVersion          string                    `yaml:"PlatformVersion,omitempty"`
	NetworkConfiguration     *appSpecNetwork           `yaml:"NetworkConfiguration,omitempty"`
	CapacityProviderStrategy []appSpecCapacityProvider `yaml:"CapacityProviderStrategy,omitempty"`
}

type appSpecLoadBalancer struct {
	ContainerName string `yaml:"ContainerName"`
	ContainerPort int    `yaml:"ContainerPort"`
}

type appSpecNetwork struct {
	AwsvpcConfiguration struct {
		Subnets        []string `yaml:"Subnets"`
		SecurityGroups []string `yaml:"SecurityGroups"`
		AssignPublicIP string   `yaml:"AssignPublicIp"`
	} `yaml:"AwsvpcConfiguration"`
}

type appSpecCapacityProvider struct {
	CapacityProvider string `yaml:"CapacityProvider"`
	Base             int    `yaml:"Base"`
	Weight           int    `yaml:"Weight"`
}

// NewAppSpec generates an AppSpec for a service, for teams that have none.
func NewAppSpec(taskDefinition string, svc ServiceSpec) *AppSpec {
	props := appSpecProperties{
		TaskDefinition:   taskDefinition,
		LoadBalancerInfo: appSpecLoadBalancer{ContainerName: svc.Container, ContainerPort: svc.Port},
		PlatformVersion:  svc.PlatformVersion,
	}
	if len(svc.Subnets) > 0 {
		n := &appSpecNetwork{}
		n.AwsvpcConfiguration.Subnets = svc.Subnets
		n.AwsvpcConfiguration.SecurityGroups = orEmpty(svc.SecurityGroups)
		n.AwsvpcConfiguration.AssignPublicIP = svc.AssignPublicIP
		if n.AwsvpcConfiguration.AssignPublicIP == "" {
			n.AwsvpcConfiguration.AssignPublicIP = "DISABLED" // the ECS default
		}
		props.NetworkConfiguration = n
	}
	for _, c := range svc.CapacityProviders {
		props.CapacityProviderStrategy = append(props.CapacityProviderStrategy, appSpecCapacityProvider{CapacityProvider: c.Name, Base: c.Base, Weight: c.Weight})
	}
	doc := appSpecDoc{
		// 0.0 as written in every AppSpec; a float would print as 0.
		Version:   yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: "0.0"},
		Resources: []map[string]appSpecTargetService{{"TargetService": {Type: "AWS::ECS::Service", Properties: props}}},
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		panic(err) // plain structs of strings and numbers always marshal
	}
	a, err := ParseAppSpec(data, "appspec.yml")
	if err != nil {
		panic(err) // yaml.Marshal's output parses
	}
	a.root().HeadComment = "Generated by ecs-bluegreen from the ECS service."
	a.File = "(generated)"
	return a
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *AppSpec) root() *yaml.Node { return a.doc.Content[0] }

func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func set(m *yaml.Node, key string, value *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep comments attached to the old value.
			value.HeadComment, value.LineComment, value.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = value
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, value)
}

func (a *AppSpec) errAt(n *yaml.Node, path, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FieldError{File: a.File, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// properties finds Resources[0].<name>.Properties and checks the shape.
func (a *AppSpec) properties() (*yaml.Node, error) {
	res := get(a.root(), "Resources")
	if res == nil || res.Kind != yaml.SequenceNode || len(res.Content) != 1 {
		return nil, a.errAt(res, "Resources", "must be a list with exactly one resource, the ECS service")
	}
	item := res.Content[0]
	if item.Kind != yaml.MappingNode || len(item.Content) != 2 {
		return nil, a.errAt(item, "Resources[0]", "must be a single named resource such as TargetService")
	}
	target := item.Content[1]
	if t := get(target, "Type"); t == nil || t.Value != "AWS::ECS::Service" {
		return nil, a.errAt(t, "Resources[0]."+item.Content[0].Value+".Type", "must be AWS::ECS::Service")
	}
	props := get(target, "Properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return nil, a.errAt(target, "Resources[0]."+item.Content[0].Value+".Properties", "is required")
	}
	return props, nil
}

// Set writes the task definition ARN and, when given, the container name and
// port (zero/empty leaves them as they are).
func (a *AppSpec) Set(taskDefinitionARN, container string, port int) error {
	props, err := a.properties()
	if err != nil {
		return err
	}
	set(props, "TaskDefinition", &yaml.Node{Kind: yaml.ScalarNode, Value: taskDefinitionARN, Style: yaml.DoubleQuotedStyle})
	lb := get(props, "LoadBalancerInfo")
	if lb == nil {
		lb = &yaml.Node{Kind: yaml.MappingNode}
		set(props, "LoadBalancerInfo", lb)
	}
	if container != "" {
		set(lb, "ContainerName", &yaml.Node{Kind: yaml.ScalarNode, Value: container, Style: yaml.DoubleQuotedStyle})
	}
	if port > 0 {
		// A number, never a string: CodeDeploy rejects "8080" (aws-facts §3.1).
		set(lb, "ContainerPort", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(port)})
	}
	return nil
}

// Target returns the task definition, container and port the AppSpec names.
func (a *AppSpec) Target() (taskDefinition, container string, port int, err error) {
	props, err := a.properties()
	if err != nil {
		return "", "", 0, err
	}
	if td := get(props, "TaskDefinition"); td != nil {
		taskDefinition = td.Value
	}
	lb := get(props, "LoadBalancerInfo")
	if c := get(lb, "ContainerName"); c != nil {
		container = c.Value
	}
	if p := get(lb, "ContainerPort"); p != nil {
		if p.Tag != "!!int" {
			return "", "", 0, a.errAt(p, "LoadBalancerInfo.ContainerPort", "must be a number, not %q", p.Value)
		}
		port, _ = strconv.Atoi(p.Value)
	}
	return taskDefinition, container, port, nil
}

// Validate checks the AppSpec on its own and against the task definition:
// version 0.0, one ECS service, a container that exists and maps the port,
// known hook names, and networking given all at once or not at all.
func (a *AppSpec) Validate(td *TaskDef) error {
	var errs []error
	root := a.root()
	if v := get(root, "version"); v == nil || (v.Value != "0.0" && v.Value != "0") {
		errs = append(errs, a.errAt(v, "version", "must be 0.0"))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch k := root.Content[i].Value; k {
		case "version", "Resources", "Hooks":
		default:
			errs = append(errs, a.errAt(root.Content[i], k, "is not an AppSpec section (version, Resources, Hooks)"))
		}
	}
	_, container, port, err := a.Target()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	props, _ := a.properties()
	if container == "" {
		errs = append(errs, a.errAt(props, "LoadBalancerInfo.ContainerName", "is required"))
	}
	if port == 0 {
		errs = append(errs, a.errAt(props, "LoadBalancerInfo.ContainerPort", "is required"))
	}
	if td != nil && container != "" {
		if !td.hasPort(container, port) {
			if !td.hasContainer(container) {
				errs = append(errs, a.errAt(get(get(props, "LoadBalancerInfo"), "ContainerName"), "LoadBalancerInfo.ContainerName", "container %q is not in task definition %s (it has %s)", container, td.Family(), strings.Join(td.names(), ", ")))
			} else if port > 0 {
				errs = append(errs, a.errAt(get(get(props, "LoadBalancerInfo"), "ContainerPort"), "LoadBalancerInfo.ContainerPort", "container %q does not map port %d in its portMappings", container, port))
			}
		}
	}
	if net := get(get(props, "NetworkConfiguration"), "AwsvpcConfiguration"); net != nil {
		have := 0
		for _, k := range []string{"Subnets", "SecurityGroups", "AssignPublicIp"} {
			if get(net, k) != nil {
				have++
			}
		}
		if have != 3 {
			errs = append(errs, a.errAt(net, "NetworkConfiguration.AwsvpcConfiguration", "give Subnets, SecurityGroups and AssignPublicIp together, or none of them"))
		}
	}
	if hooks := get(root, "Hooks"); hooks != nil {
		if hooks.Kind != yaml.SequenceNode {
			errs = append(errs, a.errAt(hooks, "Hooks", "must be a list of one-key maps such as - AfterAllowTestTraffic: my-function"))
		} else {
			for i, h := range hooks.Content {
				if h.Kind != yaml.MappingNode || len(h.Content) != 2 {
					errs = append(errs, a.errAt(h, fmt.Sprintf("Hooks[%d]", i), "must be a one-key map such as AfterAllowTestTraffic: my-function"))
					continue
				}
				if name := h.Content[0].Value; !contains(hookEvents, name) {
					errs = append(errs, a.errAt(h.Content[0], fmt.Sprintf("Hooks[%d]", i), "%q is not an ECS lifecycle hook (%s)", name, strings.Join(hookEvents, ", ")))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// YAML writes the AppSpec, comments and order kept.
func (a *AppSpec) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&a.doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func (td *TaskDef) hasContainer(name string) bool {
	for _, c := range td.Containers() {
		if c[0] == name {
			return true
		}
	}
	return false
}

func (td *TaskDef) hasPort(container string, port int) bool {
	for _, c := range td.containers() {
		if n, _ := c["name"].(string); n != container {
			continue
		}
		pms, _ := c["portMappings"].([]any)
		for _, pm := range pms {
			m, _ := pm.(map[string]any)
			if fmt.Sprint(m["containerPort"]) == strconv.Itoa(port) {
				return true
			}
		}
	}
	return false
}

// FirstPort is the first container port a container maps, or 0.
func (td *TaskDef) FirstPort(container string) int {
	for _, c := range td.containers() {
		if n, _ := c["name"].(string); n != container {
			continue
		}
		pms, _ := c["portMappings"].([]any)
		for _, pm := range pms {
			m, _ := pm.(map[string]any)
			if p, err := strconv.Atoi(fmt.Sprint(m["containerPort"])); err == nil {
				return p
			}
		}
	}
	return 0
}
