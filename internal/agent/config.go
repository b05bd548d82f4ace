package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the agent's configuration (/etc/sspr/agent.yaml).
type Config struct {
	// ServerURL is sspr's base URL (https://…; http only to loopback).
	ServerURL string `yaml:"server_url"`
	// CAFile trusts this CA for the server's certificate instead of the
	// system's.
	CAFile string `yaml:"ca_file"`
	// HelpDesk is shown when the person cannot go on.
	HelpDesk string `yaml:"help_desk"`
	// Timeout bounds each call to the server; the login goes on without
	// the agent when it runs out.
	Timeout time.Duration `yaml:"timeout"`
	// Language overrides the login session's locale (LANG).
	Language string `yaml:"language"`
	// IdentityFile holds the machine's registration (`sspr-agent register`);
	// when it exists every request is signed with its key.
	IdentityFile string `yaml:"identity_file"`
}

// DefaultConfigPath is where the agent reads its configuration.
const DefaultConfigPath = "/etc/sspr/agent.yaml"

// LoadConfig reads and checks the configuration, listing every problem
// with its key.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the agent configuration: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses and checks a configuration.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{Timeout: 10 * time.Second, IdentityFile: DefaultIdentityPath}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes to io.EOF: the checks below then name what is
	// missing.
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("agent configuration: %w", err)
	}
	var problems []string
	u, err := url.Parse(c.ServerURL)
	switch {
	case c.ServerURL == "":
		problems = append(problems, "server_url: required (sspr's base URL, e.g. https://sspr.example.com)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		problems = append(problems, "server_url: not an http(s) URL")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		problems = append(problems, "server_url: must be https (codes and passwords travel over it); plain http is allowed to loopback only")
	}
	if c.Timeout <= 0 || c.Timeout > 2*time.Minute {
		problems = append(problems, "timeout: must be between 1s and 2m")
	}
	if len(problems) > 0 {
		return nil, errors.New("agent configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}
