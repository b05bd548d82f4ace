package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// defaultConfigPath is where every command looks without --config or a
// file argument.
const defaultConfigPath = "/etc/sspr/sspr.yaml"

// fatalLog is the logger a command built from its configuration; when the
// configuration asks for JSON logs, the error that ends the command goes
// through it, so log collectors see it like any other line.
var fatalLog *slog.Logger

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		reportFatal(stderr, err)
		return 1
	}
	return 0
}

// reportFatal prints the error that ended a command: as a JSON log line
// when the configuration says log.format: json, in plain text otherwise.
func reportFatal(stderr io.Writer, err error) {
	if fatalLog != nil {
		var ps *config.Problems
		if errors.As(err, &ps) {
			list := make([]string, len(ps.List))
			for i, p := range ps.List {
				list[i] = p.String()
			}
			fatalLog.Error("the configuration has problems", "problems", list)
		} else {
			fatalLog.Error(err.Error())
		}
		return
	}
	fmt.Fprintln(stderr, "Error:", err)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sspr",
		Short:         "Self-service password reset for Active Directory and LDAP",
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true, // run prints them, through the JSON logger when configured
	}
	root.SetVersionTemplate("sspr {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(suggestFlag)
	root.AddCommand(serveCmd(), demoCmd(), configCmd(), directoryCmd(), userCmd(), policyCmd(), keysCmd(), breachCmd(), agentsCmd(), connectorCmd(), connectorsCmd(), auditCmd(), storeCmd(), enrollCmd(), jobsCmd(), versionCmd(), docsCmd())
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args, c.RunE, c.SuggestionsMinimumDistance = cobra.ArbitraryArgs, unknownSubcommand, 2
		}
	}
	return root
}

// unknownSubcommand makes "sspr config chek" an error with a suggestion,
// as cobra does for top-level commands, instead of printing the group's
// help with exit status 0.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return errors.New(msg + "\nRun '" + cmd.CommandPath() + " --help' for its commands")
}

// suggestFlag adds a "did you mean" to an unknown flag, as cobra does for
// commands.
func suggestFlag(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return fmt.Errorf("%w\nRun '%s --help' for the flags it takes", err, cmd.CommandPath())
	}
	var names []string
	visit := func(f *pflag.Flag) { names = append(names, f.Name) }
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	best := config.Closest(name, names, 2)
	if best != "" {
		return fmt.Errorf("%s (did you mean --%s?)", msg, best)
	}
	return fmt.Errorf("%w\nRun '%s --help' for the flags it takes", err, cmd.CommandPath())
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (also: sspr --version)",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "sspr", versionString())
		},
	}
}

// configFlag adds --config (-c) to cmd; every command that reads the
// configuration also takes the file as its (last) argument.
func configFlag(flags *pflag.FlagSet, path *string) {
	flags.StringVarP(path, "config", "c", defaultConfigPath, "configuration file (or give it as the argument)")
}

// configPath picks the file from the argument or --config; both at once
// must agree.
func configPath(cmd *cobra.Command, flagValue string, arg []string) (string, error) {
	if len(arg) == 0 {
		return flagValue, nil
	}
	if f := cmd.Flag("config"); f != nil && f.Changed && flagValue != arg[0] {
		return "", fmt.Errorf("two configuration files given (%s and --config %s): give one", arg[0], flagValue)
	}
	return arg[0], nil
}

// loadConfig reads the configuration for a command. The logger it sets up
// (when log settings are readable, even if other keys have problems)
// carries the command's fatal error in JSON when configured so.
func loadConfig(cmd *cobra.Command, path string) (*config.Report, error) {
	r, err := config.Read(path, os.Environ())
	if err != nil {
		return nil, err
	}
	if r.Config != nil && r.Config.Log.Format == "json" && !hasProblemAt(r.Problems, "log.") {
		fatalLog = newLogger(cmd.ErrOrStderr(), r.Config.Log)
	}
	return r, nil
}

func hasProblemAt(ps []config.Problem, prefix string) bool {
	for _, p := range ps {
		if strings.HasPrefix(p.Path, prefix) {
			return true
		}
	}
	return false
}

