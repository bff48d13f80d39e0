package app

import "context"

// runSandbox is built by a later change; until then the command validates its
// settings and says it is not available.
func runSandbox(_ context.Context, inv *invocation) error { return notImplemented(inv) }
