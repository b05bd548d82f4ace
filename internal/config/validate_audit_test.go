package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

func TestAuditSection(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, validYAML, nil)
	if cfg.Audit.CheckInterval != 15*time.Minute || cfg.Audit.CheckpointFile != "" || cfg.Audit.Retention != 0 {
		t.Errorf("audit defaults = %+v", cfg.Audit)
	}
	file := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	cfg = mustParse(t, validYAML+"audit:\n  check_interval: 5m\n  retention: 2160h\n  checkpoint_file: "+file+"\n", nil)
	if cfg.Audit.CheckInterval != 5*time.Minute || cfg.Audit.CheckpointFile != file || cfg.Audit.Retention != 90*24*time.Hour {
		t.Errorf("audit = %+v", cfg.Audit)
	}
	for key, yaml := range map[string]string{
		"audit.check_interval":  "audit:\n  check_interval: 10s\n",
		"audit.retention":       "audit:\n  retention: 1h\n",
		"audit.checkpoint_file": "audit:\n  checkpoint_file: " + filepath.Join(t.TempDir(), "missing", "cp") + "\n",
	} {
		_, err := config.Parse([]byte(validYAML+yaml), nil)
		if p, ok := find(problemsOf(t, err), key); !ok || p.Message == "" {
			t.Errorf("%s not refused: %v", strings.TrimSpace(yaml), err)
		}
	}
}