// mustLoadConfig is loadConfig for commands that need a valid configuration.
func mustLoadConfig(cmd *cobra.Command, path string) (*config.Config, error) {
	r, err := loadConfig(cmd, path)
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r.Config, nil
}

func serveCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "serve [FILE]",
		Short: "Run the portal, the JSON API and the mail outbox",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args)
			if err != nil {
				return err
			}
			r, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			if err := r.Err(); err != nil {
				return err
			}
			cfg := r.Config
			log := newLogger(cmd.ErrOrStderr(), cfg.Log)
			// The same checks as `sspr config check`, so what it accepts
			// starts and what it refuses does not.
			problems, warnings := app.Check(cfg, nil)
			for _, w := range append(r.Warnings, warnings...) {
				log.Warn("configuration: "+w.Message, "key", w.Path)
			}
			if len(problems) > 0 {
				return &config.Problems{List: problems}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.New(ctx, cfg, log, app.Options{})
			if err != nil {
				return err
			}
			defer a.Close()
			a.StartupChecks(ctx)
			// SIGHUP reloads the configuration (and with it policies,
			// templates, TLS certificates and the breach corpus): a new one
			// with problems is refused, each problem logged, and the running
			// one stays.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reloads := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reloads <- struct{}{}:
					default: // one is pending already
					}
				}
			}()
			return app.Serve(ctx, a, nil, reloads, func(ctx context.Context, old *app.App) (*app.App, error) {
				return reloadConfig(ctx, cmd, path, old, log)
			})
		},
	}
	configFlag(cmd.Flags(), &path)
	return cmd
}

// reloadConfig reads the configuration file again for a SIGHUP: every
// problem is logged with its key, and the running App stays; a valid one
// becomes the new App.
func reloadConfig(ctx context.Context, cmd *cobra.Command, path string, old *app.App, log *slog.Logger) (*app.App, error) {
	log.Info("SIGHUP: reloading the configuration", "file", path)
	r, err := config.Read(path, os.Environ())
	if err != nil {
		return nil, err
	}
	problems := r.Problems
	if len(problems) == 0 {
		problems, _ = app.Check(r.Config, nil)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			log.Error("reload: configuration problem", "key", p.Path, "problem", p.Message)
		}
		return nil, fmt.Errorf("%d problem(s) in %s", len(problems), path)
	}
	for _, w := range r.Warnings {
		log.Warn("configuration: "+w.Message, "key", w.Path)
	}
	return old.Reload(ctx, r.Config, newLogger(cmd.ErrOrStderr(), r.Config.Log))
}

func configCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	var path string
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "List every problem and warning in a configuration file, as sspr serve would find them (exit status 1 on problems)",
		Long: `List every problem and warning in a configuration file: the file's own
keys, the SSPR_* environment variables, and every check sspr serve makes at
start-up that needs no network (password rules, breach corpus, key ring,
passkey settings, directory settings). The directories themselves are
checked by "sspr directory check".`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args)
			if err != nil {
				return err
			}
			r, err := loadConfig(cmd, path)
			if err != nil {
				return err
			}
			// config check writes a report for people, whatever the log
			// format: its problems are not log lines.
			fatalLog = nil
			problems, warnings := r.Problems, r.Warnings
			if r.Config != nil {
				p, w := app.Check(r.Config, r.Problems)
				problems, warnings = append(problems, p...), append(warnings, w...)
			}
			out := cmd.OutOrStdout()
			for _, w := range warnings {
				fmt.Fprintf(out, "warning: %s\n", w)
			}
			if len(problems) > 0 {
				return &config.Problems{List: problems}
			}
			n := len(r.Config.Directories)
			fmt.Fprintf(out, "%s: configuration is valid (%d director%s)\n", path, n, plural(n, "y", "ies"))
			return nil
		},
	}
	configFlag(check.Flags(), &path)
	cmd.AddCommand(check)
	return cmd
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// newLogger builds the structured logger. Attributes whose key names a
// secret are redacted whatever their value, as a second line of defence:
// code paths never log passwords or codes in the first place.
func newLogger(w io.Writer, cfg config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range []string{"password", "passwd", "secret", "token", "otp", "code"} {
		if strings.Contains(k, s) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	return a
}

// interruptible returns a context cancelled by Ctrl-C or SIGTERM.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}
