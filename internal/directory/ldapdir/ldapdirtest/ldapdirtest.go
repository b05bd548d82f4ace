package ldapdirtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// Context returns a context that ends after a minute or with the test.
func Context(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// WantErr checks err is a *directory.Error of kind with an Op and, if given,
// each of reasons among its Reasons, and returns it.
func WantErr(t testing.TB, err error, kind directory.Kind, reasons ...directory.Reason) *directory.Error {
	t.Helper()
	var e *directory.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *directory.Error of kind %v", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("got kind %v (%v), want %v", e.Kind, e, kind)
	}
	for _, r := range reasons {
		found := false
		for _, have := range e.Reasons {
			found = found || have == r
		}
		if !found {
			t.Fatalf("got reasons %v (%v), want %v", e.Reasons, e, r)
		}
	}
	if e.Op == "" {
		t.Errorf("error without Op: %v", e)
	}
	return e
}

// HasFinding reports whether r holds a finding id of severity sev.
func HasFinding(r *directory.Report, id string, sev directory.Severity) bool {
	for _, f := range r.Findings {
		if f.ID == id && f.Severity == sev {
			return true
		}
	}
	return false
}

// FindUser looks login up in d, failing the test when that fails.
func FindUser(t testing.TB, d directory.Directory, login string) *directory.User {
	t.Helper()
	u, err := d.FindUser(Context(t), login)
	if err != nil {
		t.Fatalf("FindUser(%q): %v", login, err)
	}
	return u
}

// Status reads u's account status from d, failing the test when that fails.
func Status(t testing.TB, d directory.StatusReader, u *directory.User) *directory.AccountStatus {
	t.Helper()
	st, err := d.AccountStatus(Context(t), u)
	if err != nil {
		t.Fatalf("AccountStatus: %v", err)
	}
	return st
}

// WantNotFound checks that each of logins (unknown names, wildcards, filter
// injections) is KindNotFound in d.
func WantNotFound(t testing.TB, d directory.Directory, logins ...string) {
	t.Helper()
	for _, login := range logins {
		_, err := d.FindUser(Context(t), login)
		WantErr(t, err, directory.KindNotFound)
	}
}

// VerifyPassword checks that right is user's password in d, and that a wrong
// and an empty password are KindInvalidCredentials.
func VerifyPassword(t testing.TB, d directory.Directory, user *directory.User, right string) {
	t.Helper()
	if err := d.VerifyPassword(Context(t), user, right); err != nil {
		t.Fatalf("right password: %v", err)
	}
	WantErr(t, d.VerifyPassword(Context(t), user, "Wrong-Pass1"), directory.KindInvalidCredentials)
	WantErr(t, d.VerifyPassword(Context(t), user, ""), directory.KindInvalidCredentials)
}

// Resetter is a directory that resets passwords.
type Resetter interface {
	directory.Directory
	directory.PasswordResetter
}

// ResetPassword resets user's password from old to newPassword and checks
// that the new one verifies and the old one no longer does.
func ResetPassword(t testing.TB, d Resetter, user *directory.User, old, newPassword string) {
	t.Helper()
	if err := d.ResetPassword(Context(t), user, newPassword); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if err := d.VerifyPassword(Context(t), user, newPassword); err != nil {
		t.Fatalf("new password: %v", err)
	}
	WantErr(t, d.VerifyPassword(Context(t), user, old), directory.KindInvalidCredentials)
}

// ResetTooShort checks that resetting user's password to short is a
// KindPolicyViolation naming ReasonTooShort, with MinLength minLength.
func ResetTooShort(t testing.TB, d directory.PasswordResetter, user *directory.User, short string, minLength int) {
	t.Helper()
	e := WantErr(t, d.ResetPassword(Context(t), user, short), directory.KindPolicyViolation, directory.ReasonTooShort)
	if e.MinLength != minLength {
		t.Errorf("MinLength = %d, want %d (%v)", e.MinLength, minLength, e)
	}
	t.Logf("server said: %s", e.Diagnostic)
}

// ForceChanger is a directory that sets and clears "must change".
type ForceChanger interface {
	directory.Directory
	directory.ForceChanger
}

// SetAndClearMustChange sets "must change" on user, clears it again, and
// checks that password then binds.
func SetAndClearMustChange(t testing.TB, d ForceChanger, user *directory.User, password string) {
	t.Helper()
	if err := d.SetMustChange(Context(t), user, true); err != nil {
		t.Fatal(err)
	}
	if err := d.SetMustChange(Context(t), user, false); err != nil {
		t.Fatalf("SetMustChange(false): %v", err)
	}
	if err := d.VerifyPassword(Context(t), user, password); err != nil {
		t.Fatalf("bind after clearing must change: %v", err)
	}
}
