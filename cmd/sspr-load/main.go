package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // row counts of sspr's database, read-only
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "users":
		err = cmdUsers(os.Args[2:])
	case "run":
		err = cmdRun(os.Args[2:])
	case "delete":
		err = cmdDelete(os.Args[2:])
	case "prefill":
		err = cmdPrefill(os.Args[2:])
	case "-h", "--help", "help":
		usage(os.Stdout)
		return
	default:
		fmt.Fprintf(os.Stderr, "sspr-load: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sspr-load:", err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  sspr-load users [flags]   create load-test users in a directory
  sspr-load run [flags]     drive complete flows through sspr (and raw resets) and report
  sspr-load delete [flags]  delete the load-test users and their OU
  sspr-load prefill [flags] count many limiter events for one client address in sspr's database
Run "sspr-load users -h" or "sspr-load run -h" for the flags.
`)
}

func dirFlags(fs *flag.FlagSet, prefix string) *dirOptions {
	o := &dirOptions{}
	fs.StringVar(&o.kind, prefix+"type", "openldap", "directory type: openldap (also 389ds) or ad")
	fs.StringVar(&o.url, prefix+"url", "", "directory URL (ldaps://… or ldap:// with StartTLS)")
	fs.StringVar(&o.bindDN, prefix+"bind-dn", "", "DN to bind as")
	fs.StringVar(&o.password, prefix+"bind-password", "", "its password (or "+strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))+"BIND_PASSWORD in the environment)")
	fs.StringVar(&o.caFile, prefix+"ca-file", "", "CA certificate file for TLS")
	fs.StringVar(&o.baseDN, prefix+"base-dn", "", "the OU the load users live in (created by `users`)")
	fs.StringVar(&o.prefix, prefix+"prefix", "loadu", "login prefix of the load users (prefix0, prefix1, …)")
	return o
}

func fillPassword(o *dirOptions, env string) {
	if o.password == "" {
		o.password = os.Getenv(env)
	}
}

func cmdUsers(args []string) error {
	fs := flag.NewFlagSet("users", flag.ExitOnError)
	o := dirFlags(fs, "")
	count := fs.Int("count", 1000, "how many users")
	password := fs.String("password", "Load-Initial-Pass-1", "their initial password")
	workers := fs.Int("workers", 4, "connections adding users at once")
	_ = fs.Parse(args)
	fillPassword(o, "BIND_PASSWORD")
	if o.url == "" || o.baseDN == "" {
		return errors.New("users: -url and -base-dn are required")
	}
	start := time.Now()
	err := createUsers(*o, *count, *workers, *password, func(done int) {
		if done%100 == 0 || done == *count {
			fmt.Fprintf(os.Stderr, "\rusers: %d/%d", done, *count)
		}
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("users: %d users below %s in %s\n", *count, o.baseDN, time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdDelete(args []string) error {
	fs := flag.NewFlagSet("delete", flag.ExitOnError)
	o := dirFlags(fs, "")
	_ = fs.Parse(args)
	fillPassword(o, "BIND_PASSWORD")
	if o.url == "" || o.baseDN == "" {
		return errors.New("delete: -url and -base-dn are required")
	}
	start := time.Now()
	n, err := deleteUsers(*o, func(done int) {
		if done%100 == 0 {
			fmt.Fprintf(os.Stderr, "\rdelete: %d", done)
		}
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	fmt.Printf("delete: %d entries and %s in %s\n", n, o.baseDN, time.Since(start).Round(time.Millisecond))
	return nil
}

type runOptions struct {
	api         string
	smtp        string
	users       int
	concurrency int
	duration    time.Duration
	rate        float64
	window      time.Duration
	phase       time.Duration
	settle      time.Duration
	pids        pidList
	dirPID      int
	storePID    int
	db          string
	codeWait    time.Duration
	jsonOut     string
	raw         *dirOptions
	monitor     bool
	unknown     float64
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o runOptions
	fs.StringVar(&o.api, "api", "http://127.0.0.1:8080", "sspr's base URL")
	fs.StringVar(&o.smtp, "smtp", "127.0.0.1:2525", "address to receive sspr's mail on (point sspr's mail.smtp here)")
	fs.IntVar(&o.users, "users", 1000, "number of load users (prefix0 … prefixN-1; see `users`)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "flows in flight at most")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to run")
	fs.Float64Var(&o.rate, "rate", 0, "start this many flows per second (0: as fast as the concurrency allows)")
	fs.DurationVar(&o.window, "window", 0, "report every window (0: once at the end)")
	fs.DurationVar(&o.phase, "phase", 10*time.Second, "with -raw-url: alternate sspr and raw phases of this length")
	fs.DurationVar(&o.settle, "settle", 0, "count only what completes from this long after a phase's start to its end (its steady part): not the ramp-up, nor the drain of what began before the end")
	fs.Var(&o.pids, "pid", "sspr's process ID, for CPU per flow, RSS and open files; several nodes: their IDs, comma-separated (summed)")
	fs.IntVar(&o.dirPID, "dir-pid", 0, "the directory server's process ID, for its CPU per flow (with the processes it forked: Samba serves from children)")
	fs.IntVar(&o.storePID, "store-pid", 0, "PostgreSQL's postmaster process ID, for the database's CPU per flow (with the backends it forked); sspr on SQLite has none")
	fs.StringVar(&o.db, "db", "", "sspr's SQLite database, for its size and row counts")
	fs.DurationVar(&o.codeWait, "code-wait", 30*time.Second, "give up on a code mail after this long")
	fs.StringVar(&o.jsonOut, "json", "", "also write the summary as JSON to this file")
	fs.BoolVar(&o.monitor, "count-ops", false, "count directory operations per flow from OpenLDAP's cn=monitor (with -raw-* credentials)")
	fs.Float64Var(&o.unknown, "unknown", 0, "this fraction of identifies (0…1) uses logins nobody has, and the Welch test compares their identify times with the known logins'")
	o.raw = dirFlags(fs, "raw-")
	fs.BoolVar(&o.raw.asSSPR, "raw-as-sspr", false, "on AD: make the raw reset the write sspr makes (the policy-hints control, so history applies, and a read of lockoutTime after it)")
	cpuProfile := fs.String("cpuprofile", "", "write this program's own CPU profile to this file (what the measuring costs)")
	_ = fs.Parse(args)
	fillPassword(o.raw, "RAW_BIND_PASSWORD")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	o.db = absPath(o.db)
	if o.users < o.concurrency {
		return errors.New("run: -users must be at least -concurrency (a user is never in two flows at once)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, o)
}

// phaseResult is what one kind of phase achieved in total.
type phaseResult struct {
	Kind    string        `json:"kind"`
	Elapsed time.Duration `json:"elapsed_ns"`
	OK      int64         `json:"ok"`
	Errors  int64         `json:"errors"`
	CPU     time.Duration `json:"sspr_cpu_ns"`
	DirCPU  time.Duration `json:"directory_cpu_ns"`
	// StoreCPU is PostgreSQL's (-store-pid), zero without it.
	StoreCPU time.Duration `json:"store_cpu_ns"`
	// SelfCPU is this program's own CPU (the clients, and for sspr the
	// mail catcher): on one machine it competes with what it measures.
	SelfCPU time.Duration `json:"load_cpu_ns"`
	DirOps  int64         `json:"directory_ops"`
	OpsSeen bool          `json:"directory_ops_counted"`
	// OpsByKind splits DirOps by operation; QuietOps is what the
	// directory did meanwhile for others (the quiet rate measured before
	// the run, times the phase's length), already taken out of both.
	OpsByKind opCounts `json:"directory_ops_by_kind,omitempty"`
	QuietOps  float64  `json:"directory_ops_others"`
}

func (p phaseResult) perSecond() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.OK) / p.Elapsed.Seconds()
}

func run(ctx context.Context, o runOptions) error {
	_, err := drive(ctx, o)
	return err
}

// result is what a run measured: the totals per kind of phase and every
// report window.
type result struct {
	Totals  map[string]*phaseResult
	Windows []windowStat
	// Skipped counts the starts an open-loop run skipped because all its
	// in-flight slots were busy (the server fell behind).
	Skipped int64
}

// drive runs the load of o, prints every window and the summary, and
// returns what it measured (the soak test asserts on it).
func drive(ctx context.Context, o runOptions) (*result, error) {
	mail, err := startCatcher(o.smtp)
	if err != nil {
		return nil, err
	}
	defer mail.sink.Close()
	c := &client{base: strings.TrimRight(o.api, "/"), http: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2, MaxConnsPerHost: o.concurrency * 2},
	}}
	users := make(chan int, o.users)
	for i := range o.users {
		users <- i
	}
	lat := newLatencies()
	ids := newLatencies() // identify times of known and unknown logins, the whole run
	errs := &errorCounts{byStep: map[string]int64{}}
	rawOn := o.raw.url != "" && o.rate == 0
	totals := map[string]*phaseResult{"sspr": {Kind: "sspr"}, "raw": {Kind: "raw"}}
	res := &result{Totals: totals}

	deadline := time.Now().Add(o.duration)
	windowFlows := int64(0)
	windowBusy := time.Duration(0) // time spent in sspr phases this window
	windowCPU := time.Duration(0)  // sspr's CPU over the counted parts of them
	var windowSample procSample
	if len(o.pids) > 0 {
		windowSample, _ = sampleProcs(o.pids)
	}
	report := func(final bool) {
		if o.window == 0 && !final {
			return
		}
		res.Windows = append(res.Windows, printWindow(o, windowBusy, windowFlows, windowCPU, errs.take(), lat.take(), &windowSample))
		windowBusy, windowFlows, windowCPU = 0, 0, 0
	}
	if o.monitor {
		measureQuiet(ctx, o)
	}
	fmt.Printf("sspr-load: %s against %s, concurrency %d, %d users, rate %s, raw %v\n",
		o.duration, o.api, o.concurrency, o.users, rateText(o.rate), rawOn)
	nextWindow := time.Now().Add(o.window)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		length := min(o.phase, time.Until(deadline))
		if !rawOn || o.window > 0 && o.phase > o.window {
			length = time.Until(deadline)
			if o.window > 0 {
				length = min(length, time.Until(nextWindow))
			}
		}
		if o.settle > 0 && length <= o.settle {
			break // a phase with no steady part: nothing would count
		}
		ok, _, phase, skipped := sspPhase(ctx, o, c, mail, users, lat, ids, errs, length)
		totals["sspr"].add(phase)
		res.Skipped += skipped
		windowFlows += ok
		windowBusy += phase.Elapsed
		windowCPU += phase.CPU
		if rawLength := min(o.phase, time.Until(deadline)); rawOn && rawLength > o.settle && ctx.Err() == nil {
			totals["raw"].add(rawPhase(ctx, o, rawLength))
		}
		if o.window > 0 && !time.Now().Before(nextWindow) {
			report(false)
			nextWindow = time.Now().Add(o.window)
		}
	}
	if o.window == 0 || windowFlows > 0 {
		report(true)
	}
	if err := summary(o, res, mail); err != nil {
		return res, err
	}
	if o.unknown > 0 {
		printWelch(ids.take())
	}
	return res, nil
}

// printWelch compares the identify times of known and unknown logins.
func printWelch(ids map[string][]time.Duration) {
	k, u := ids["known"], ids["unknown"]
	if len(k) < 2 || len(u) < 2 {
		fmt.Println("         identify known vs unknown: too few samples")
		return
	}
	mk, _ := meanVar(k)
	mu, _ := meanVar(u)
	t, df, p := welch(k, u)
	fmt.Printf("         identify known vs unknown: n %d / %d, mean %.1f / %.1f ms, p50 %s / %s ms, p99 %s / %s ms; Welch t = %.2f, df = %.0f, p = %.3g\n",
		len(k), len(u), mk, mu, ms(quantile(k, 0.5)), ms(quantile(u, 0.5)), ms(quantile(k, 0.99)), ms(quantile(u, 0.99)), t, df, p)
}

func rateText(r float64) string {
	if r == 0 {
		return "closed loop"
	}
	return fmt.Sprintf("%.1f/s", r)
}

func (p *phaseResult) add(q phaseResult) {
	p.Elapsed += q.Elapsed
	p.OK += q.OK
	p.Errors += q.Errors
	p.CPU += q.CPU
	p.DirCPU += q.DirCPU
	p.StoreCPU += q.StoreCPU
	p.SelfCPU += q.SelfCPU
	p.DirOps += q.DirOps
	p.OpsSeen = p.OpsSeen || q.OpsSeen
	p.QuietOps += q.QuietOps
	if q.OpsByKind != nil {
		if p.OpsByKind == nil {
			p.OpsByKind = opCounts{}
		}
		for k, v := range q.OpsByKind {
			p.OpsByKind[k] += v
		}
	}
}

type errorCounts struct {
	mu     sync.Mutex
	byStep map[string]int64
	first  map[string]string
}

func (e *errorCounts) add(err error) {
	step := "other"
	var se *stepError
	if errors.As(err, &se) {
		step = se.step
	}
	e.mu.Lock()
	e.byStep[step]++
	if e.first == nil {
		e.first = map[string]string{}
	}
	if _, ok := e.first[step]; !ok {
		e.first[step] = err.Error()
		fmt.Fprintf(os.Stderr, "sspr-load: first error at %s: %v\n", step, err)
	}
	e.mu.Unlock()
}

func (e *errorCounts) take() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.byStep
	e.byStep = map[string]int64{}
	return out
}

// phaseSamples is what measure reads at each end of the part of a phase
// that counts.
type phaseSamples struct {
	at             time.Time
	procs, dir     procSample
	store          procSample
	self           procSample
	ops            opCounts
	procsOK, opsOK bool
}

func takeSamples(o runOptions) phaseSamples {
	s := phaseSamples{at: time.Now()}
	if len(o.pids) > 0 {
		var err error
		s.procs, err = sampleProcs(o.pids)
		s.procsOK = err == nil
	}
	if o.dirPID > 0 {
		s.dir, _ = sampleTree(o.dirPID)
	}
	if o.storePID > 0 {
		s.store, _ = sampleTree(o.storePID)
	}
	if o.monitor {
		s.ops, s.opsOK = countOps(*o.raw)
	}
	s.self, _ = sampleProc(os.Getpid())
	return s
}

// measure runs a phase of length with fn and samples the processes and the
// directory's op counter around the part of it that counts. Without
// -settle that is the whole phase, the drain of what began before its end
// included. With -settle it is the steady part, from settle after the
// start to the end: what completes during the ramp-up or the drain runs
// but is not counted (fn counts what completes while counts says so), so
// a flow whose first steps never reach the directory (identify's padding)
// is not measured against a raw reset that does at once. Errors and step
// latencies are those of the whole phase.
func measure(o runOptions, length time.Duration, fn func(counts func(time.Time) bool) (ok, bad int64)) phaseResult {
	var before, after phaseSamples
	var res phaseResult
	if settle := o.settle; settle > 0 && settle < length {
		start := time.Now()
		from, to := start.Add(settle), start.Add(length)
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(time.Until(from))
			before = takeSamples(o)
			time.Sleep(time.Until(to))
			after = takeSamples(o)
		}()
		ok, bad := fn(func(t time.Time) bool { return !t.Before(from) && t.Before(to) })
		<-done
		res = phaseResult{Elapsed: to.Sub(from), OK: ok, Errors: bad}
	} else {
		before = takeSamples(o)
		ok, bad := fn(func(time.Time) bool { return true })
		after = takeSamples(o)
		res = phaseResult{Elapsed: after.at.Sub(before.at), OK: ok, Errors: bad}
	}
	res.SelfCPU = after.self.cpu - before.self.cpu
	if before.procsOK && after.procsOK {
		res.CPU = after.procs.cpu - before.procs.cpu
	}
	if o.dirPID > 0 {
		res.DirCPU = after.dir.cpu - before.dir.cpu
	}
	if o.storePID > 0 {
		res.StoreCPU = after.store.cpu - before.store.cpu
	}
	if before.opsOK && after.opsOK {
		// Each countOps is a bind, a search and an unbind of its own.
		d := after.ops.minus(before.ops)
		d["bind"]--
		d["search"]--
		d["unbind"]--
		res.OpsByKind, res.OpsSeen = d, true
		res.QuietOps = quietOpsPerSecond * res.Elapsed.Seconds()
		res.DirOps = d.total()
	}
	return res
}

// sspPhase runs flows for length: closed loop (every worker starts its next
// flow when one ends) or, with a rate, open loop with an in-flight cap.
func sspPhase(ctx context.Context, o runOptions, c *client, mail *catcher, users chan int, lat, ids *latencies, errs *errorCounts, length time.Duration) (int64, int64, phaseResult, int64) {
	var ok, bad, skipped, unknownSeq atomic.Int64
	res := measure(o, length, func(counts func(time.Time) bool) (int64, int64) {
		pctx, cancel := context.WithTimeout(ctx, length)
		defer cancel()
		one := func() {
			if o.unknown > 0 && mrand.Float64() < o.unknown {
				// Not a flow: an identify of a login nobody has, timed
				// against the known ones.
				login := fmt.Sprintf("%snobody%d", o.raw.prefix, unknownSeq.Add(1))
				if d, err := identifyOnly(context.WithoutCancel(pctx), c, login); err != nil {
					errs.add(err)
				} else {
					lat.add("identify_unknown", d)
					ids.add("unknown", d)
				}
				return
			}
			i := <-users
			defer func() { users <- i }()
			// A flow that began keeps running past the phase's end (its
			// own context), so no half-done flows are counted as errors.
			if err := runFlow(context.WithoutCancel(pctx), c, mail, lat, ids, loginOf(o, i), mailOf(o, i), o.codeWait); err != nil {
				bad.Add(1)
				errs.add(err)
				return
			}
			if counts(time.Now()) {
				ok.Add(1)
			}
		}
		var wg sync.WaitGroup
		if o.rate <= 0 {
			for range o.concurrency {
				wg.Go(func() {
					for pctx.Err() == nil {
						one()
					}
				})
			}
			wg.Wait()
			return ok.Load(), bad.Load()
		}
		slots := make(chan struct{}, o.concurrency)
		tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer tick.Stop()
		// Starts are counted against the clock, not the ticks: a ticker
		// drops ticks its receiver was too busy (or too descheduled, on a
		// loaded machine) to take, which would quietly lower the rate.
		begin, started := time.Now(), int64(0)
		for {
			select {
			case <-pctx.Done():
				wg.Wait()
				if n := skipped.Load(); n > 0 {
					fmt.Fprintf(os.Stderr, "sspr-load: %d starts skipped (all %d slots busy)\n", n, o.concurrency)
				}
				return ok.Load(), bad.Load()
			case <-tick.C:
				for due := int64(time.Since(begin).Seconds() * o.rate); started < due; started++ {
					select {
					case slots <- struct{}{}:
						wg.Go(func() { defer func() { <-slots }(); one() })
					default:
						skipped.Add(1)
					}
				}
			}
		}
	})
	res.Kind = "sspr"
	return ok.Load(), bad.Load(), res, skipped.Load()
}

func loginOf(o runOptions, i int) string { return o.raw.login(i) }

func mailOf(o runOptions, i int) string { return o.raw.mail(i) }

// rawPhase resets passwords straight in the directory for length.
func rawPhase(ctx context.Context, o runOptions, length time.Duration) phaseResult {
	var next atomic.Int64
	res := measure(o, length, func(counts func(time.Time) bool) (int64, int64) {
		var ok, bad atomic.Int64
		pctx, cancel := context.WithTimeout(ctx, length)
		defer cancel()
		var wg sync.WaitGroup
		for range o.concurrency {
			wg.Go(func() {
				r := &rawResetter{o: *o.raw}
				defer r.drop()
				for pctx.Err() == nil {
					i := int(next.Add(1)) % o.users
					if err := r.reset(i); err != nil {
						bad.Add(1)
						continue
					}
					if counts(time.Now()) {
						ok.Add(1)
					}
				}
			})
		}
		wg.Wait()
		return ok.Load(), bad.Load()
	})
	res.Kind = "raw"
	return res
}

var stepOrder = []string{"identify", "identify_unknown", "choose", "code_mail", "verify", "password", "flow"}

// windowStat is one report window's figures.
type windowStat struct {
	End     time.Time     `json:"end"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Flows   int64         `json:"flows"`
	Errors  int64         `json:"errors"`
	// P50 and P99 per step (identify, choose, code_mail, verify,
	// password, flow).
	P50 map[string]time.Duration `json:"p50_ns"`
	P99 map[string]time.Duration `json:"p99_ns"`
	// CPUPerFlow is sspr's CPU time (user + system) over the window
	// divided by its flows (0 without -pid).
	CPUPerFlow time.Duration    `json:"sspr_cpu_per_flow_ns"`
	RSS        int64            `json:"sspr_rss_bytes"`
	OpenFiles  int              `json:"sspr_open_files"`
	DBBytes    int64            `json:"db_bytes"`
	Rows       map[string]int64 `json:"rows,omitempty"`
}

