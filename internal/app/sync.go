package app

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/notify"
	pwsync "github.com/sspr/sspr/internal/sync"
	"github.com/sspr/sspr/internal/sync/entra"
	"github.com/sspr/sspr/internal/sync/google"
	"github.com/sspr/sspr/internal/sync/hook"
	"github.com/sspr/sspr/internal/sync/ldap"
	"github.com/sspr/sspr/internal/sync/target"
)

// syncExtraAttributes lists the attributes the primary directories must
// read so every target's mapping resolves (userPrincipalName for upn,
// objectGUID for immutableid, ...): add them to each connector's
// ExtraAttributes.
func syncExtraAttributes(cfg *config.Config) []string {
	var out []string
	for _, t := range cfg.Sync.Targets {
		out = append(out, pwsync.Attributes(t.Map)...)
	}
	return out
}

// newSync builds the sync planner (for the flows: flow.SyncPlanner) and
// the outbox worker's Sync sender from cfg.Sync. It returns nil, nil when
// no target and no pre-hook is configured. Wire it in New:
//
//	planner, syncSender, err := newSync(cfg, dirs, ring, st, chain, worker.MaxAttempts, worker.Lease, now)
//	worker.Sync = syncSender // when not nil
//	// and hand planner to the reset and change flows.
func newSync(cfg *config.Config, dirs *directory.Set, ring notify.Sealer, st notify.OutboxStore, chain *audit.Chain,
	maxAttempts int, lease time.Duration, now func() time.Time) (*pwsync.Planner, *pwsync.Sender, error) {
	s := cfg.Sync
	if len(s.Targets) == 0 && len(s.PreHooks) == 0 {
		return nil, nil, nil
	}
	planner := &pwsync.Planner{Sealer: ring, Now: now}
	sender := &pwsync.Sender{Targets: map[string]target.Target{}, Store: st, Audit: chain, AlertTo: s.AlertTo,
		Sealer: ring, MaxAttempts: maxAttempts, Now: now,
		// A tenth of the lease is left for recording the outcome.
		Timeout: lease - lease/10}
	for i, tc := range s.Targets {
		t, err := newSyncTarget(tc, dirs)
		if err != nil {
			return nil, nil, fmt.Errorf("sync.targets[%d] (%s): %w", i, tc.Name, err)
		}
		sender.Targets[tc.Name] = t
		planner.Links = append(planner.Links, pwsync.Link{Target: tc.Name, Attribute: tc.Map, Label: syncLabel(tc)})
	}
	for _, h := range s.PreHooks {
		planner.PreHooks = append(planner.PreHooks, newHook(h.Name, h))
	}
	return planner, sender, nil
}

// syncLabel is what people see a target called on the done page: the
// product for the cloud services, the configured name otherwise.
func syncLabel(tc config.SyncTarget) string {
	switch tc.Type {
	case "entra":
		return "Microsoft Entra ID"
	case "google":
		return "Google Workspace"
	}
	return tc.Name
}

func newSyncTarget(tc config.SyncTarget, dirs *directory.Set) (target.Target, error) {
	switch tc.Type {
	case "entra":
		e := tc.Entra
		c := entra.Config{Name: tc.Name, TenantID: e.TenantID, ClientID: e.ClientID, ClientSecret: e.ClientSecret.Value,
			ForceChange: e.ForceChange, LoginURL: e.LoginURL, GraphURL: e.GraphURL}
		if e.CertificateFile != "" {
			var err error
			if c.Certificate, c.Key, err = loadCertificate(e.CertificateFile, e.CertificateKeyFile); err != nil {
				return nil, err
			}
		}
		return entra.New(c)
	case "google":
		g := tc.Google
		c := google.Config{Name: tc.Name, Subject: g.Subject, HashFunction: g.HashFunction, ChangeAtNextLogin: g.ChangeAtNextLogin,
			BaseURL: g.APIURL}
		if err := google.ParseKeyFile([]byte(g.Credentials.Value), &c); err != nil {
			return nil, err
		}
		return google.New(c)
	case "ldap":
		d, ok := dirs.Directory(tc.Directory)
		if !ok {
			return nil, fmt.Errorf("no directory named %q", tc.Directory)
		}
		return ldap.New(tc.Name, d)
	case "hook":
		return newHook(tc.Name, tc.Hook), nil
	}
	return nil, fmt.Errorf("unknown type %q", tc.Type)
}

// syncHook is a hook usable before the change and as a target.
type syncHook interface {
	target.Target
	target.PreHook
}

func newHook(name string, h config.SyncHook) syncHook {
	if h.Name != "" {
		name = h.Name
	}
	if len(h.Command) > 0 {
		return &hook.Command{HookName: name, Path: h.Command[0], Args: h.Command[1:], Timeout: h.Timeout}
	}
	return &hook.Webhook{HookName: name, URL: h.URL, Secret: []byte(h.Secret.Value), Timeout: h.Timeout}
}

// loadCertificate reads a PEM certificate and its PEM private key
// (PKCS #8 or PKCS #1).
func loadCertificate(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(cb)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	kblk, _ := pem.Decode(kb)
	if kblk == nil || !strings.HasSuffix(kblk.Type, "PRIVATE KEY") {
		return nil, nil, fmt.Errorf("%s holds no PEM private key", keyFile)
	}
	var key any
	if key, err = x509.ParsePKCS8PrivateKey(kblk.Bytes); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(kblk.Bytes); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", keyFile, err)
		}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New(keyFile + ": not a signing key")
	}
	return cert, signer, nil
}
