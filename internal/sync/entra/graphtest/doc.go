// Package graphtest is a local stand-in for Microsoft Entra's token
// endpoint and Microsoft Graph's PATCH /v1.0/users/{id}, for tests. It
// speaks the documented formats: the client credentials grant with a
// secret or an RFC 7523 client assertion (checked against the registered
// certificate), bearer tokens on Graph calls, Graph's JSON error body, and
// 429/503 with Retry-After when a test scripts them. It is hand-written
// because the real service is a vendor cloud.
package graphtest
