package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/store"
)

// cmdPrefill counts events for one client address in sspr's database the
// way sspr itself does (abuse.Limiter.Take in the store), so a following
// run shows what many stored events for the address everyone comes from
// (one proxy) cost. The window and limits must be those of sspr's
// configuration (scripts/load.sh: LOAD_LIMIT_WINDOW), or sspr keys and
// buckets them differently.
func cmdPrefill(args []string) error {
	fs := flag.NewFlagSet("prefill", flag.ExitOnError)
	db := fs.String("db", "", "sspr's SQLite database")
	ip := fs.String("ip", "127.0.0.1", "the client address to count events for")
	events := fs.Int("events", 300000, "how many identify and how many send events")
	window := fs.Duration("window", time.Hour, "the window of sspr's per-address limits")
	batch := fs.Int("batch", 2000, "events per transaction")
	_ = fs.Parse(args)
	if *db == "" {
		return errors.New("prefill: -db is required")
	}
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	big := abuse.Rule{Limit: 100000000, Window: *window}
	p := abuse.DefaultPolicy()
	p.IPIdentifies, p.IPSends, p.DestinationSends, p.IPFailures = big, big, big, big
	p.IPFailures.Block = time.Second
	// The destination key is an HMAC; nothing here sends to a destination,
	// so any key will do.
	l, err := abuse.NewLimiter(p, []byte("sspr-load prefill, no destinations"), nil)
	if err != nil {
		return err
	}
	start := time.Now()
	s := abuse.Subject{IP: *ip}
	for done := 0; done < *events; done += *batch {
		n := min(*batch, *events-done)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for range n {
				for _, a := range []abuse.Action{abuse.Identify, abuse.SendCode} {
					if d, _, err := l.Take(tx, a, s); err != nil {
						return err
					} else if !d.Allowed {
						return fmt.Errorf("prefill: refused at %d: %s", done, d.Reason)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("prefill: %d identify and %d send events for %s in %s\n", *events, *events, *ip, time.Since(start).Round(time.Millisecond))
	return nil
}
