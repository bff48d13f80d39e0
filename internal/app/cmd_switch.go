package app

import "context"

// runSwitch points production at the other colour (listener model).
func runSwitch(ctx context.Context, inv *invocation) error {
	if !inv.isListenerModel() {
		return &usageError{
			msg:  "switch moves production between two services (the listener model), and BG_BLUE_SERVICE/BG_GREEN_SERVICE are not set",
			hint: "in the codedeploy model, promote moves production traffic and rollback moves it back",
		}
	}
	return runSwitchListener(ctx, inv)
}