// counted is sspr's CPU over the counted parts of the window's phases:
// with -settle the CPU per flow is that over the flows counted.
func printWindow(o runOptions, elapsed time.Duration, flows int64, counted time.Duration, errs map[string]int64, lat map[string][]time.Duration, last *procSample) windowStat {
	w := windowStat{End: time.Now(), Elapsed: elapsed, Flows: flows, P50: map[string]time.Duration{}, P99: map[string]time.Duration{}}
	fmt.Printf("\n[%s] window %s: %d flows (%.1f/s)", time.Now().UTC().Format("15:04:05"), elapsed.Round(time.Second), flows, float64(flows)/elapsed.Seconds())
	var nerr int64
	for _, n := range errs {
		nerr += n
	}
	w.Errors = nerr
	fmt.Printf(", %d errors", nerr)
	if nerr > 0 {
		keys := make([]string, 0, len(errs))
		for k := range errs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf(" %s=%d", k, errs[k])
		}
	}
	fmt.Println()
	fmt.Printf("  %-10s %8s %8s %8s\n", "step", "n", "p50 ms", "p99 ms")
	for _, s := range stepOrder {
		ds := lat[s]
		if len(ds) == 0 {
			continue
		}
		w.P50[s], w.P99[s] = quantile(ds, 0.5), quantile(ds, 0.99)
		fmt.Printf("  %-10s %8d %8s %8s\n", s, len(ds), ms(w.P50[s]), ms(w.P99[s]))
	}
	if len(o.pids) > 0 {
		if now, err := sampleProcs(o.pids); err == nil {
			cpu := now.cpu - last.cpu
			if o.settle > 0 {
				cpu = counted
			}
			perFlow := "-"
			if flows > 0 {
				w.CPUPerFlow = cpu / time.Duration(flows)
				perFlow = ms(w.CPUPerFlow) + " ms"
			}
			w.RSS, w.OpenFiles = now.rssBytes, now.fds
			fmt.Printf("  sspr: CPU/flow %s, RSS %s (peak %s since start), open files %d\n", perFlow, mib(now.rssBytes), mib(now.hwmBytes), now.fds)
			*last = now
		}
	}
	if o.db != "" {
		w.DBBytes = fileSizes(o.db)
		fmt.Printf("  database: %s", mib(w.DBBytes))
		if counts, err := rowCounts(o.db); err == nil {
			w.Rows = counts
			fmt.Printf(" — %s", formatCounts(counts))
		}
		fmt.Println()
	}
	return w
}

