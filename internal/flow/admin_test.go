package flow_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/store"
)

// TestAdminSessionIdleTimeoutAndRoles checks on an injected clock that a
// console session ends after the idle timeout (activity keeps it alive, up
// to its absolute lifetime), that the end is audited, and that a role the
// session lacks is refused and audited.
func TestAdminSessionIdleTimeoutAndRoles(t *testing.T) {
	h := newHarness(t)
	a := &flow.Admin{Enroll: h.enroll(), IdleTimeout: 15 * time.Minute, SessionTTL: time.Hour}
	ctx := context.Background()
	newSession := func(token string, verified bool, roles ...string) {
		t.Helper()
		sum := sha256.Sum256([]byte(token))
		now := h.clock.Now()
		s := &store.AdminSession{TokenHash: sum[:], Directory: "demo", SubjectDN: "uid=x,dc=demo", Login: "x", Roles: roles,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(a.SessionTTL)}
		if verified {
			s.VerifiedAt = now
		}
		if err := h.store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertAdminSession(s) }); err != nil {
			t.Fatal(err)
		}
	}
	code := func(err error) flow.Code {
		var fe *flow.Error
		if errors.As(err, &fe) {
			return fe.Code
		}
		return ""
	}
	tok := strings.Repeat("a", 43)
	newSession(tok, true, "helpdesk")
	for i := 0; i < 3; i++ { // 42 minutes of steady use
		h.clock.Advance(14 * time.Minute)
		if _, err := a.Authorize(ctx, tok, "192.0.2.1", "home"); err != nil {
			t.Fatalf("active session refused after %d steps: %v", i+1, err)
		}
	}
	if _, err := a.Authorize(ctx, tok, "192.0.2.1", "roles", flow.RoleAdmin); code(err) != flow.CodeForbidden {
		t.Fatalf("a helpdesk session opened an admin-only action: %v", err)
	}
	h.clock.Advance(15*time.Minute + time.Second)
	if _, err := a.Authorize(ctx, tok, "192.0.2.1", "home"); code(err) != flow.CodeSessionNotFound {
		t.Fatalf("idle session: %v, want session_not_found", err)
	}
	// Gone for good, even if the clock were turned back.
	if _, err := a.Authorize(ctx, tok, "192.0.2.1", "home"); code(err) != flow.CodeSessionNotFound {
		t.Fatalf("ended session: %v", err)
	}

	// The absolute lifetime holds however busy the session is.
	tok2 := strings.Repeat("b", 43)
	newSession(tok2, true, "admin")
	for elapsed := time.Duration(0); elapsed <= a.SessionTTL; elapsed += 10 * time.Minute {
		h.clock.Advance(10 * time.Minute)
		_, err := a.Authorize(ctx, tok2, "192.0.2.1", "home")
		if (elapsed+10*time.Minute <= a.SessionTTL) != (err == nil) {
			t.Fatalf("after %s: %v", elapsed+10*time.Minute, err)
		}
	}
	// A session whose second factor is not verified opens nothing.
	tok3 := strings.Repeat("c", 43)
	newSession(tok3, false, "admin")
	if _, err := a.Authorize(ctx, tok3, "192.0.2.1", "home"); code(err) != flow.CodeSessionNotFound {
		t.Fatalf("unverified session: %v", err)
	}

	var rows []*store.AuditRecord
	if err := h.store.InTx(ctx, func(tx *store.Tx) (err error) {
		rows, err = tx.SearchAudit(store.AuditFilter{EventPrefix: "admin."})
		return
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Event+"/"+r.Outcome+"/"+r.Reason)
	}
	want := []string{"admin.signout/info/expired", "admin.signout/info/idle", "admin.denied/denied/role"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("audit: %v, want %v", got, want)
	}
}

// TestAdminAuditViewerVerifiesIncrementally: each view of the audit log
// checks the rows added since the last view, and the count covers them all.
func TestAdminAuditViewerVerifiesIncrementally(t *testing.T) {
	h := newHarness(t)
	a := &flow.Admin{Enroll: h.enroll(), IdleTimeout: 15 * time.Minute, SessionTTL: time.Hour}
	ctx := context.Background()
	appendN := func(n int) {
		t.Helper()
		err := h.store.InTx(ctx, func(tx *store.Tx) error {
			for i := 0; i < n; i++ {
				if err := h.reset.Audit.Append(tx, audit.Event{At: h.clock.Now(), Event: "test.event", Outcome: audit.Info}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	appendN(5)
	first, err := a.Audit(ctx, flow.AuditQuery{Event: "test."})
	if err != nil || first.VerifyError != "" || len(first.Records) != 5 {
		t.Fatalf("first view: %+v, %v", first, err)
	}
	appendN(3)
	second, err := a.Audit(ctx, flow.AuditQuery{Event: "test.", Limit: 2})
	if err != nil || second.VerifyError != "" || len(second.Records) != 2 || second.Verified != first.Verified+3 {
		t.Fatalf("second view: verified %d after %d, %d records, %q, %v", second.Verified, first.Verified, len(second.Records), second.VerifyError, err)
	}
}
