package store

import (
	"database/sql"
	"errors"
	"time"
)

// Connector is an outbound-only directory connector the admin added: the
// public half of its Ed25519 key and the directory it serves.
type Connector struct {
	Name       string
	Directory  string
	PublicKey  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	LastIP     string
	RevokedAt  time.Time
}

const connectorColumns = `name, directory, public_key, created_at, last_seen_at, last_ip, revoked_at`

func scanConnector(row interface{ Scan(...any) error }) (*Connector, error) {
	var c Connector
	var created, seen, revoked int64
	if err := row.Scan(&c.Name, &c.Directory, &c.PublicKey, &created, &seen, &c.LastIP, &revoked); err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastSeenAt, c.RevokedAt = fromMillis(created), fromMillis(seen), fromMillis(revoked)
	return &c, nil
}

// InsertConnector stores a new connector; ErrConflict when the name was
// ever used (names are not reused, so audit records stay unambiguous).
func (t *Tx) InsertConnector(c *Connector) error {
	if _, err := t.ConnectorByName(c.Name); err == nil {
		return ErrConflict
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO connectors (`+connectorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.Name, c.Directory, c.PublicKey, millis(c.CreatedAt), millis(c.LastSeenAt), c.LastIP, millis(c.RevokedAt))
	return err
}

// ConnectorByName loads a connector; ErrNotFound when there is none.
func (t *Tx) ConnectorByName(name string) (*Connector, error) {
	c, err := scanConnector(t.tx.QueryRowContext(t.ctx, `SELECT `+connectorColumns+` FROM connectors WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return c, err
}

// Connectors lists every connector, by name.
func (t *Tx) Connectors() ([]*Connector, error) {
	rows, err := t.tx.QueryContext(t.ctx, `SELECT `+connectorColumns+` FROM connectors ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Connector
	for rows.Next() {
		c, err := scanConnector(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// TouchConnector records that a connector connected, and from where.
func (t *Tx) TouchConnector(name, ip string, at time.Time) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE connectors SET last_seen_at = ?, last_ip = ? WHERE name = ?`, millis(at), ip, name)
	return err
}

// RevokeConnector revokes the named connector, reporting whether it was
// active until now.
func (t *Tx) RevokeConnector(name string, at time.Time) (bool, error) {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE connectors SET revoked_at = ? WHERE name = ? AND revoked_at = 0`, millis(at), name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
