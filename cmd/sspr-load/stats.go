package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencies collects durations per step name. Safe for concurrent use.
type latencies struct {
	mu    sync.Mutex
	steps map[string][]time.Duration
}

func newLatencies() *latencies { return &latencies{steps: map[string][]time.Duration{}} }

func (l *latencies) add(step string, d time.Duration) {
	l.mu.Lock()
	l.steps[step] = append(l.steps[step], d)
	l.mu.Unlock()
}

// take returns the collected durations and starts afresh (one report window).
func (l *latencies) take() map[string][]time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.steps
	l.steps = map[string][]time.Duration{}
	return out
}

// quantile returns the q-quantile (0..1) of ds, nearest rank; ds is sorted
// in place.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[max(0, min(i, len(ds)-1))]
}

// procSample is what /proc says about a process at one moment.
type procSample struct {
	at       time.Time
	cpu      time.Duration // user + system
	rssBytes int64
	hwmBytes int64 // peak RSS (VmHWM)
	fds      int
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	f, err := statFields(pid)
	if err != nil {
		return s, err
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	s.cpu = time.Duration(utime+stime) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.rssBytes = kb << 10
			}
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.hwmBytes = kb << 10
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = len(ents)
	}
	return s, nil
}

// sampleProcs samples each process and adds them up (several sspr nodes
// on one machine): CPU, RSS, peak RSS and open files are sums; the sample
// fails if any process cannot be read.
func sampleProcs(pids []int) (procSample, error) {
	sum := procSample{at: time.Now()}
	for _, pid := range pids {
		s, err := sampleProc(pid)
		if err != nil {
			return sum, err
		}
		sum.cpu += s.cpu
		sum.rssBytes += s.rssBytes
		sum.hwmBytes += s.hwmBytes
		sum.fds += s.fds
	}
	return sum, nil
}

// pidList is the -pid flag: one process ID, or several separated by
// commas.
type pidList []int

func (p *pidList) String() string {
	parts := make([]string, len(*p))
	for i, pid := range *p {
		parts[i] = strconv.Itoa(pid)
	}
	return strings.Join(parts, ",")
}

func (p *pidList) Set(v string) error {
	*p = nil
	for part := range strings.SplitSeq(v, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || pid <= 0 {
			return fmt.Errorf("%q is not a process ID", part)
		}
		*p = append(*p, pid)
	}
	return nil
}

// fileSizes adds up the sizes of a SQLite database and its -wal and -shm.
func fileSizes(db string) int64 {
	var n int64
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func absPath(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// sampleTree samples pid and every process below it and adds up their CPU
// (live processes' own time, plus what each has reaped of exited
// children): Samba serves LDAP from forked children, whose work the
// parent's own counters never show. RSS, peak RSS and open files are the
// root's.
func sampleTree(pid int) (procSample, error) {
	root, err := sampleProc(pid)
	if err != nil {
		return root, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return root, err
	}
	parent := map[int]int{}
	cpu := map[int]time.Duration{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, t, err := statTimes(p)
		if err != nil {
			continue // exited meanwhile: its time is in its parent's reaped time
		}
		parent[p], cpu[p] = ppid, t
	}
	root.cpu = 0
	for p, t := range cpu {
		// Up the parents to pid (or PID 0); bounded, as /proc is not read
		// atomically and a reused PID could make a loop.
		for q, hops := p, 0; q > 0 && hops < 64; q, hops = parent[q], hops+1 {
			if q == pid {
				root.cpu += t
				break
			}
		}
	}
	return root, nil
}

// statTimes reads a process's parent and its CPU time: its own user and
// system time and that of the children it has reaped.
func statTimes(pid int) (ppid int, cpu time.Duration, err error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, 0, err
	}
	ppid, _ = strconv.Atoi(f[1])
	var ticks int64
	for _, s := range f[11:15] { // utime, stime, cutime, cstime
		v, _ := strconv.ParseInt(s, 10, 64)
		ticks += v
	}
	return ppid, time.Duration(ticks) * time.Second / clockTicks, nil
}

// statFields reads /proc/PID/stat and returns its fields after the command
// name (which may hold spaces): f[1] is the parent, f[11:15] utime, stime,
// cutime and cstime.
func statFields(pid int) ([]string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+2:]
	}
	f := strings.Fields(rest)
	if len(f) < 22 {
		return nil, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	return f, nil
}
