package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sspr/sspr/internal/agent"
)

// newClient builds the API client from the configuration; a registered
// machine signs every request with its key.
func newClient(cfg *agent.Config, lang string) (*agent.Client, error) {
	c, err := agent.NewClient(cfg.ServerURL, cfg.CAFile, lang, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	id, err := agent.LoadIdentity(cfg.IdentityFile)
	if err != nil {
		return nil, err
	}
	if id != nil {
		c.HTTP.Transport = id.Transport(c.HTTP.Transport, version)
	}
	return c, nil
}

// register is "sspr-agent register --token TOKEN": enrol this machine with
// the one-time token from `sspr agents token NAME`.
func register(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", "", "the one-time token from `sspr agents token MACHINE-NAME`")
	configPath := fs.String("config", agent.DefaultConfigPath, "agent configuration file")
	force := fs.Bool("force", false, "register again, replacing this machine's identity")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *token == "" {
		fmt.Fprintln(stderr, "sspr-agent register: --token is required (an admin issues one with `sspr agents token MACHINE-NAME`)")
		return 2
	}
	cfg, err := agent.LoadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c, err := agent.NewClient(cfg.ServerURL, cfg.CAFile, "", cfg.Timeout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := agent.Register(ctx, c, *token, version, cfg.IdentityFile, *force)
	if err != nil {
		fmt.Fprintf(stderr, "sspr-agent register: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "registered as %s (agent %s); identity in %s\n", id.Name, id.AgentID, cfg.IdentityFile)
	return 0
}
