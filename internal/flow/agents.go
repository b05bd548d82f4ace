package flow

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/store"
)

// Agents registers login-screen agents and recognises their requests: a
// managed machine has a key pair, registered once with a one-time token an
// admin issued, and signs every API request with it. The server then knows
// a request comes from that machine (per-machine limits, audit records that
// name it, revocation).
type Agents struct {
	// Kit is the shared equipment (store, audit, log, clock).
	*Kit
	// TokenKey keys the HMAC that registration tokens are stored as.
	TokenKey []byte
	// MaxSkew is how far a request's timestamp may be from the server's
	// clock (default 2 minutes): the window in which a captured request
	// could be replayed.
	MaxSkew time.Duration
	// SeenEvery throttles the last-seen write (default one minute), so a
	// busy agent does not cost a write per request.
	SeenEvery time.Duration
}

// Machine is a registered agent, as requests carry it.
type Machine struct {
	ID   string
	Name string
}

// AgentView is an agent as the CLI and admin views list it.
type AgentView struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Version      string    `json:"version"`
	RegisteredAt time.Time `json:"registered_at"`
	LastSeenAt   time.Time `json:"last_seen_at,omitzero"`
	LastIP       string    `json:"last_ip,omitempty"`
	Revoked      bool      `json:"revoked"`
}

// SignaturePrefix starts the signed text of every agent request.
const SignaturePrefix = "sspr-agent-v1"

// AgentSigningText is what an agent signs for one request: the method, the
// request URI, the Unix time in seconds and the SHA-256 of the body.
func AgentSigningText(method, requestURI string, unix int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(SignaturePrefix + "\n" + method + "\n" + requestURI + "\n" + strconv.FormatInt(unix, 10) + "\n" + hex.EncodeToString(sum[:]))
}

var errAgentRefused = errors.New("agent refused")

func (a *Agents) tokenHash(token string) []byte {
	m := hmac.New(sha256.New, a.TokenKey)
	m.Write([]byte("agent-token\x00" + token))
	return m.Sum(nil)
}

// IssueToken creates a one-time registration token for the machine name,
// valid for ttl.
func (a *Agents) IssueToken(ctx context.Context, name string, ttl time.Duration, actor string) (string, time.Time, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 128 || !utf8.ValidString(name) {
		return "", time.Time{}, errors.New("a machine name of 1 to 128 characters is required")
	}
	if ttl <= 0 || ttl > 30*24*time.Hour {
		return "", time.Time{}, errors.New("the token's lifetime must be between 1s and 30 days")
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, raw); err != nil {
		return "", time.Time{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := a.now()
	expires := now.Add(ttl)
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAgentToken(&store.AgentToken{TokenHash: a.tokenHash(token), Name: name, CreatedAt: now, ExpiresAt: expires}); err != nil {
			return err
		}
		return a.Audit.Append(tx, audit.Event{At: now, Event: "agent.token_issued", Actor: actor, Outcome: audit.Success,
			Detail: map[string]any{"machine": name, "expires_at": expires.Format(time.RFC3339)}})
	})
	return token, expires, err
}

