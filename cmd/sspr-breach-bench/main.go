// Command sspr-breach-bench measures the offline breached-password corpus
// against the targets of issue 5: it builds a corpus from N synthetic SHA-1
// hashes (generated deterministically from a seed and streamed into the
// build, never all held in memory), then reports build time, peak memory,
// bits per key, lookups per second on one core and on all cores, and the
// measured false-positive rate.
//
//	sspr-breach-bench [-n 100000000] [-seed 1] [-dir DIR] [-keep]
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/password/breach"
)

func main() {
	var (
		n        = flag.Uint64("n", 100_000_000, "number of synthetic SHA-1 hashes in the corpus")
		seed     = flag.Uint64("seed", 1, "seed of the synthetic hashes")
		shards   = flag.Int("shards", 0, "number of shards (0 chooses by size)")
		dir      = flag.String("dir", "", "directory to build in (default: a new temporary directory)")
		keep     = flag.Bool("keep", false, "keep the corpus afterwards")
		duration = flag.Duration("duration", 3*time.Second, "how long each lookup measurement runs")
		fpProbes = flag.Uint64("fp-probes", 20_000_000, "absent hashes probed for the false-positive rate")
		reuse    = flag.Bool("reuse", false, "measure the corpus already in -dir (built with the same -n and -seed) instead of building")
	)
	flag.Parse()
	if *reuse && *dir == "" {
		fmt.Fprintln(os.Stderr, "sspr-breach-bench: -reuse needs -dir")
		os.Exit(2)
	}
	if err := run(*n, *seed, *shards, *dir, *keep || *reuse, *reuse, *duration, *fpProbes); err != nil {
		fmt.Fprintln(os.Stderr, "sspr-breach-bench:", err)
		os.Exit(1)
	}
}

// digest is the i-th synthetic SHA-1 digest of stream (a uniformly random
// 20-byte value, like a real SHA-1).
func digest(stream, i uint64) (d [20]byte) {
	s := stream*0xd1342543de82ef95 ^ i*0x9e3779b97f4a7c15
	binary.LittleEndian.PutUint64(d[0:], splitmix64(&s))
	binary.LittleEndian.PutUint64(d[8:], splitmix64(&s))
	binary.LittleEndian.PutUint32(d[16:], uint32(splitmix64(&s)))
	return d
}

