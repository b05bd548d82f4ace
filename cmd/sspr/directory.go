package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/flow"
)

func inspector(cmd *cobra.Command, path string) (*flow.Inspector, func(), error) {
	cfg, err := mustLoadConfig(cmd, path)
	if err != nil {
		return nil, nil, err
	}
	dirs, err := app.Directories(cfg)
	if err != nil {
		return nil, nil, err
	}
	return &flow.Inspector{Directories: dirs}, func() { dirs.Close() }, nil
}

func directoryCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{Use: "directory", Short: "Inspect the configured directories"}
	configFlag(cmd.PersistentFlags(), &path)
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Check each directory's connection, TLS, capabilities and service-account rights (changes nothing)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args)
			if err != nil {
				return err
			}
			in, closeDirs, err := inspector(cmd, path)
			if err != nil {
				return err
			}
			defer closeDirs()
			failed := 0
			for _, r := range in.CheckDirectories(cmd.Context()) {
				printReport(cmd.OutOrStdout(), r)
				if !r.OK() {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d director%s failed the check", failed, plural(failed, "y", "ies"))
			}
			return nil
		},
	})
	return cmd
}

var marks = map[directory.Severity]string{directory.SeverityOK: "ok  ", directory.SeverityWarning: "WARN", directory.SeverityError: "FAIL"}

func printReport(w io.Writer, r *directory.Report) {
	fmt.Fprintf(w, "Directory %q", r.Directory)
	if r.Server != "" {
		fmt.Fprintf(w, " at %s", r.Server)
	}
	fmt.Fprintln(w)
	if r.Vendor != "" {
		fmt.Fprintf(w, "  server:   %s %s\n", r.Vendor, r.Version)
	}
	if r.FunctionalLevel != "" {
		fmt.Fprintf(w, "  level:    %s\n", r.FunctionalLevel)
	}
	if len(r.NamingContexts) > 0 {
		fmt.Fprintf(w, "  contexts: %s\n", strings.Join(r.NamingContexts, "; "))
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "  [%s] %s\n", marks[f.Severity], f.Message)
	}
	fmt.Fprintln(w)
}

func userCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{Use: "user", Short: "Inspect accounts"}
	configFlag(cmd.PersistentFlags(), &path)
	cmd.AddCommand(&cobra.Command{
		Use:   "show LOGIN [FILE]",
		Short: "Print what sspr sees of one account: entry, status, password policy, groups",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := configPath(cmd, path, args[1:])
			if err != nil {
				return err
			}
			in, closeDirs, err := inspector(cmd, path)
			if err != nil {
				return err
			}
			defer closeDirs()
			v, err := in.ShowUser(cmd.Context(), args[0])
			if err != nil {
				return errors.New(explainLookup(args[0], err))
			}
			printUser(cmd.OutOrStdout(), v)
			return nil
		},
	})
	return cmd
}

func printUser(w io.Writer, v *flow.UserView) {
	u := v.User
	row := func(k string, val any) { fmt.Fprintf(w, "  %-18s %v\n", k+":", val) }
	fmt.Fprintf(w, "%s (%s)\n", u.Login, u.Directory)
	row("DN", u.DN)
	row("display name", dash(u.DisplayName))
	row("mail", dash(u.Email))
	row("self-service", dash(strings.Join(v.Can, ", ")))
	if s := v.Status; s != nil {
		row("locked", yesNo(s.Locked, s.LockoutEnds, "until"))
		row("disabled", yesNo(s.Disabled, time.Time{}, ""))
		row("account expires", when(s.AccountExpires, s.AccountExpired))
		row("password set", when(s.PasswordLastSet, false))
		row("password expires", when(s.PasswordExpires, s.PasswordExpired))
		row("must change", yesNo(s.MustChange, time.Time{}, ""))
		if s.Protected {
			row("protected", "yes: "+s.ProtectedReason)
		} else {
			row("protected", "no")
		}
	}
	if p := v.Policy; p != nil {
		fmt.Fprintf(w, "  password policy (%s): at least %d characters", p.Source, p.MinLength)
		if p.Complexity {
			fmt.Fprint(w, ", complexity required")
		}
		if p.HistoryLength > 0 {
			fmt.Fprintf(w, ", last %d not reusable", p.HistoryLength)
		}
		if p.MinAge > 0 {
			fmt.Fprintf(w, ", changeable after %s", humanDuration(p.MinAge))
		}
		if p.MaxAge > 0 {
			fmt.Fprintf(w, ", expires after %s", humanDuration(p.MaxAge))
		}
		if p.LockoutThreshold > 0 {
			fmt.Fprintf(w, ", locks after %d failures", p.LockoutThreshold)
			if p.LockoutWindow > 0 {
				fmt.Fprintf(w, " within %s", humanDuration(p.LockoutWindow))
			}
			if p.LockoutDuration > 0 {
				fmt.Fprintf(w, " for %s", humanDuration(p.LockoutDuration))
			} else {
				fmt.Fprint(w, " until an administrator unlocks")
			}
		}
		fmt.Fprintln(w)
	}
	if len(v.Groups) > 0 {
		sort.Strings(v.Groups)
		fmt.Fprintf(w, "  groups (%d, nested included):\n", len(v.Groups))
		for _, g := range v.Groups {
			fmt.Fprintf(w, "    %s\n", g)
		}
	}
	for _, p := range v.Problems {
		fmt.Fprintf(w, "  could not read %s\n", p)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool, t time.Time, prefix string) string {
	if !b {
		return "no"
	}
	if !t.IsZero() {
		return "yes, " + prefix + " " + t.Local().Format(time.DateTime)
	}
	return "yes"
}

func when(t time.Time, passed bool) string {
	switch {
	case t.IsZero():
		return "never"
	case passed:
		return t.Local().Format(time.DateTime) + " (passed)"
	}
	return t.Local().Format(time.DateTime)
}

// explainLookup says in plain words why login could not be shown.
func explainLookup(login string, err error) string {
	switch directory.KindOf(err) {
	case directory.KindNotFound:
		return fmt.Sprintf("No account matches %s in any configured directory.", login)
	case directory.KindAmbiguous:
		return fmt.Sprintf("More than one account matches %s; give it as DOMAIN\\login or login@domain to pick the directory.", login)
	}
	return fmt.Sprintf("Could not look %s up: %s", login, explainDirectoryError(err))
}

// explainDirectoryError turns a directory failure into a sentence for the
// operator — the same words `sspr directory check` uses.
func explainDirectoryError(err error) string { return directory.Explain(err) }

// humanDuration writes a policy duration as people say it: "42 days",
// "1 day 12 hours", "30 minutes", not 1008h0m0s.
func humanDuration(d time.Duration) string {
	if d <= 0 {
		return "no time"
	}
	units := []struct {
		size      time.Duration
		one, many string
	}{{24 * time.Hour, "day", "days"}, {time.Hour, "hour", "hours"}, {time.Minute, "minute", "minutes"}, {time.Second, "second", "seconds"}}
	var parts []string
	for _, u := range units {
		if n := d / u.size; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, plural(int(n), u.one, u.many)))
			d -= n * u.size
		}
		if len(parts) == 2 {
			break // "1 day 12 hours" is precise enough for a policy
		}
	}
	if len(parts) == 0 {
		return d.String()
	}
	return strings.Join(parts, " ")
}
