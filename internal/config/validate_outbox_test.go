package config_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

func TestValidateOutboxDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		want   []string
	}{
		{"defaults", func(*config.Config) {}, nil},
		{"sent rows deleted at once", func(c *config.Config) { c.Mail.Outbox.SentRetention = 0 }, nil},
		{"node id", func(c *config.Config) { c.Mail.Outbox.NodeID = "sspr-2.example.com" }, nil},
		{"no workers", func(c *config.Config) { c.Mail.Outbox.Workers = 0 }, []string{"mail.outbox.workers"}},
		{"too many workers", func(c *config.Config) { c.Mail.Outbox.Workers = 65 }, []string{"mail.outbox.workers"}},
		{"node id with a space", func(c *config.Config) { c.Mail.Outbox.NodeID = "node 1" }, []string{"mail.outbox.node_id"}},
		{"negative retention", func(c *config.Config) {
			c.Mail.Outbox.SentRetention, c.Mail.Outbox.FailedRetention = -time.Hour, -time.Hour
		}, []string{"mail.outbox.failed_retention", "mail.outbox.sent_retention"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := mustParse(t, validYAML, nil)
			tc.mutate(cfg)
			err := config.Validate(cfg)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if got := paths(problemsOf(t, err)); !slices.Equal(got, tc.want) {
				t.Errorf("problem paths = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	d := config.Defaults().Mail.Outbox
	if d.Workers != 4 || d.SentRetention != 24*time.Hour || d.FailedRetention != 7*24*time.Hour || d.NodeID != "" {
		t.Errorf("defaults: %+v", d)
	}
}
