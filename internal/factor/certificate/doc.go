// Package certificate is the smart card / client certificate factor: the
// person presents a certificate in the TLS handshake (mutual TLS to sspr,
// or to a trusted proxy that passes it on in a header, ParseProxyHeader),
// and Verify checks it:
//
//   - the chain to a configured root, at the injected clock's time (so
//     expiry), for client authentication;
//   - the mapping to the person: the UPN subject alternative name (smart
//     cards for Windows logon), an e-mail SAN, or the certificate's SHA-256
//     fingerprint, against a directory attribute;
//   - revocation, for every certificate of the chain below the root: the
//     OCSP responder and the CRL each certificate names (fetched only after
//     the chain verified, so only a trusted CA's URLs are contacted; CRLs
//     cached until their next update, their signatures and currency
//     checked). Revoked by either source refuses; neither answering
//     refuses too unless Config.RevocationOptional.
//
// Possession of the private key is what the TLS handshake proved; the
// factor trusts its caller to fill the response only from that handshake
// (or the trusted proxy), never from a form field.
//
// Nothing is enrolled: the directory maps certificates to people. A
// person without the mapping attribute gets factor.ErrNotAvailable from
// Challenge (the caller issues a decoy); decoys never verify.
package certificate
