package app

import (
	"context"
	"time"
)

// writeMaxAge is how long a directory write may take at most: after that, an
// intent recorded by this very process is settled too (its writer is stuck
// or gone). Intents of other (dead) process instances are settled at once.
func (a *App) writeMaxAge() time.Duration {
	longest := 10 * time.Second
	for _, d := range a.cfg.Directories {
		longest = max(longest, d.Timeout)
	}
	// A write may fail over to each other server once, plus the status
	// read before it.
	return 3*longest + 30*time.Second
}

// resolveLoop settles directory writes a crashed process left unfinished:
// at start (before long, so the person retrying is not kept waiting), then
// every minute.
func (a *App) resolveLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := a.Reset.ResolveInterrupted(ctx, a.writeMaxAge()); err != nil && ctx.Err() == nil {
			a.log.Warn("settling interrupted directory writes failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
