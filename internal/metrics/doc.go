// Package metrics is sspr's Prometheus instrumentation (the official
// client library): requests and their latency per route, the audited
// events of every flow by action, step and outcome (so every reset,
// unlock, change, enrollment, block and breach refusal is counted where
// it is recorded, once committed), directory servers that failed to
// answer, and gauges read at scrape time (outbox backlog, registered
// agents). The handler is served only on the opt-in
// server.metrics_listen listener, never on the portal's, because counts of
// outcomes are nobody's business outside the operators'.
package metrics
