// Package record holds the flow package's persisted record types and the
// persister interface the flows need for them (the Kratos persistence.go
// shape): the flows own what a flow record is; internal/store implements
// the interface. It sits below both, so the store need not import the
// flows.
package record