func formatCounts(c map[string]int64) string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, c[n])
	}
	return strings.Join(parts, ", ")
}

// rowCounts counts each table's rows, read-only, beside the running server.
func rowCounts(path string) (map[string]int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	out := make(map[string]int64, len(names))
	for _, n := range names {
		var c int64
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + n + `"`).Scan(&c); err != nil {
			return nil, err
		}
		out[n] = c
	}
	return out, nil
}

func summary(o runOptions, res *result, mail *catcher) error {
	s, r := res.Totals["sspr"], res.Totals["raw"]
	fmt.Printf("\nsummary: sspr %d flows in %s = %.1f flows/s (%d errors)", s.OK, s.Elapsed.Round(time.Millisecond), s.perSecond(), s.Errors)
	if s.OK > 0 && len(o.pids) > 0 {
		fmt.Printf(", sspr CPU %s ms/flow", ms(s.CPU/time.Duration(s.OK)))
	}
	if s.OK > 0 && o.dirPID > 0 {
		fmt.Printf(", directory CPU %s ms/flow", ms(s.DirCPU/time.Duration(s.OK)))
	}
	if s.OK > 0 && o.storePID > 0 {
		fmt.Printf(", PostgreSQL CPU %s ms/flow", ms(s.StoreCPU/time.Duration(s.OK)))
	}
	if s.OK > 0 {
		fmt.Printf(", load program CPU %s ms/flow", ms(s.SelfCPU/time.Duration(s.OK)))
	}
	if s.OpsSeen && s.OK > 0 {
		fmt.Printf(", %.1f directory operations/flow (%s; %.1f without others' at their quiet rate)", float64(s.DirOps)/float64(s.OK), perFlowOps(*s), (float64(s.DirOps)-s.QuietOps)/float64(s.OK))
	}
	fmt.Println()
	if r.Elapsed > 0 {
		fmt.Printf("         raw  %d resets in %s = %.1f resets/s (%d errors)", r.OK, r.Elapsed.Round(time.Millisecond), r.perSecond(), r.Errors)
		if r.OK > 0 && o.dirPID > 0 {
			fmt.Printf(", directory CPU %s ms/reset", ms(r.DirCPU/time.Duration(r.OK)))
		}
		if r.OK > 0 {
			fmt.Printf(", load program CPU %s ms/reset", ms(r.SelfCPU/time.Duration(r.OK)))
		}
		if r.OpsSeen && r.OK > 0 {
			fmt.Printf(", %.1f directory operations/reset (%s; %.1f without others')", float64(r.DirOps)/float64(r.OK), perFlowOps(*r), (float64(r.DirOps)-r.QuietOps)/float64(r.OK))
		}
		fmt.Println()
		if r.perSecond() > 0 {
			fmt.Printf("         ratio sspr/raw = %.3f\n", s.perSecond()/r.perSecond())
		}
	}
	if o.jsonOut == "" {
		return nil
	}
	out := map[string]any{"sspr": s, "raw": r, "sspr_flows_per_s": s.perSecond(), "raw_resets_per_s": r.perSecond(),
		"concurrency": o.concurrency, "users": o.users, "duration": o.duration.String(), "rate": o.rate,
		"windows": res.Windows, "skipped_starts": res.Skipped}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.jsonOut, append(b, '\n'), 0o644)
}

// quietOpsPerSecond is the rate of operations the directory completed for
// others (other clients of a shared directory) while nothing here ran.
var quietOpsPerSecond float64

// measureQuiet counts the directory's operations over a few seconds with
// no load of ours, so the per-flow figures leave out what others did.
func measureQuiet(ctx context.Context, o runOptions) {
	const quiet = 5 * time.Second
	before, ok := countOps(*o.raw)
	if !ok {
		return
	}
	select {
	case <-time.After(quiet):
	case <-ctx.Done():
		return
	}
	after, ok := countOps(*o.raw)
	if !ok {
		return
	}
	d := after.minus(before)
	n := float64(d.total() - 3) // our own bind, search, unbind
	quietOpsPerSecond = max(n, 0) / quiet.Seconds()
	fmt.Printf("sspr-load: the directory did %.1f operations/s for others while we were quiet (%v)\n", quietOpsPerSecond, d)
}

// perFlowOps lists the operations per flow by kind (others' not taken out
// of these).
func perFlowOps(p phaseResult) string {
	keys := make([]string, 0, len(p.OpsByKind))
	for k, v := range p.OpsByKind {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(p.OpsByKind[k])/float64(p.OK)))
	}
	return strings.Join(parts, ", ")
}