// Register consumes a registration token and records the machine's public
// key; it returns the new agent's ID. An unknown, used or expired token is
// refused with CodeCredentialsWrong (which of them is not told).
func (a *Agents) Register(ctx context.Context, token string, publicKey []byte, version, clientIP string) (Machine, error) {
	if len(publicKey) != ed25519.PublicKeySize {
		return Machine{}, &Error{Code: CodeCredentialsWrong, Err: fmt.Errorf("public key has %d bytes", len(publicKey))}
	}
	if len(version) > 64 || !utf8.ValidString(version) {
		version = ""
	}
	idRaw := make([]byte, 16)
	if _, err := io.ReadFull(rand.Reader, idRaw); err != nil {
		return Machine{}, &Error{Code: CodeInternal, Err: err}
	}
	m := Machine{ID: hex.EncodeToString(idRaw)}
	now := a.now()
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		name, err := tx.UseAgentToken(a.tokenHash(token), now)
		if errors.Is(err, store.ErrNotFound) {
			return errAgentRefused
		}
		if err != nil {
			return err
		}
		m.Name = name
		if err := tx.InsertAgent(&store.Agent{ID: m.ID, Name: name, PublicKey: publicKey, Version: version, RegisteredAt: now,
			LastSeenAt: now, LastIP: clientIP}); err != nil {
			return err
		}
		return a.Audit.Append(tx, audit.Event{At: now, Event: "agent.registered", ClientIP: clientIP, Outcome: audit.Success,
			Detail: map[string]any{"machine": name, "agent": m.ID, "version": version}})
	})
	if errors.Is(err, errAgentRefused) {
		_ = a.Store.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
			return a.Audit.Append(tx, audit.Event{At: now, Event: "agent.registered", ClientIP: clientIP, Outcome: audit.Denied, Reason: "token_invalid"})
		})
		return Machine{}, refuse(CodeCredentialsWrong)
	}
	if err != nil {
		return Machine{}, &Error{Code: CodeInternal, Err: err}
	}
	a.log().Info("login-screen agent registered", "machine", m.Name, "agent", m.ID, "version", version)
	return m, nil
}

// Authenticate checks one signed request: the agent exists and is not
// revoked, the timestamp is within MaxSkew, and the signature over
// AgentSigningText verifies with its registered key.
func (a *Agents) Authenticate(ctx context.Context, agentID, timestamp, signature, method, requestURI string, body []byte, version, clientIP string) (Machine, error) {
	skew := a.MaxSkew
	if skew <= 0 {
		skew = 2 * time.Minute
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	now := a.now()
	if err != nil || now.Sub(time.Unix(unix, 0)).Abs() > skew {
		return Machine{}, refuse(CodeCredentialsWrong)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil || len(sig) != ed25519.SignatureSize || len(agentID) > 64 {
		return Machine{}, refuse(CodeCredentialsWrong)
	}
	var ag *store.Agent
	err = a.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		ag, err = tx.AgentByID(agentID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Machine{}, refuse(CodeCredentialsWrong)
	}
	if err != nil {
		return Machine{}, &Error{Code: CodeInternal, Err: err}
	}
	if !ag.RevokedAt.IsZero() || !ed25519.Verify(ed25519.PublicKey(ag.PublicKey), AgentSigningText(method, requestURI, unix, body), sig) {
		return Machine{}, refuse(CodeCredentialsWrong)
	}
	every := a.SeenEvery
	if every <= 0 {
		every = time.Minute
	}
	if len(version) > 64 || !utf8.ValidString(version) {
		version = ag.Version
	}
	if now.Sub(ag.LastSeenAt) >= every || ag.LastIP != clientIP || (version != "" && version != ag.Version) {
		if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.TouchAgent(ag.ID, version, clientIP, now) }); err != nil {
			a.log().Warn("recording an agent's last contact failed", "agent", ag.ID, "err", err)
		}
	}
	return Machine{ID: ag.ID, Name: ag.Name}, nil
}

// List returns every registered agent.
func (a *Agents) List(ctx context.Context) ([]AgentView, error) {
	var out []AgentView
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		all, err := tx.Agents()
		for _, ag := range all {
			out = append(out, AgentView{ID: ag.ID, Name: ag.Name, Version: ag.Version, RegisteredAt: ag.RegisteredAt,
				LastSeenAt: ag.LastSeenAt, LastIP: ag.LastIP, Revoked: !ag.RevokedAt.IsZero()})
		}
		return err
	})
	return out, err
}

// Revoke revokes the agents with this ID or machine name; their signatures
// are refused from now on. It returns how many it revoked.
func (a *Agents) Revoke(ctx context.Context, key, actor string) (int64, error) {
	now := a.now()
	var n int64
	err := a.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.RevokeAgents(key, now); err != nil || n == 0 {
			return err
		}
		return a.Audit.Append(tx, audit.Event{At: now, Event: "agent.revoked", Actor: actor, Outcome: audit.Success,
			Detail: map[string]any{"agent": key, "count": n}})
	})
	return n, err
}
