// Package api is sspr's JSON face: the same reset flow as the portal, for
// scripts, kiosks and other front-ends. It is described by openapi.yaml
// (served at /api/openapi.yaml); a test keeps the document and the routes in
// step. The flow token is carried in request bodies, never in URLs, so it
// does not end up in access logs.
package api
