package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DirectoryConnector is the server's side of a directory reached through
// outbound-only connectors (`sspr connector`, docs/connector.md): the
// directory's own settings live in each connector's file, next to it.
type DirectoryConnector struct {
	// Wait is how long a call waits for a connector when none is connected
	// (one restarting, a failover) before the directory counts as down;
	// default 5s.
	Wait time.Duration `yaml:"wait"`
}

// validateConnector checks a type connector directory: the LDAP keys
// belong in the connector's file, so one given here is a mistake worth
// naming.
func (d *Directory) validateConnector(p *Problems, path string) {
	if d.Connector.Wait < 0 || d.Connector.Wait > 5*time.Minute {
		p.addf(path+".connector.wait", "%s is outside 0..5m", d.Connector.Wait)
	}
	positive(p, path+".timeout", d.Timeout)
	for i, dom := range d.Domains {
		if strings.TrimSpace(dom) == "" || strings.ContainsAny(dom, `\@ `) {
			p.addf(fmt.Sprintf("%s.domains[%d]", path, i), "%q is not a domain name such as example.com or EXAMPLE", dom)
		}
	}
	local := map[string]bool{"urls": len(d.URLs) > 0, "bind_dn": d.BindDN != "", "base_dn": d.BaseDN != "",
		"bind_password": d.BindPassword.Value != "" || d.BindPassword.File != "", "password_write": d.PasswordWrite != "",
		"protected_groups": len(d.ProtectedGroups) > 0, "ca_file": d.CAFile != "", "entra": d.Entra != DirectoryEntra{}}
	for _, k := range []string{"urls", "bind_dn", "bind_password", "base_dn", "password_write", "protected_groups", "ca_file", "entra"} {
		if local[k] {
			p.add(path+"."+k, "goes into the connector's own file (sspr connector --config), not into a type connector directory")
		}
	}
}

// ConnectorFile is the configuration of `sspr connector`: the process
// that runs next to a directory, dials out to the sspr server and
// performs its directory operations (docs/connector.md).
type ConnectorFile struct {
	// Server is the sspr server's base URL (https://).
	Server string `yaml:"server"`
	// Name is the name the connector was added under (sspr connectors
	// add NAME); KeyFile its private key, as that command wrote it.
	Name    string `yaml:"name"`
	KeyFile string `yaml:"key_file"`
	// ServerCAFile (PEM) verifies the server's certificate; ServerPin
	// ("sha256/BASE64" of its public key, as sspr connectors pin prints
	// it) pins it. Neither: the system's roots.
	ServerCAFile string `yaml:"server_ca_file"`
	ServerPin    string `yaml:"server_pin"`
	// Directory is the local directory, as a directories: entry of
	// sspr.yaml would give it; its name is the server's directory of type
	// connector it serves.
	Directory Directory `yaml:"directory"`
	Log       Log       `yaml:"log"`
}

// LoadConnector reads and checks a connector's configuration file; the
// error is a *Problems naming each key.
func LoadConnector(path string) (*ConnectorFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration %s: %w", path, plainErr(err))
	}
	return ParseConnector(data)
}

// ParseConnector is LoadConnector on bytes.
func ParseConnector(data []byte) (*ConnectorFile, error) {
	c := ConnectorFile{Log: Log{Level: "info", Format: "text"}}
	p := &Problems{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		p.add("", "the file is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, p
	}
	(&decoder{problems: p}).decode(&root, reflect.ValueOf(&c).Elem(), "")
	resolveSecrets(reflect.ValueOf(&c).Elem(), "", p, func(string) bool { return false })
	directoryDefaults(&c.Directory)
	c.validate(p)
	if err := p.errOrNil(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *ConnectorFile) validate(p *Problems) {
	if u, err := url.Parse(c.Server); c.Server == "" || err != nil || u.Host == "" || u.Scheme != "https" {
		p.addf("server", "%q is not an https:// URL (the sspr server's base URL)", c.Server)
	}
	if c.Name == "" {
		p.add("name", "is required: the name given to sspr connectors add")
	}
	if c.KeyFile == "" {
		p.add("key_file", "is required: the key sspr connectors add wrote")
	}
	checkFile(p, "key_file", c.KeyFile)
	checkFile(p, "server_ca_file", c.ServerCAFile)
	if c.ServerPin != "" {
		b64, ok := strings.CutPrefix(c.ServerPin, "sha256/")
		if b, err := base64.StdEncoding.DecodeString(b64); !ok || err != nil || len(b) != 32 {
			p.addf("server_pin", "%q is not sha256/ and the base64 of 32 bytes (sspr connectors pin prints it)", c.ServerPin)
		}
	}
	switch c.Directory.Type {
	case "ad", "openldap", "389ds", "freeipa":
		c.Directory.validate(p, "directory", map[string]bool{})
	case "":
		p.add("directory.type", "is required: ad, openldap, 389ds or freeipa")
	default:
		p.addf("directory.type", "%q is not one of ad, openldap, 389ds, freeipa (the directory next to the connector)", c.Directory.Type)
	}
	(&Config{Log: c.Log}).validateLog(p)
}
