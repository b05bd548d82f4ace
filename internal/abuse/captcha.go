package abuse

import "context"

// Captcha checks a CAPTCHA response token with its provider. sspr ships no
// provider; this is the hook for one.
//
// To plug in hCaptcha or Cloudflare Turnstile, an operator (or a later
// package under internal/abuse/captcha) implements Verify as one POST of
// the form fields secret, response=token and remoteip=remoteIP to the
// provider's siteverify endpoint (https://api.hcaptcha.com/siteverify,
// https://challenges.cloudflare.com/turnstile/v0/siteverify), returning the
// JSON "success" field; the portal renders the provider's widget with the
// public site key and sends its token along with the identify form. Wire it
// in internal/app from config (provider, site key, secret_file), and check
// it in the same step and transaction the limiter guards: a CAPTCHA adds
// cost to each request, it does not replace the stored limits, which must
// hold whether or not a CAPTCHA was solved.
type Captcha interface {
	// Verify reports whether token is a valid, unused solution for a
	// request from remoteIP. An error means the provider could not be
	// asked (the caller decides whether to fail open or closed); a wrong
	// or replayed token is false with a nil error.
	Verify(ctx context.Context, token, remoteIP string) (bool, error)
}
