package app

import "context"

// runPromote is built by a later change; until then the command validates its
// settings and says it is not available.
func runPromote(_ context.Context, inv *invocation) error { return notImplemented(inv) }
