package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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

	// LogFile, when set, also receives the agent's log lines (outcomes
	// only: never a password or a code). Syslog (authpriv) is always used
	// when the machine has one.
	LogFile string `yaml:"log_file"`

	// DCProbe lists host:port addresses of the domain controller (e.g.
	// dc1.example.com:88). When none answers, the DC is unreachable: the
	// agent brings the VPN up, or says what to do when there is none.
	// Empty: no probe (the machine is assumed to be on the network).
	DCProbe []string `yaml:"dc_probe"`
	// ProbeTimeout bounds one connection attempt of the probe.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`

	VPN         VPNConfig         `yaml:"vpn"`
	SSSD        SSSDConfig        `yaml:"sssd"`
	LocalUnlock LocalUnlockConfig `yaml:"local_unlock"`
}

// VPNConfig brings a tunnel up when the DC cannot be reached.
type VPNConfig struct {
	// UpCommand starts the tunnel and returns (run with /bin/sh -c; e.g.
	// openconnect --background with a machine certificate, or
	// `nmcli connection up corp-vpn`). Empty: no VPN.
	UpCommand string `yaml:"up_command"`
	// DownCommand takes the tunnel down again (only when the agent brought
	// it up).
	DownCommand string `yaml:"down_command"`
	// Wait bounds how long the agent waits for the DC to answer after the
	// tunnel command returned.
	Wait time.Duration `yaml:"wait"`
	// Linger is how long the tunnel stays up after the agent handed the
	// password on, so the next module (pam_sss) authenticates online and
	// refreshes the cached credential before the tunnel goes down.
	Linger time.Duration `yaml:"linger"`
}

// SSSDConfig makes SSSD check the DC again before the new password is
// handed on: an SSSD still offline would check it against the old cached
// hash, refuse it and count a failure.
type SSSDConfig struct {
	// OnlineCommand asks SSSD to go online (default: pkill -USR2 -x sssd,
	// SSSD's "reset offline state and check" signal). "-" turns it off.
	OnlineCommand string `yaml:"online_command"`
	// OnlineCheck succeeds once SSSD is online, polled after the nudge
	// (e.g. `sssctl domain-status example.com -o | grep -q Online`).
	// Empty: the agent waits only for OnlineCommand.
	OnlineCheck string `yaml:"online_check"`
	// Wait bounds the polling of OnlineCheck.
	Wait time.Duration `yaml:"wait"`
}

// LocalUnlockConfig clears what keeps a person out on this machine alone.
type LocalUnlockConfig struct {
	// Faillock resets pam_faillock's tally of the login after a reset or
	// an unlock (`faillock --reset --user LOGIN`).
	Faillock bool `yaml:"faillock"`
	// FaillockCommand is the faillock program (default: faillock on PATH).
	FaillockCommand string `yaml:"faillock_command"`
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
	c := &Config{
		Timeout:      10 * time.Second,
		IdentityFile: DefaultIdentityPath,
		ProbeTimeout: 2 * time.Second,
		VPN:          VPNConfig{Wait: 15 * time.Second, Linger: 20 * time.Second},
		SSSD:         SSSDConfig{OnlineCommand: "pkill -USR2 -x sssd", Wait: 10 * time.Second},
		LocalUnlock:  LocalUnlockConfig{FaillockCommand: "faillock"},
	}
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
	for _, a := range c.DCProbe {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			problems = append(problems, fmt.Sprintf("dc_probe: %q is not host:port (e.g. dc1.example.com:88)", a))
		}
	}
	if c.ProbeTimeout <= 0 || c.ProbeTimeout > 30*time.Second {
		problems = append(problems, "probe_timeout: must be between 1ms and 30s")
	}
	if c.VPN.UpCommand != "" && len(c.DCProbe) == 0 {
		problems = append(problems, "vpn.up_command: needs dc_probe (how else would the agent know the tunnel is needed and working?)")
	}
	if c.VPN.UpCommand != "" && c.VPN.DownCommand == "" {
		problems = append(problems, "vpn.down_command: required with vpn.up_command (the agent takes down what it brought up)")
	}
	if c.VPN.Wait <= 0 || c.VPN.Wait > 2*time.Minute {
		problems = append(problems, "vpn.wait: must be between 1s and 2m")
	}
	if c.VPN.Linger < 0 || c.VPN.Linger > 10*time.Minute {
		problems = append(problems, "vpn.linger: must be between 0s and 10m")
	}
	if c.SSSD.Wait <= 0 || c.SSSD.Wait > 2*time.Minute {
		problems = append(problems, "sssd.wait: must be between 1s and 2m")
	}
	if c.SSSD.OnlineCommand == "-" {
		c.SSSD.OnlineCommand = ""
	}
	if c.LocalUnlock.FaillockCommand == "" {
		c.LocalUnlock.FaillockCommand = "faillock"
	}
	if len(problems) > 0 {
		return nil, errors.New("agent configuration:\n  " + strings.Join(problems, "\n  "))
	}
	return c, nil
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}
