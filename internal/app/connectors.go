package app

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/remote"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/web"
)

// newConnectorDirectory builds the server's side of a type connector
// directory (validated in config); the hub built by newConnectorHub hands
// it its connectors.
func newConnectorDirectory(d config.Directory) directory.Directory {
	return remote.New(remote.Config{Name: d.Name, Domains: d.Domains, Timeout: d.Timeout, Wait: d.Connector.Wait})
}

// newConnectorHub returns the hub connectors dial into (mounted on
// remote.Path), or nil when no directory is of type connector.
func newConnectorHub(cfg *config.Config, dirs *directory.Set, st *store.Store, chain *audit.Chain, log *slog.Logger, now func() time.Time) *remote.Hub {
	var hub *remote.Hub
	for _, d := range dirs.All() {
		rd, ok := d.(*remote.Directory)
		if !ok {
			continue
		}
		if hub == nil {
			ips := web.ClientIPs{Trusted: web.ParseTrusted(cfg.Server.TrustedProxies)}
			hub = &remote.Hub{Creds: &connectorCreds{st: st, chain: chain, now: now, log: log}, Log: log, ClientIP: ips.Of,
				Attributes: connectorAttributes(cfg)}
		}
		rd.SetLogger(log)
		hub.Add(rd)
	}
	return hub
}

// connectorAttributes are what a connector's lookups must read besides
// the usual: what ldapConfig adds for a local directory.
func connectorAttributes(cfg *config.Config) []string {
	var out []string
	for _, a := range cfg.Verification.Attributes {
		out = append(out, a.Attribute)
	}
	return append(out, syncExtraAttributes(cfg)...)
}

// connectorCreds is the hub's view of the store: connectors' keys, and the
// audit records of connections accepted, refused and dropped.
type connectorCreds struct {
	st    *store.Store
	chain *audit.Chain
	now   func() time.Time
	log   *slog.Logger
}

func (c *connectorCreds) Connector(ctx context.Context, name string) (remote.Enrolled, bool, error) {
	var e remote.Enrolled
	found := false
	// A read: on the read pool, not the writer every step queues for.
	err := c.st.ReadTx(ctx, func(tx *store.Tx) error {
		row, err := tx.ConnectorByName(name)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		e = remote.Enrolled{Directory: row.Directory, PublicKey: ed25519.PublicKey(row.PublicKey), Revoked: !row.RevokedAt.IsZero()}
		return nil
	})
	return e, found, err
}

func (c *connectorCreds) record(ctx context.Context, ev audit.Event, touch bool) {
	ev.At = c.now()
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		if touch {
			if err := tx.TouchConnector(ev.Actor, ev.ClientIP, ev.At); err != nil {
				return err
			}
		}
		return c.chain.Append(tx, ev)
	})
	if err != nil {
		c.log.Error("recording a connector event", "event", ev.Event, "connector", ev.Actor, "err", err)
	}
}

func (c *connectorCreds) Connected(ctx context.Context, name, dir, ip string) {
	c.record(ctx, audit.Event{Event: "connector.connected", Actor: name, Directory: dir, ClientIP: ip, Outcome: audit.Success}, true)
}

func (c *connectorCreds) Refused(ctx context.Context, name, ip, reason string) {
	c.record(ctx, audit.Event{Event: "connector.connected", Actor: name, ClientIP: ip, Outcome: audit.Denied, Reason: reason}, false)
}

func (c *connectorCreds) Dropped(ctx context.Context, name, reason string) {
	c.record(ctx, audit.Event{Event: "connector.dropped", Actor: name, Outcome: audit.Denied, Reason: reason}, false)
}

// Connectors adds, lists and revokes connectors (`sspr connectors`).
type Connectors struct {
	st    *store.Store
	chain *audit.Chain
	cfg   *config.Config
	now   func() time.Time
}

// ConnectorAdmin opens the store for `sspr connectors` without starting a
// server; close releases it.
func ConnectorAdmin(ctx context.Context, cfg *config.Config) (*Connectors, func() error, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return &Connectors{st: st, chain: audit.NewChain(cfg.HMACKeyBytes()), cfg: cfg, now: time.Now}, st.Close, nil
}

// Add creates a connector for the directory dir (of type connector) and
// returns its private key (PEM), which sspr does not keep.
func (c *Connectors) Add(ctx context.Context, name, dir, actor string) ([]byte, error) {
	found := false
	for _, d := range c.cfg.Directories {
		found = found || (d.Name == dir && d.Type == "connector")
	}
	if !found {
		return nil, fmt.Errorf("%q is not a directory of type connector in the configuration", dir)
	}
	if name == "" || len(name) > 64 {
		return nil, errors.New("a connector's name is 1 to 64 characters")
	}
	pub, priv, err := remote.GenerateKey()
	if err != nil {
		return nil, err
	}
	now := c.now()
	err = c.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertConnector(&store.Connector{Name: name, Directory: dir, PublicKey: pub, CreatedAt: now}); err != nil {
			return err
		}
		return c.chain.Append(tx, audit.Event{At: now, Event: "connector.added", Actor: actor, Directory: dir, Outcome: audit.Success,
			Detail: map[string]any{"connector": name}})
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("a connector named %q exists or existed; names are not reused, choose another", name)
	}
	return priv, err
}

// List returns every connector.
func (c *Connectors) List(ctx context.Context) ([]*store.Connector, error) {
	var out []*store.Connector
	err := c.st.ReadTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.Connectors()
		return err
	})
	return out, err
}

// Revoke revokes a connector: refused from now on, and its live
// connection dropped within the hub's recheck interval.
func (c *Connectors) Revoke(ctx context.Context, name, actor string) (bool, error) {
	now := c.now()
	revoked := false
	err := c.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if revoked, err = tx.RevokeConnector(name, now); err != nil || !revoked {
			return err
		}
		return c.chain.Append(tx, audit.Event{At: now, Event: "connector.revoked", Actor: actor, Outcome: audit.Success,
			Detail: map[string]any{"connector": name}})
	})
	return revoked, err
}

// RunConnector runs `sspr connector`: it dials the server of cf and serves
// its directory until ctx ends, or the server refuses the connector.
func RunConnector(ctx context.Context, cf *config.ConnectorFile, log *slog.Logger) error {
	key, err := remote.LoadKey(cf.KeyFile)
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if cf.ServerCAFile != "" {
		pem, err := os.ReadFile(cf.ServerCAFile)
		if err != nil {
			return err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("server_ca_file %s: no PEM certificate in it", cf.ServerCAFile)
		}
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	if cf.ServerPin != "" {
		if tlsCfg, err = remote.PinnedTLS(cf.ServerPin, roots); err != nil {
			return err
		}
	}
	c := &remote.Connector{Server: cf.Server, Name: cf.Name, Directory: cf.Directory.Name, Key: key, TLS: tlsCfg, Log: log,
		Open: func(attrs []string) (directory.Directory, error) {
			return newDirectory(cf.Directory, nil, attrs...)
		}}
	log.Info("sspr connector starting", "server", cf.Server, "name", cf.Name, "directory", cf.Directory.Name)
	return c.Run(ctx)
}

// CertificatePin reads a PEM certificate (the server's) and returns the
// server_pin a connector's file takes for it.
func CertificatePin(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return "", err
	}
	return remote.Pin(cert), nil
}

// ConnectorsConnected lists the connectors connected now for the named
// directory of type connector (tests, diagnostics).
func (a *App) ConnectorsConnected(dir string) []string {
	d, _ := a.dirs.Directory(dir)
	if rd, ok := d.(*remote.Directory); ok {
		return rd.Connected()
	}
	return nil
}
