// Package web holds what every HTTP face of sspr shares: security headers,
// cross-origin request protection, the client address behind trusted
// proxies, the language choice, and the mapping from a flow refusal to an
// HTTP status. The portal (web/portal) and the JSON API (api) build on it so
// both answer the same refusal the same way.
package web
