package config

import (
	"reflect"
	"strings"
)

// Family is a named group of settings that commands read together.
type Family struct {
	Name    string
	Summary string
	// New returns a pointer to a zero value of the family's struct.
	New func() any
}

// Families lists every family, in the order `ecs-bluegreen env` prints them.
func Families() []Family {
	return []Family{
		{"aws", "Reaching AWS", func() any { return &AWS{} }},
		{"target", "The service to deploy", func() any { return &Target{} }},
		{"codedeploy", "CodeDeploy", func() any { return &CodeDeploy{} }},
		{"render", "Task definition and appspec", func() any { return &Render{} }},
		{"image", "The image to deploy", func() any { return &Image{} }},
		{"registries", "Where release copies the image", func() any { return &Registries{} }},
		{"build", "Building the image", func() any { return &Build{} }},
		{"checks", "Smoke checks", func() any { return &Checks{} }},
		{"deployment", "Steering a deployment", func() any { return &Deployment{} }},
		{"switch", "Switching colours (listener model)", func() any { return &Switch{} }},
		{"watch", "Waiting for AWS", func() any { return &Watch{} }},
		{"output", "Reports", func() any { return &Output{} }},
		{"status", "Status, history and many services", func() any { return &Status{} }},
		{"log", "Logging", func() any { return &Log{} }},
		{"cleanup", "Cleaning up task definitions", func() any { return &Cleanup{} }},
		{"sandbox", "The sandbox", func() any { return &Sandbox{} }},
		{"development", "Developing ecs-bluegreen itself", func() any { return &Development{} }},
	}
}

// Development holds settings read only by the project's own tests.
type Development struct {
	RequirePeers bool `env:"BG_REQUIRE_PEERS" desc:"Tests: fail, instead of skip, when an outside program they compare against (AWS CLI, moto_server, skopeo, ...) is missing."`
}

// Setting describes one variable for `ecs-bluegreen env`, `help` and the README.
type Setting struct {
	Var         string
	Family      string
	Default     string
	Description string
	Required    bool
	Secret      bool
}

// Reference describes every setting of every family.
func Reference() []Setting {
	var out []Setting
	for _, f := range Families() {
		out = append(out, Describe(f.Name, f.New())...)
	}
	return out
}

// Describe lists the settings of one family struct (pointer or value).
func Describe(family string, target any) []Setting {
	t := reflect.TypeOf(target)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []Setting
	for i := range t.NumField() {
		f := t.Field(i)
		key, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		if key == "" {
			continue
		}
		s := Setting{Var: key, Family: family, Description: f.Tag.Get("desc"), Secret: f.Tag.Get("secret") == "true"}
		for o := range strings.SplitSeq(opts, ",") {
			switch {
			case o == "required":
				s.Required = true
			case strings.HasPrefix(o, "default="):
				s.Default = strings.TrimPrefix(o, "default=")
			}
		}
		out = append(out, s)
	}
	return out
}
