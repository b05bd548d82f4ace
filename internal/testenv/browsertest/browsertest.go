package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// RequireEnv turns "skip" into "fail" when chromium is missing.
const RequireEnv = "SSPR_TEST_REQUIRE_INTEGRATION"

// Options tune New.
type Options struct {
	// Timeout bounds the whole browser session; 90 seconds when zero.
	Timeout time.Duration
	// Width and Height of the window; a phone-sized 412×915 when zero.
	Width, Height int
}

// New starts headless Chromium with a fresh profile and returns a chromedp
// context with a tab open. The browser stops when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	return NewWithOptions(t, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(t testing.TB, o Options) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatal("chromium is not installed (scripts/testenv/browser.sh installs it)")
		}
		t.Skip("chromium is not installed (scripts/testenv/browser.sh installs it)")
	}
	if o.Timeout <= 0 {
		o.Timeout = 90 * time.Second
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 412, 915
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(o.Width, o.Height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, o.Timeout)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// Authenticator describes a virtual authenticator.
type Authenticator struct {
	// Protocol is "ctap2" (the default) or "u2f".
	Protocol string
	// Transport is "internal" (a platform authenticator, the default),
	// "usb", "nfc", "ble" or "hybrid".
	Transport string
	// ResidentKey: the authenticator stores discoverable credentials.
	ResidentKey bool
	// UserVerification: the authenticator can verify the user (a PIN, a
	// fingerprint).
	UserVerification bool
	// UserVerified: verifying the user succeeds.
	UserVerified bool
	// NoPresence: tests of user presence hang instead of succeeding at
	// once (Chrome's automaticPresenceSimulation off).
	NoPresence bool
	// BackupEligible and BackupState set the BE and BS flags of new
	// credentials (a synced passkey has both).
	BackupEligible, BackupState bool
}

// Passkey is a platform authenticator with discoverable credentials and
// successful user verification: a phone or laptop passkey.
func Passkey() Authenticator {
	return Authenticator{Protocol: "ctap2", Transport: "internal", ResidentKey: true, UserVerification: true, UserVerified: true}
}

// SecurityKey is a USB key with no user verification (no PIN set).
func SecurityKey() Authenticator {
	return Authenticator{Protocol: "ctap2", Transport: "usb"}
}

// AddVirtualAuthenticator enables the WebAuthn domain in ctx's tab
// (intercepting navigator.credentials with no UI) and adds an
// authenticator; the tab's WebAuthn calls reach the authenticators added.
func AddVirtualAuthenticator(ctx context.Context, a Authenticator) (webauthn.AuthenticatorID, error) {
	if a.Protocol == "" {
		a.Protocol = "ctap2"
	}
	if a.Transport == "" {
		a.Transport = "internal"
	}
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		return "", fmt.Errorf("browsertest: WebAuthn.enable: %w", err)
	}
	opts := &webauthn.VirtualAuthenticatorOptions{
		Protocol:            webauthn.AuthenticatorProtocol(a.Protocol),
		Transport:           webauthn.AuthenticatorTransport(a.Transport),
		HasResidentKey:      a.ResidentKey,
		HasUserVerification: a.UserVerification,
		IsUserVerified:      a.UserVerified,
		// cdproto sends every bool, so the protocol's default (true)
		// must be spelled out.
		AutomaticPresenceSimulation: !a.NoPresence,
		DefaultBackupEligibility:    a.BackupEligible,
		DefaultBackupState:          a.BackupState,
	}
	if a.Protocol == "ctap2" {
		opts.Ctap2version = webauthn.Ctap2versionCtap21
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: opts})
	if err != nil {
		return "", fmt.Errorf("browsertest: WebAuthn.addVirtualAuthenticator: %w", err)
	}
	if res.AuthenticatorID == "" {
		return "", errors.New("browsertest: WebAuthn.addVirtualAuthenticator returned no id")
	}
	return res.AuthenticatorID, nil
}

// RemoveVirtualAuthenticator removes an authenticator and its credentials.
func RemoveVirtualAuthenticator(ctx context.Context, id webauthn.AuthenticatorID) error {
	_, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
	return err
}

// Credentials lists the credentials an authenticator holds.
func Credentials(ctx context.Context, id webauthn.AuthenticatorID) ([]*webauthn.Credential, error) {
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		return nil, err
	}
	return res.Credentials, nil
}

// SetUserVerified makes user verification on the authenticator succeed or
// fail.
func SetUserVerified(ctx context.Context, id webauthn.AuthenticatorID, verified bool) error {
	_, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: verified})
	return err
}

// Override makes the authenticator's next responses lie, for tests of a
// relying party's checks.
type Override struct {
	// BogusSignature zeroes the signature.
	BogusSignature bool
	// BadUV clears the user-verified flag.
	BadUV bool
	// BadUP clears the user-present flag.
	BadUP bool
}

// SetResponseOverride sets (or, with a zero Override, clears) lies in the
// authenticator's responses.
func SetResponseOverride(ctx context.Context, id webauthn.AuthenticatorID, o Override) error {
	_, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{
		AuthenticatorID: id, IsBogusSignature: new(o.BogusSignature), IsBadUV: new(o.BadUV), IsBadUP: new(o.BadUP),
	})
	return err
}

// ClearCredentials deletes every credential an authenticator holds.
func ClearCredentials(ctx context.Context, id webauthn.AuthenticatorID) error {
	_, err := chromedp.Call(ctx, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: id})
	return err
}
