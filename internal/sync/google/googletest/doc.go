// Package googletest is a local stand-in for Google's OAuth token endpoint
// (the JWT bearer grant of a service account with domain-wide delegation)
// and the Admin SDK Directory API's users.update, for tests. It checks the
// assertion's signature, issuer, audience, scope and delegated subject,
// bearer tokens, and the hashed password body, and answers with Google's
// documented error JSON. Hand-written: the real service is a vendor cloud.
package googletest
