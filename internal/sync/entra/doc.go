// Package entra is the Microsoft Entra ID sync target: it sets a cloud
// account's password through Microsoft Graph (PATCH /v1.0/users/{id} with
// passwordProfile), authenticated by the OAuth2 client credentials grant
// with a client secret or a certificate (an RFC 7523 client assertion).
//
// Graph's throttling (429 with Retry-After) and outages (503, 504) are
// retried, after the wait Graph names; an unknown user (404), a password
// Entra refuses (400) or missing rights (403) are permanent.
package entra
