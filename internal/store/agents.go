package store

import (
	"database/sql"
	"errors"
	"time"
)

// AgentToken is a one-time registration token for a login-screen agent;
// only its HMAC is stored.
type AgentToken struct {
	TokenHash []byte
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InsertAgentToken stores a new registration token.
func (t *Tx) InsertAgentToken(a *AgentToken) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO agent_tokens (token_hash, name, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		a.TokenHash, a.Name, millis(a.CreatedAt), millis(a.ExpiresAt))
	return err
}

// UseAgentToken consumes an unused, unexpired token in one statement and
// returns the machine name it was issued for; ErrNotFound when there is no
// such token (unknown, used or expired — the caller cannot tell which).
func (t *Tx) UseAgentToken(hash []byte, now time.Time) (string, error) {
	var name string
	err := t.tx.QueryRowContext(t.ctx, `UPDATE agent_tokens SET used_at = ? WHERE token_hash = ? AND used_at = 0 AND expires_at > ?
		RETURNING name`, millis(now), hash, millis(now)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

// Agent is a registered login-screen agent.
type Agent struct {
	ID           string
	Name         string
	PublicKey    []byte
	Version      string
	RegisteredAt time.Time
	LastSeenAt   time.Time
	LastIP       string
	RevokedAt    time.Time
}

const agentColumns = `id, name, public_key, version, registered_at, last_seen_at, last_ip, revoked_at`

func scanAgent(row interface{ Scan(...any) error }) (*Agent, error) {
	var a Agent
	var reg, seen, revoked int64
	if err := row.Scan(&a.ID, &a.Name, &a.PublicKey, &a.Version, &reg, &seen, &a.LastIP, &revoked); err != nil {
		return nil, err
	}
	a.RegisteredAt, a.LastSeenAt, a.RevokedAt = fromMillis(reg), fromMillis(seen), fromMillis(revoked)
	return &a, nil
}

// InsertAgent stores a newly registered agent.
func (t *Tx) InsertAgent(a *Agent) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.PublicKey, a.Version, millis(a.RegisteredAt), millis(a.LastSeenAt), a.LastIP, millis(a.RevokedAt))
	return err
}

// AgentByID loads an agent; ErrNotFound when there is none.
func (t *Tx) AgentByID(id string) (*Agent, error) {
	a, err := scanAgent(t.tx.QueryRowContext(t.ctx, `SELECT `+agentColumns+` FROM agents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return a, err
}

// Agents lists every agent, by name.
func (t *Tx) Agents() ([]*Agent, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+agentColumns+` FROM agents ORDER BY name, registered_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TouchAgent records that an agent was seen, with its version and address.
func (t *Tx) TouchAgent(id, version, ip string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE agents SET last_seen_at = ?, version = ?, last_ip = ? WHERE id = ?`, millis(at), version, ip, id)
	return err
}

// RevokeAgents revokes the agents whose ID or name is key, returning how
// many were revoked (already revoked ones are not counted).
func (t *Tx) RevokeAgents(key string, at time.Time) (int64, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE agents SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at = 0`, millis(at), key, key)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
