package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/agent"
	"github.com/sspr/sspr/internal/store"
)

// TestAgentRegistrationAndSignedRequests: an admin's one-time token
// registers a machine once; its signed requests are accepted and recorded
// (last seen, version); a forged or revoked signature is refused with 401;
// unsigned clients (the portal, plain API users) are unaffected.
func TestAgentRegistrationAndSignedRequests(t *testing.T) {
	in := start(t, startDemoDirectory(t), "abuse:\n  identify_per_ip: {limit: 4, window: 1h}\n")
	ctx := context.Background()
	token, _, err := in.App.Agents.IssueToken(ctx, "laptop-7", time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := agentClient(t, in)
	path := filepath.Join(t.TempDir(), "identity.json")
	id, err := agent.Register(ctx, c, token, "1.2.3", path, false)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if id.Name != "laptop-7" || id.AgentID == "" {
		t.Fatalf("registered as %+v", id)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v %v", fi.Mode(), err)
	}
	// The token works once.
	if _, err := agent.Register(ctx, c, token, "1.2.3", filepath.Join(t.TempDir(), "again.json"), false); err == nil {
		t.Fatal("a used token registered a second machine")
	}

	signed := agentClient(t, in)
	loaded, err := agent.LoadIdentity(path)
	if err != nil || loaded == nil {
		t.Fatalf("load identity: %v", err)
	}
	signed.HTTP.Transport = loaded.Transport(http.DefaultTransport, "1.2.4")
	if st, err := signed.Start(ctx, "reset", "alice"); err != nil || st.FlowID == "" {
		t.Fatalf("signed start: %+v %v", st, err)
	}
	list, err := in.App.Agents.List(ctx)
	if err != nil || len(list) != 1 || list[0].Version != "1.2.4" || list[0].LastSeenAt.IsZero() || list[0].Revoked {
		t.Fatalf("agents list after a signed request: %+v %v", list, err)
	}

	// A key that is not the registered one.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged := agentClient(t, in)
	forged.HTTP.Transport = (&agent.Identity{AgentID: id.AgentID, PrivateKey: other}).Transport(http.DefaultTransport, "")
	if _, err := forged.Start(ctx, "reset", "alice"); !isAgentRefusal(err) {
		t.Fatalf("forged signature: %v", err)
	}
	// Unsigned clients still work, limited per address; the agent is
	// limited per machine, so a busy address does not lock it out.
	for i := 0; ; i++ {
		_, err := agentClient(t, in).Start(ctx, "reset", "alice")
		if ae, ok := err.(*agent.APIError); ok && ae.Code == "rate_limited" {
			break
		} else if err != nil || i > 5 {
			t.Fatalf("unsigned start %d: %v", i, err)
		}
	}
	if _, err := signed.Start(ctx, "reset", "alice"); err != nil {
		t.Fatalf("the agent was limited with the address it shares: %v", err)
	}
	// The audit log names the machine.
	named := false
	_ = in.App.Store().InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.AuditRecords(0, 10000)
		for _, r := range rows {
			if r.Event == "reset.identify" && strings.HasPrefix(r.ClientIP, "agent:laptop-7/") {
				named = true
			}
		}
		return err
	})
	if !named {
		t.Fatal("no identify record names the agent's machine")
	}
	// Revoked: refused.
	if n, err := in.App.Agents.Revoke(ctx, "laptop-7", "test"); err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	if _, err := signed.Start(ctx, "reset", "alice"); !isAgentRefusal(err) {
		t.Fatalf("revoked agent: %v", err)
	}
}

func isAgentRefusal(err error) bool {
	ae, ok := err.(*agent.APIError)
	return ok && ae.Status == http.StatusUnauthorized && ae.Code == "agent_unauthorized" && strings.Contains(ae.Message, "registered")
}
