package breach

import (
	"math/rand/v2"
	"testing"
)

func TestFuseFilterSizes(t *testing.T) {
	var fb fuseBuilder
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1000, 50_000, 1_100_000} {
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = rng.Uint64()
		}
		keys = sortUnique(keys)
		p, fp, err := fb.build(keys, uint64(n), nil)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !p.valid() || len(fp) != int(p.arrayLength) {
			t.Fatalf("n=%d: invalid params %+v, len(fp)=%d", n, p, len(fp))
		}
		for _, k := range keys {
			if !p.contains(fp, k) {
				t.Fatalf("n=%d: key %x missing", n, k)
			}
		}
		if n >= 50_000 {
			bitsPerKey := float64(len(fp)) * 16 / float64(n)
			// From 2^20 keys on, the array is 1.125 slots per key plus at
			// most one segment of rounding.
			if n > 1<<20 && bitsPerKey > 18.3 {
				t.Errorf("n=%d: %.2f bits per key", n, bitsPerKey)
			}
			fps := 0
			const probes = 200_000
			for range probes {
				if p.contains(fp, rng.Uint64()) {
					fps++
				}
			}
			// Expected 2^-16 * 200k ≈ 3.
			if fps > 20 {
				t.Errorf("n=%d: %d false positives in %d probes", n, fps, probes)
			}
		}
	}
}

func TestFuseFilterRejectsDuplicates(t *testing.T) {
	var fb fuseBuilder
	keys := []uint64{1, 2, 3, 3, 4, 5, 6, 7, 8, 9}
	if _, _, err := fb.build(keys, 1, nil); err == nil {
		t.Fatal("build with duplicate keys succeeded")
	}
}

func TestSortUnique(t *testing.T) {
	got := sortUnique([]uint64{5, 1, 5, 3, 1, 1, 9})
	want := []uint64{1, 3, 5, 9}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v", got)
		}
	}
}

func TestLocate(t *testing.T) {
	var d [20]byte
	for i := range d {
		d[i] = byte(i + 1)
	}
	shard, key := locate(&d, 8)
	if shard != 0x01 || key != 0x05060708090a0b0c {
		t.Errorf("locate = %#x, %#x", shard, key)
	}
	if shard, _ := locate(&d, 12); shard != 0x010 {
		t.Errorf("12-bit shard = %#x", shard)
	}
	if shard, _ := locate(&d, 0); shard != 0 {
		t.Errorf("0-bit shard = %#x", shard)
	}
}
