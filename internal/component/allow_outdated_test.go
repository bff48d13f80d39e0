package component

import (
	"fmt"
	"testing"
)

// TestTemplates_allowOutdated: both components whose deploy refuses an
// outdated deployment (the codedeploy and ecs models in deploy, the
// listener model in switch) take allow_outdated, a boolean off by default,
// and their deploy job passes it on as BG_ALLOW_OUTDATED.
func TestTemplates_allowOutdated(t *testing.T) {
	t.Parallel()
	tmpls := loadTemplates(t)
	for name, job := range map[string]string{"deploy": "ecs-deploy", "switch": "ecs-listener-deploy"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tmpl := tmpls[name]
			in, ok := tmpl.Input("allow_outdated")
			if !ok {
				t.Fatalf("%s has no allow_outdated input", name)
			}
			if in.Type != "boolean" || fmt.Sprint(in.Default) != "false" {
				t.Errorf("allow_outdated: type %q, default %v; want a boolean, false", in.Type, in.Default)
			}
			for given, want := range map[string]string{"": "false", "true": "true"} {
				var values map[string]any
				if given != "" {
					values = map[string]any{"allow_outdated": true}
				}
				vars, _ := resolveExtends(t, expandDefaults(t, tmpl, values), job)["variables"].(map[string]any)
				if got := fmt.Sprint(vars["BG_ALLOW_OUTDATED"]); got != want {
					t.Errorf("allow_outdated %q: %s has BG_ALLOW_OUTDATED=%q, want %q", given, job, got, want)
				}
			}
		})
	}
}
