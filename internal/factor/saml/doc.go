// Package saml uses a SAML 2.0 identity provider (AD FS, Entra ID, Okta,
// Shibboleth, Keycloak, ...) as a factor: the person signs in there and
// sspr accepts the assertion when it names them.
//
// sspr is the service provider, built on github.com/crewjam/saml.
// Challenge sends the person to the IdP's SSO endpoint with a fresh
// AuthnRequest (HTTP-Redirect) and a random RelayState, both kept in the
// challenge state; Verify takes the HTTP-POST response and has the library
// check it: the IdP's signature (certificates from its metadata), issuer,
// audience (sspr's entity ID), destination, InResponseTo (this challenge's
// request, so a response is good for one challenge only) and time
// conditions. Then the NameID, or a configured attribute, must equal the
// directory attribute (or the login).
//
// Nothing is enrolled. A person without the mapped attribute gets
// factor.ErrNotAvailable from Challenge (the caller issues a decoy);
// decoys redirect like real challenges and never verify.
package saml
