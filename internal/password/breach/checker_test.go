package breach

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckerWithoutCorpus(t *testing.T) {
	k := NewChecker(filepath.Join(t.TempDir(), "none"))
	if _, err := k.Check("x"); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("Check = %v, want ErrNoCorpus", err)
	}
	if err := k.Reload(); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("Reload = %v, want ErrNoCorpus", err)
	}
}

func TestCheckerKeepsCorpusWhenReloadFails(t *testing.T) {
	dir, pw := smallCorpus(t)
	k := NewChecker(dir)
	defer k.Close()
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	flipByte(t, filepath.Join(dir, "shard-00.bf16"), headerSize+1)
	var ce *CorruptError
	if err := k.Reload(); !errors.As(err, &ce) {
		t.Fatalf("Reload = %v, want *CorruptError", err)
	}
	if found, err := k.Check(pw[0]); !found || err != nil {
		t.Errorf("Check after failed reload = %v, %v", found, err)
	}
	k.Close()
	if _, err := k.Check(pw[0]); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("Check after Close = %v", err)
	}
}

// TestCheckerReloadUnderLoad rebuilds the corpus in place again and again
// while goroutines look up passwords and others open the directory: every
// common password is found in every generation, each generation's own
// passwords are found in it, and nothing fails or races.
func TestCheckerReloadUnderLoad(t *testing.T) {
	tmp := t.TempDir()
	common := testPasswords("common", 500)
	gens := [2][]string{testPasswords("gen-a", 300), testPasswords("gen-b", 300)}
	inputs := [2]string{filepath.Join(tmp, "a.txt"), filepath.Join(tmp, "b.txt")}
	for i := range inputs {
		writeFullFile(t, inputs[i], SHA1, append(append([]string{}, common...), gens[i]...))
	}
	dir := filepath.Join(tmp, "corpus")
	build(t, BuildOptions{Inputs: []string{inputs[0]}, Out: dir, Shards: 4})
	k := NewChecker(dir)
	defer k.Close()
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}

	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		lookups  atomic.Int64
		failures = make(chan string, 100)
	)
	report := func(format string, a ...any) {
		select {
		case failures <- fmt.Sprintf(format, a...):
		default:
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; !stop.Load(); i++ {
				p := common[i%len(common)]
				found, err := k.Check(p)
				if err != nil || !found {
					report("Check(%q) = %v, %v", p, found, err)
					return
				}
				lookups.Add(1)
			}
		}()
	}
	// Readers that open the directory while builds swap it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			c, err := Open(dir)
			if err != nil {
				report("Open during swaps: %v", err)
				return
			}
			if !c.Contains(common[0]) {
				report("opened corpus lacks a common password")
			}
			c.Close()
		}
	}()

	for round := 1; round <= 12; round++ {
		g := round % 2
		if _, err := Build(context.Background(), BuildOptions{Inputs: []string{inputs[g]}, Out: dir, Shards: 4}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := k.Reload(); err != nil {
			t.Fatalf("round %d: Reload: %v", round, err)
		}
		for _, p := range gens[g] {
			if found, err := k.Check(p); !found || err != nil {
				t.Fatalf("round %d: generation password %q: %v, %v", round, p, found, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if lookups.Load() == 0 {
		t.Error("no lookups ran")
	}
}

// TestCheckerSwapReleasesAfterLookups checks the reference counting
// directly: a generation swapped out while a lookup holds it stays mapped
// until that lookup releases it.
func TestCheckerSwapReleasesAfterLookups(t *testing.T) {
	dir, pw := smallCorpus(t)
	c1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := NewChecker(dir)
	k.Swap(c1)
	g := k.acquire() // an in-flight lookup on c1
	k.Swap(c2)
	if c1.maps[0] == nil {
		t.Fatal("generation unmapped while a lookup holds it")
	}
	if !g.corpus.Contains(pw[0]) {
		t.Error("lookup on the held generation failed")
	}
	g.release()
	if c1.maps[0] != nil {
		t.Error("generation still mapped after its last lookup")
	}
	k.Close()
	if c2.maps[0] != nil {
		t.Error("current generation still mapped after Close")
	}
}
