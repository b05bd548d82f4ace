package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sspr/sspr/internal/flow"
)

// DefaultIdentityPath is where a registered agent keeps its key.
const DefaultIdentityPath = "/etc/sspr/agent-identity.json"

// Identity is a registered machine: the ID the server gave it and its
// private key. The file is 0600 and root's; it never leaves the machine.
type Identity struct {
	AgentID    string             `json:"agent_id"`
	Name       string             `json:"name"`
	PrivateKey ed25519.PrivateKey `json:"private_key"`
	Server     string             `json:"server"`
}

// LoadIdentity reads an identity file; a missing file is (nil, nil): the
// agent then works unregistered, as a plain API client.
func LoadIdentity(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil || len(id.PrivateKey) != ed25519.PrivateKeySize || id.AgentID == "" {
		return nil, fmt.Errorf("%s is not an agent identity file", path)
	}
	return &id, nil
}

// Register enrols this machine with a one-time token and writes the
// identity file (refusing to replace an existing one unless force).
func Register(ctx context.Context, c *Client, token, version, path string, force bool) (*Identity, error) {
	if _, err := os.Stat(path); err == nil && !force {
		return nil, fmt.Errorf("%s exists: this machine is registered already (use --force to register again)", path)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var out struct {
		AgentID string `json:"agent_id"`
		Name    string `json:"name"`
	}
	err = c.post(ctx, "/api/v1/agents/register", map[string]string{"token": token,
		"public_key": base64.StdEncoding.EncodeToString(pub), "version": version}, &out)
	if err != nil {
		return nil, err
	}
	id := &Identity{AgentID: out.AgentID, Name: out.Name, PrivateKey: priv, Server: c.BaseURL}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	return id, os.Rename(tmp, path)
}

// Sign adds the agent's signature headers to req (whose body is body).
func (id *Identity) Sign(req *http.Request, body []byte, version string, now time.Time) {
	unix := now.Unix()
	sig := ed25519.Sign(id.PrivateKey, flow.AgentSigningText(req.Method, req.URL.RequestURI(), unix, body))
	req.Header.Set("X-SSPR-Agent", id.AgentID)
	req.Header.Set("X-SSPR-Timestamp", strconv.FormatInt(unix, 10))
	req.Header.Set("X-SSPR-Signature", base64.StdEncoding.EncodeToString(sig))
	if version != "" {
		req.Header.Set("X-SSPR-Agent-Version", version)
	}
}

// Transport signs every request sent through base.
func (id *Identity) Transport(base http.RoundTripper, version string) http.RoundTripper {
	return signingTransport{id: id, base: base, version: version}
}

type signingTransport struct {
	id      *Identity
	base    http.RoundTripper
	version string
}

func (t signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	t.id.Sign(r, body, t.version, time.Now())
	return t.base.RoundTrip(r)
}