func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func run(n, seed uint64, shards int, dir string, keep, reuse bool, duration time.Duration, fpProbes uint64) error {
	if dir == "" {
		d, err := os.MkdirTemp("/var/tmp", "sspr-breach-bench-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	out := filepath.Join(dir, "corpus")
	present, absent := seed, seed+1_000_003

	fmt.Printf("# sspr-breach-bench: %d keys, seed %d, GOMAXPROCS %d, %s/%s, %s\n",
		n, seed, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Printf("# cpu: %s, %d MiB RAM; load before: %s\n", cpuModel(), memTotal()>>20, loadAvg())

	var (
		buildTime, partitioned time.Duration
		peak                   int64
		res                    = &breach.BuildResult{}
	)
	if !reuse {
		var err error
		res, buildTime, partitioned, err = build(out, n, seed, shards, present)
		if err != nil {
			return err
		}
		peak = vmHWM()
	}

	t0 := time.Now()
	c, err := breach.Open(out)
	if err != nil {
		return err
	}
	defer c.Close()
	openTime := time.Since(t0)
	st := c.Stats()

	row := func(name, value, target, verdict string) {
		fmt.Printf("| %-34s | %-28s | %-14s | %-4s |\n", name, value, target, verdict)
	}
	ok := func(b bool) string {
		if b {
			return "met"
		}
		return "MISS"
	}
	fmt.Println()
	fmt.Println("| figure                             | measured                     | target         |      |")
	fmt.Println("|------------------------------------|------------------------------|----------------|------|")
	row("keys", fmt.Sprintf("%d in %d shards", st.Keys, st.Shards), "", "")
	if !reuse {
		row("build time", fmt.Sprintf("%.1f s (partition %.1f s)", buildTime.Seconds(), partitioned.Seconds()), "≤ 90 s @100M", verdictIf(n == 100_000_000, buildTime <= 90*time.Second, ok))
		row("peak RSS during build (VmHWM)", fmt.Sprintf("%.0f MiB", float64(peak)/(1<<20)), "≤ 2 GB", ok(peak <= 2e9))
	}
	row("bits per key", fmt.Sprintf("%.3f (%s)", st.BitsPerKey, mib(st.FilterBytes)), "≤ 18.5", ok(st.BitsPerKey <= 18.5))
	row("open + verify all checksums", fmt.Sprintf("%.0f ms", float64(openTime.Microseconds())/1000), "", "")

	// Warm the mapping, then time lookups in batches so the clock is read
	// once per 2^20 lookups. Each figure is the median of three runs, as
	// the machine may be shared.
	lookupRate(c, runtime.GOMAXPROCS(0), time.Second, present, absent, n)
	one, oneSpread := medianRate(c, 1, duration, present, absent, n)
	all, allSpread := medianRate(c, runtime.GOMAXPROCS(0), duration, present, absent, n)
	row("lookups/s, one core", fmt.Sprintf("%.2f M (%.0f ns each)", one/1e6, 1e9/one), "≥ 5 M", ok(one >= 5e6))
	fmt.Printf("|   (three runs)                     | %-28s |                |      |\n", oneSpread)
	row(fmt.Sprintf("lookups/s, all %d cores", runtime.GOMAXPROCS(0)), fmt.Sprintf("%.2f M (%.2f M per core)", all/1e6, all/1e6/float64(runtime.GOMAXPROCS(0))), "≥ 5 M per core", ok(all/float64(runtime.GOMAXPROCS(0)) >= 5e6))
	fmt.Printf("|   (three runs)                     | %-28s |                |      |\n", allSpread)
	bat, batSpread := medianRate(c, -1, duration, present, absent, n)
	row("lookups/s, one core, batches of 16", fmt.Sprintf("%.2f M (%.0f ns each)", bat/1e6, 1e9/bat), "≥ 5 M", ok(bat >= 5e6))
	fmt.Printf("|   (three runs)                     | %-28s |                |      |\n", batSpread)
	batAll, batAllSpread := medianRate(c, -runtime.GOMAXPROCS(0), duration, present, absent, n)
	row(fmt.Sprintf("lookups/s, %d cores, batches of 16", runtime.GOMAXPROCS(0)), fmt.Sprintf("%.2f M (%.2f M per core)", batAll/1e6, batAll/1e6/float64(runtime.GOMAXPROCS(0))), "≥ 5 M per core", ok(batAll/float64(runtime.GOMAXPROCS(0)) >= 5e6))
	fmt.Printf("|   (three runs)                     | %-28s |                |      |\n", batAllSpread)
	pw := passwordRate(c, duration)
	row("Contains(password), one core", fmt.Sprintf("%.2f M/s (SHA-1 included)", pw/1e6), "", "")

	fps := falsePositives(c, absent+1, fpProbes)
	rate := float64(fps) / float64(fpProbes)
	row("false-positive rate", fmt.Sprintf("%.5f %% (%d of %d)", rate*100, fps, fpProbes), "≤ 0.002 %", ok(rate <= 0.00002))
	fmt.Printf("\n# expected false-positive rate 2^-16 = %.5f %%; load after: %s\n", 100.0/65536, loadAvg())
	fmt.Printf("# build: %d distinct keys, %d duplicates, %s of shard files\n", res.Keys, res.Duplicates, mib(res.Bytes))
	return nil
}

// build streams n synthetic hashes into a Builder and finishes the corpus.
func build(out string, n, seed uint64, shards int, present uint64) (*breach.BuildResult, time.Duration, time.Duration, error) {
	start := time.Now()
	var lastProgress time.Time
	b, err := breach.NewBuilder(breach.BuildOptions{
		Out:    out,
		Shards: shards,
		Source: fmt.Sprintf("sspr-breach-bench synthetic SHA-1, n=%d seed=%d", n, seed),
		Progress: func(p breach.BuildProgress) {
			if time.Since(lastProgress) > 5*time.Second {
				lastProgress = time.Now()
				fmt.Fprintf(os.Stderr, "  %s: %d/%d keys\n", p.Stage, p.Done, p.Total)
			}
		},
	})
	if err != nil {
		return nil, 0, 0, err
	}
	last := time.Now()
	for i := range n {
		d := digest(present, i)
		if err := b.Add(d[:]); err != nil {
			b.Abort()
			return nil, 0, 0, err
		}
		if i&0xfffff == 0 && time.Since(last) > 5*time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "  partition: %d/%d keys\n", i, n)
		}
	}
	partitioned := time.Since(start)
	res, err := b.Finish(context.Background())
	return res, time.Since(start), partitioned, err
}

func verdictIf(applies, good bool, ok func(bool) string) string {
	if !applies {
		return "n/a"
	}
	return ok(good)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// medianRate runs lookupRate three times; it fails the program if a
// present key is ever reported absent.
func medianRate(c *breach.Corpus, workers int, d time.Duration, present, absent, n uint64) (float64, string) {
	var rates []float64
	for range 3 {
		r := lookupRate(c, workers, d, present, absent, n)
		if r.misses > 0 {
			fmt.Fprintf(os.Stderr, "sspr-breach-bench: %d present keys not found\n", r.misses)
			os.Exit(1)
		}
		rates = append(rates, r.rate)
	}
	sort.Float64s(rates)
	return rates[1], fmt.Sprintf("%.2f / %.2f / %.2f M", rates[0]/1e6, rates[1]/1e6, rates[2]/1e6)
}

type rateResult struct {
	rate   float64
	misses uint64
}

// lookupRate runs workers goroutines for about d and returns the total
// lookups/s. Each goroutine first generates 2^20 random hashes, present
// and absent alternately, then looks them up round after round, reading
// the clock once a round: so the figure is the filter's, not the
// generator's or the clock's. Negative workers means -workers goroutines
// using ContainsHashes, 16 hashes a call.
func lookupRate(c *breach.Corpus, workers int, d time.Duration, present, absent, n uint64) rateResult {
	batched := workers < 0
	if batched {
		workers = -workers
	}
	const round = 1 << 20
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		total  uint64
		misses uint64
		ready  sync.WaitGroup
		begin  = make(chan struct{})
	)
	for w := range workers {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			keys := make([][20]byte, round)
			s := uint64(w)*0x1234567 + uint64(time.Now().UnixNano())
			for i := range keys {
				if i%2 == 0 {
					keys[i] = digest(present, splitmix64(&s)%n)
				} else {
					keys[i] = digest(absent, splitmix64(&s))
				}
			}
			found := make([]bool, round)
			ready.Done()
			<-begin
			deadline := time.Now().Add(d)
			var done, hits uint64
			for time.Now().Before(deadline) {
				if batched {
					c.ContainsHashes(keys, found)
					for i := 0; i < round; i += 2 {
						if found[i] {
							hits++
						}
					}
				} else {
					for i := 0; i < round; i += 2 {
						if c.ContainsHash(keys[i]) {
							hits++
						}
						c.ContainsHash(keys[i+1])
					}
				}
				done += round
			}
			mu.Lock()
			total += done
			misses += done/2 - hits
			mu.Unlock()
		}()
	}
	ready.Wait()
	start := time.Now()
	close(begin)
	wg.Wait()
	return rateResult{rate: float64(total) / time.Since(start).Seconds(), misses: misses}
}

