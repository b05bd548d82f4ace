// Package oidc uses an OpenID Connect identity provider (Entra ID, Okta,
// Keycloak, Google Workspace, ...) as a factor: the person signs in there
// and sspr accepts the result when the ID token names them.
//
// Challenge returns the provider's authorization URL for the
// authorization code flow with PKCE (S256), a fresh state and a fresh
// nonce, all kept in the challenge state (which the caller seals with the
// flow). Verify takes the answer at the redirect URL, checks the state,
// redeems the code with the PKCE verifier, and checks the ID token with
// github.com/coreos/go-oidc: signature against the provider's published
// keys, issuer, audience (and azp when there are several), expiry at the
// injected clock; then the nonce, and that the configured claim
// (preferred_username, upn, email, sub, ...) equals the directory
// attribute (or the login). A token for somebody else, for another
// client, from another issuer or with a bad signature never verifies.
//
// Nothing is enrolled. A person without the mapped attribute gets
// factor.ErrNotAvailable from Challenge (the caller issues a decoy);
// decoys redirect to the provider like real challenges and never verify.
package oidc
