// Package portal is sspr's browser face: server-rendered HTML pages that work
// without JavaScript (every step is a plain form POST followed by a
// redirect), are accessible (labels, error summaries announced to screen
// readers, autocomplete hints, visible focus) and fit a phone. A small
// script only enhances (show-password toggle); nothing depends on it.
//
// The portal never talks to a directory or the store: it drives the reset
// flow through the Reset interface. The flow's token travels in an
// HttpOnly, SameSite=Strict cookie (__Host- prefixed under HTTPS), so it
// never appears in a URL, a log line or a Referer header.
package portal
