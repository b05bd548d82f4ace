package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStoreBackupRestore: `sspr store backup` copies the database while
// sspr serve runs; `restore` is refused while serve holds the database and
// works once it stopped (the replaced file kept); `status` shows the
// schema and rows; `migrate` has nothing left to do.
func TestStoreBackupRestore(t *testing.T) {
	path := validConfig(t, "log: {format: json}\n")
	dir := filepath.Dir(path)
	if _, errOut, err := sspr(t, nil, "store", "status", "-c", path); err == nil || !strings.Contains(errOut, "cannot be read") {
		t.Errorf("status without a database: %v %s", err, errOut)
	}
	serve := exec.Command(binary, "serve", path)
	serve.Env = cleanEnv()
	stderr, _ := serve.StderrPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "sspr is listening" && !once {
				once = true
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(60 * time.Second):
		t.Fatal("sspr serve did not start")
	}
	backup := filepath.Join(dir, "backup.db")
	out, errOut, err := sspr(t, nil, "store", "backup", "-c", path, backup)
	if err != nil || !strings.Contains(out, "integrity checked") {
		t.Fatalf("backup while serving: %v\n%s%s", err, out, errOut)
	}
	if _, errOut, err := sspr(t, nil, "store", "restore", "-c", path, backup); err == nil || !strings.Contains(errOut, "the database is in use: stop sspr serve") {
		t.Errorf("restore while serving: %v %s", err, errOut)
	}
	_ = serve.Process.Signal(os.Interrupt)
	if err := serve.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v", err)
	}
	out, errOut, err = sspr(t, nil, "store", "restore", "-c", path, backup)
	if err != nil || !strings.Contains(out, "restored from "+backup) || !strings.Contains(out, "is kept as") {
		t.Fatalf("restore after serve stopped: %v\n%s%s", err, out, errOut)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, "sspr.db.before-restore-*")); len(kept) != 1 {
		t.Errorf("kept files: %v", kept)
	}
	out, errOut, err = sspr(t, nil, "store", "status", "-c", path)
	if err != nil || !strings.Contains(out, "0001_init") || strings.Contains(out, "pending") || !strings.Contains(out, "audit") {
		t.Errorf("status: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = sspr(t, nil, "store", "migrate", "-c", path)
	if err != nil || !strings.Contains(out, "0 migration(s) applied") {
		t.Errorf("migrate: %v\n%s%s", err, out, errOut)
	}
}
