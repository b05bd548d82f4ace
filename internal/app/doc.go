// Package app is the one place where sspr is wired together: configuration
// in, components out. It builds the directories, the store, the flows, the
// mail outbox worker and the HTTP faces, and runs them until told to stop,
// then shuts down gracefully (in-flight requests finish, the outbox worker
// stops between messages). No other package reaches for global state.
package app
