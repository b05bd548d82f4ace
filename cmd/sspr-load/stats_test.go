package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A directory that serves from forked children (Samba) has its work
// counted: the CPU a child burns shows in the tree's sample, not in the
// parent's own.
func TestSampleTreeCountsChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	// A shell that forks a busy child and waits for it: the child is a
	// grandchild of this test, as Samba's workers are of its main process.
	idle := exec.Command("sleep", "300")
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = idle.Process.Kill(); _ = idle.Wait() }()
	idle0, err := sampleTree(idle.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pid, syscall.SIGKILL); _ = cmd.Wait() }()
	before, err := sampleTree(pid)
	if err != nil {
		t.Fatal(err)
	}
	own0, _ := sampleProc(pid)
	// However loaded the machine, the busy child gets some CPU: wait for
	// the tree to show 200 ms of it, for as long as a minute.
	deadline := time.Now().Add(time.Minute)
	for {
		after, err := sampleTree(pid)
		if err != nil {
			t.Fatal(err)
		}
		if after.cpu-before.cpu >= 200*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tree's CPU grew by %s in a minute; the busy grandchild was not counted", after.cpu-before.cpu)
		}
		time.Sleep(50 * time.Millisecond)
	}
	own1, _ := sampleProc(pid)
	// A process outside the tree is not counted in it, nor the tree in it.
	if idle1, err := sampleTree(idle.Process.Pid); err != nil || idle1.cpu-idle0.cpu >= 100*time.Millisecond {
		t.Fatalf("an idle process's tree used %v (err %v) beside the busy one", idle1.cpu-idle0.cpu, err)
	}
	if own := own1.cpu - own0.cpu; own >= 200*time.Millisecond {
		t.Fatalf("the waiting shell itself used %s: the test cannot tell its children's time from its own", own)
	}
}

// With -settle, a phase counts only what completes in its steady part:
// not during the ramp-up, nor in the drain after its end; its time is the
// steady part's.
func TestSettleCountsTheSteadyPartOnly(t *testing.T) {
	// Margins of half a second either side of each bound: fn starts
	// within microseconds of measure's start even on a loaded machine.
	o := runOptions{settle: time.Second}
	res := measure(o, 3*time.Second, func(counts func(time.Time) bool) (int64, int64) {
		t0 := time.Now()
		var ok int64
		for _, at := range []time.Duration{500, 1500, 2500, 3500} {
			if counts(t0.Add(at * time.Millisecond)) {
				ok++
			}
		}
		return ok, 1
	})
	if res.OK != 2 || res.Errors != 1 || res.Elapsed != 2*time.Second {
		t.Fatalf("measure = %d ok, %d errors in %s; want 2 (at 1.5 s and 2.5 s of a 3 s phase settling for 1 s), 1 in 2s", res.OK, res.Errors, res.Elapsed)
	}
	// Without it, everything counts, over the whole phase.
	res = measure(runOptions{}, 300*time.Millisecond, func(counts func(time.Time) bool) (int64, int64) {
		if !counts(time.Now().Add(time.Hour)) {
			t.Error("without -settle everything counts")
		}
		return 4, 0
	})
	if res.OK != 4 {
		t.Fatalf("without -settle: %d ok, want 4", res.OK)
	}
}
