package app

import (
	"fmt"

	"gitlab.com/ecs-bluegreen/ecs-bluegreen/internal/config"
)

// settings are a run's loaded settings, one typed field per config family:
// the families the command reads are set, the others are nil. A command's
// code reads the fields it declared in the command table, so a missing
// family is a nil pointer found by the first test, not a failed type
// assertion on a map.
type settings struct {
	AWS        *config.AWS
	Target     *config.Target
	CodeDeploy *config.CodeDeploy
	Render     *config.Render
	Image      *config.Image
	Registries *config.Registries
	Build      *config.Build
	Checks     *config.Checks
	Deployment *config.Deployment
	Switch     *config.Switch
	Watch      *config.Watch
	Output     *config.Output
	Status     *config.Status
	Log        *config.Log
	Cleanup    *config.Cleanup
	Sandbox    *config.Sandbox
}

// set stores one loaded family.
func (s *settings) set(family any) {
	switch f := family.(type) {
	case *config.AWS:
		s.AWS = f
	case *config.Target:
		s.Target = f
	case *config.CodeDeploy:
		s.CodeDeploy = f
	case *config.Render:
		s.Render = f
	case *config.Image:
		s.Image = f
	case *config.Registries:
		s.Registries = f
	case *config.Build:
		s.Build = f
	case *config.Checks:
		s.Checks = f
	case *config.Deployment:
		s.Deployment = f
	case *config.Switch:
		s.Switch = f
	case *config.Watch:
		s.Watch = f
	case *config.Output:
		s.Output = f
	case *config.Status:
		s.Status = f
	case *config.Log:
		s.Log = f
	case *config.Cleanup:
		s.Cleanup = f
	case *config.Sandbox:
		s.Sandbox = f
	default:
		// A family added to config without a field here: TestSettingsCoverEveryFamily fails.
		panic(fmt.Sprintf("settings: no field for config family %T", family))
	}
}
