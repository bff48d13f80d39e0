package app

import "context"

// runSwitch is built by a later change; until then the command validates its
// settings and says it is not available.
func runSwitch(_ context.Context, inv *invocation) error { return notImplemented(inv) }
