package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Machine is what the agent does on this computer around a reset: reach
// the domain controller (bringing the VPN up when it must), make SSSD go
// online before the new password is handed on (so SSSD checks it with the
// DC and refreshes its cached credential, instead of refusing it against
// the old cached hash), and clear the local pam_faillock tally.
//
// Every step is bounded; a step that fails is reported in plain words and
// the login goes on without the agent.
type Machine struct {
	Cfg *Config
	// Log receives one line per step (never a secret).
	Log func(string)
	// Shell runs the configured commands (default /bin/sh).
	Shell string

	// broughtUp is set when this agent started the tunnel.
	broughtUp bool
}

// ErrDCUnreachable: the domain controller did not answer and no VPN could
// make it answer.
var ErrDCUnreachable = errors.New("the domain controller cannot be reached")

func (m *Machine) log(format string, args ...any) {
	if m.Log != nil {
		m.Log(fmt.Sprintf(format, args...))
	}
}

// run runs a configured shell command, bounded by ctx; its output is
// dropped (it is not ours to log).
func (m *Machine) run(ctx context.Context, command string) error {
	shell := m.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.CommandContext(ctx, shell, "-c", command)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	// Its own process group, so a timeout kills what the command started
	// in the foreground too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run()
}

// DCReachable reports whether any dc_probe address accepts a TCP
// connection within probe_timeout. Without dc_probe it is true.
func (m *Machine) DCReachable(ctx context.Context) bool {
	if len(m.Cfg.DCProbe) == 0 {
		return true
	}
	for _, addr := range m.Cfg.DCProbe {
		d := net.Dialer{Timeout: m.Cfg.ProbeTimeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return true
		}
	}
	return false
}

// ReachDC makes sure the DC answers: at once, or after bringing the VPN up
// and waiting at most vpn.wait. say tells the person what happens while
// they wait.
func (m *Machine) ReachDC(ctx context.Context, say func(string), t Texts) error {
	if m.DCReachable(ctx) {
		return nil
	}
	if m.Cfg.VPN.UpCommand == "" {
		m.log("the domain controller does not answer and no VPN is configured")
		return ErrDCUnreachable
	}
	say(t.T("vpn_connecting"))
	ctx, cancel := context.WithTimeout(ctx, m.Cfg.VPN.Wait)
	defer cancel()
	start := time.Now()
	if err := m.run(ctx, m.Cfg.VPN.UpCommand); err != nil {
		m.log("the VPN did not come up: %v", err)
		m.broughtUp = true // it may have come up partly: take it down
		m.VPNDown(context.Background())
		return ErrDCUnreachable
	}
	m.broughtUp = true
	for {
		if m.DCReachable(ctx) {
			m.log("VPN up, the domain controller answers after %s", time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-ctx.Done():
			m.log("VPN up, but the domain controller did not answer within %s", m.Cfg.VPN.Wait)
			m.VPNDown(context.Background())
			return ErrDCUnreachable
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// BroughtUp reports whether this agent started the tunnel.
func (m *Machine) BroughtUp() bool { return m.broughtUp }

// VPNDown takes the tunnel down if this agent brought it up (bounded by
// vpn.wait).
func (m *Machine) VPNDown(ctx context.Context) {
	if !m.broughtUp || m.Cfg.VPN.DownCommand == "" {
		return
	}
	m.broughtUp = false
	ctx, cancel := context.WithTimeout(ctx, m.Cfg.VPN.Wait)
	defer cancel()
	if err := m.run(ctx, m.Cfg.VPN.DownCommand); err != nil {
		m.log("taking the VPN down failed: %v", err)
		return
	}
	m.log("VPN down")
}

// SSSDOnline nudges SSSD to go online and polls sssd.online_check until it
// succeeds (at most sssd.wait). It returns false when SSSD did not confirm;
// the password is then handed on anyway (the worst case is the offline
// check it would have had without the agent).
func (m *Machine) SSSDOnline(ctx context.Context) bool {
	c := m.Cfg.SSSD
	if c.OnlineCommand == "" && c.OnlineCheck == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	if c.OnlineCommand != "" {
		if err := m.run(ctx, c.OnlineCommand); err != nil {
			m.log("sssd.online_command failed: %v", err)
		}
	}
	if c.OnlineCheck == "" {
		return true
	}
	for {
		if m.run(ctx, c.OnlineCheck) == nil {
			m.log("SSSD is online")
			return true
		}
		select {
		case <-ctx.Done():
			m.log("SSSD did not confirm it is online within %s", c.Wait)
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ResetFaillock clears pam_faillock's tally of login (when configured).
// The login goes as an argument, never through a shell.
func (m *Machine) ResetFaillock(ctx context.Context, login string) error {
	if !m.Cfg.LocalUnlock.Faillock {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.Cfg.LocalUnlock.FaillockCommand, "--reset", "--user", login)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	if err := cmd.Run(); err != nil {
		m.log("faillock --reset for %s failed: %v", login, err)
		return err
	}
	m.log("local faillock tally of %s cleared", login)
	return nil
}

// DetachVPNDown starts `exe vpn-down --after LINGER --config CONFIG` in a
// session of its own, so it outlives the helper (the PAM module ends the
// helper when the conversation is over) and takes the tunnel down once
// the next module had its chance to authenticate online.
func DetachVPNDown(exe, configPath string, linger time.Duration) error {
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, "vpn-down", "--after", linger.String(), "--config", configPath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// AtLoginScreen runs the recovery for login with the machine steps around
// it: reach the DC first (VPN when needed), then, after a reset or an
// unlock, clear the local faillock tally and make SSSD go online before
// the password is handed on. The caller takes the tunnel down (BroughtUp)
// once the next module had its chance.
func (m *Machine) AtLoginScreen(ctx context.Context, rec *Recovery, login string) Result {
	say := func(s string) { _ = rec.Conv.Say(s) }
	if err := m.ReachDC(ctx, say, rec.Texts); err != nil {
		if m.Cfg.VPN.UpCommand == "" {
			rec.say(true, rec.Texts.T("dc_unreachable"))
		} else {
			rec.say(true, rec.Texts.T("vpn_failed"))
		}
		rec.say(false, rec.Texts.T("try_later"))
		rec.helpDesk()
		return Result{Outcome: OutcomeIgnore}
	}
	res := rec.Run(ctx, login, "")
	if res.Outcome != OutcomeOK {
		return res
	}
	_ = m.ResetFaillock(ctx, login)
	if res.Password != "" && (m.Cfg.SSSD.OnlineCommand != "" || m.Cfg.SSSD.OnlineCheck != "") {
		say(rec.Texts.T("sssd_online"))
		m.SSSDOnline(ctx)
	}
	return res
}

// MarkBroughtUp is for `sspr-agent vpn-down`: the linger process takes
// down a tunnel its parent brought up.
func (m *Machine) MarkBroughtUp() { m.broughtUp = true }