func passwordRate(c *breach.Corpus, d time.Duration) float64 {
	pw := []byte("correct-horse-00000000")
	var done int
	start := time.Now()
	for time.Since(start) < d {
		for i := range 1 << 18 {
			binary.LittleEndian.PutUint32(pw[14:], uint32(i))
			c.Contains(string(pw))
		}
		done += 1 << 18
	}
	return float64(done) / time.Since(start).Seconds()
}

func falsePositives(c *breach.Corpus, stream, probes uint64) uint64 {
	workers := uint64(runtime.GOMAXPROCS(0))
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		fps uint64
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var found uint64
			for i := w; i < probes; i += workers {
				if c.ContainsHash(digest(stream, i)) {
					found++
				}
			}
			mu.Lock()
			fps += found
			mu.Unlock()
		}()
	}
	wg.Wait()
	return fps
}

// vmHWM is the process's peak resident set size, from /proc/self/status.
func vmHWM() int64 { return procField("/proc/self/status", "VmHWM:") }

// procField reads a "Name:   123 kB" line of a /proc file, in bytes.
func procField(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
			return kb << 10
		}
	}
	return -1
}

// memTotal is the machine's memory, from /proc/meminfo.
func memTotal() int64 { return procField("/proc/meminfo", "MemTotal:") }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return "?"
}
