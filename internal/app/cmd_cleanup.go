package app

import "context"

// runCleanup is built by a later change; until then the command validates its
// settings and says it is not available.
func runCleanup(_ context.Context, inv *invocation) error { return notImplemented(inv) }
