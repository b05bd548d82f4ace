package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/app"
	"github.com/sspr/sspr/internal/config"
)

func demoCmd() *cobra.Command {
	var listen, lang string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run sspr with an embedded directory and captured mail; nothing to set up",
		Long: `Run sspr with an embedded LDAP directory holding demo users, storage in a
temporary folder, and mail captured on a demo mailbox page instead of sent.
Reset a demo user's password in the browser; the code arrives in the mailbox.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := interruptible(cmd.Context())
			defer stop()
			out := cmd.OutOrStdout()

			dir, err := os.MkdirTemp("", "sspr-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w (choose another with --listen)", listen, err)
			}
			d, err := app.StartDemo(ctx, app.DemoOptions{Listener: ln, Dir: dir, Language: lang,
				Log: func(c config.Log) *slog.Logger { return newLogger(cmd.ErrOrStderr(), c) }})
			if err != nil {
				ln.Close()
				return err
			}
			defer d.Close()

			baseURL := d.BaseURL
			fmt.Fprintf(out, "\nsspr demo is running: %s\n\n", baseURL)
			fmt.Fprintf(out, "  Demo mailbox:   %s/demo/mailbox\n", baseURL)
			fmt.Fprintf(out, "  Demo directory: %s (base %s)\n", d.DirectoryURL, d.BaseDN)
			fmt.Fprintf(out, "  Password rule:  at least %d characters, with a digit (the directory's);\n", d.MinLength)
			fmt.Fprintf(out, "                  sspr's own rules and a breach list (try \"Summer2024!\") come first\n")
			fmt.Fprintf(out, "  Enrollment:     %s/enroll (authenticator app, passkey, backup codes)\n\n", baseURL)
			fmt.Fprintf(out, "  Demo logins (username / current password):\n")
			for _, u := range d.Users {
				note := ""
				if u.Locked {
					note = "   locked: try \"My account is locked\""
				}
				fmt.Fprintf(out, "    %-8s %s   (%s)%s\n", u.Login, u.Password, u.Mail, note)
			}
			fmt.Fprintf(out, "\n  Try it: open %s, enter \"alice\", read the code in the mailbox.\n", baseURL)
			if keep {
				fmt.Fprintf(out, "  Data is kept in %s\n", dir)
			}
			fmt.Fprintf(out, "  Press Ctrl-C to stop.\n\n")
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve the demo portal on (port 0 picks a free one)")
	cmd.Flags().StringVar(&lang, "lang", "en", "default language of the demo portal (en, de, fr, es, it, nl, pt, pl)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo database folder after exit")
	return cmd
}
