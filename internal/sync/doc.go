// Package sync carries a new password from the primary directory to the
// other places a person signs in to (Entra ID, Google Workspace, another
// LDAP directory, a hook).
//
// It never calls a target from inside a flow: the Planner turns the new
// password into one sealed outbox message per target, written in the same
// transaction as the flow's change (held until the change is known, like
// the notices), and the Sender, the outbox worker's sender for channel
// "sync", opens each message and calls its target. So a sync survives a
// crash, is retried with backoff (longer when a target says Retry-After),
// is sent once when the worker survives, and the password leaves the
// database when the message is delivered or given up. A permanent failure
// is audited and mailed to the admins.
//
// Import it as pwsync where the standard library's sync is also needed.
package sync
