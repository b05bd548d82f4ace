package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr/sspr/internal/password/breach"
)

// breachCmd is "sspr breach": build, check and describe the offline
// breached-password corpus.
func breachCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "breach",
		Short: "Build and query the offline breached-password corpus",
		Long: `The breached-password corpus answers "has this password appeared in a
known breach?" without network access. Build it from the Have I Been Pwned
Pwned Passwords files (full "HASH:COUNT" files or the downloader's range
files), then point the server at the corpus directory.`,
	}
	cmd.AddCommand(breachBuildCmd(), breachCheckCmd(), breachStatsCmd())
	return cmd
}

func breachBuildCmd() *cobra.Command {
	var (
		out, kind, tempDir, source string
		shards                     int
		minCount, malformedLimit   int64
		quiet                      bool
	)
	cmd := &cobra.Command{
		Use:   "build --out DIR [--kind sha1|ntlm] [--shards N] INPUT...",
		Short: "Build a corpus from Pwned Passwords files or directories",
		Long: `Build a corpus from Pwned Passwords files: files of "HASH:COUNT" lines, or
directories of them, including the range layout written by the official
downloader (files named by a 5-hex prefix holding "SUFFIX:COUNT" lines).
The corpus replaces DIR atomically: a running server keeps the old one
until it reloads.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := breach.ParseKind(kind)
			if err != nil {
				return err
			}
			opts := breach.BuildOptions{
				Inputs:         args,
				Kind:           k,
				Out:            out,
				Shards:         shards,
				TempDir:        tempDir,
				MinCount:       minCount,
				MalformedLimit: malformedLimit,
				Source:         source,
			}
			var bar *breachProgressBar
			if !quiet {
				bar = newBreachProgressBar(cmd.ErrOrStderr())
				opts.Progress = bar.update
			}
			res, err := breach.Build(cmd.Context(), opts)
			if bar != nil {
				bar.finish()
			}
			w := cmd.OutOrStdout()
			if res != nil && len(res.Malformed) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d malformed %s; the first:\n", res.MalformedLines, plural(int(res.MalformedLines), "line", "lines"))
				for _, m := range res.Malformed {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %s\n", m)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "built %s: %d keys (%d duplicates dropped) in %d %s, %s, %.2f bits per key, in %s\n",
				res.Dir, res.Keys, res.Duplicates, res.Shards, plural(res.Shards, "shard", "shards"),
				breachBytes(res.Bytes), breachBitsPerKey(res.Bytes, res.Keys), res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "corpus directory to create or replace (required)")
	f.StringVar(&kind, "kind", "sha1", "hash of the inputs: sha1 or ntlm")
	f.IntVar(&shards, "shards", 0, "number of shards, a power of two (0 chooses by size)")
	f.StringVar(&tempDir, "temp-dir", "", "directory for partition files, 8 bytes per input hash (default: beside --out)")
	f.Int64Var(&minCount, "min-count", 0, "leave out hashes seen fewer times than this")
	f.Int64Var(&malformedLimit, "max-malformed", breach.DefaultMalformedLimit, "fail when more input lines than this are malformed (negative: never)")
	f.StringVar(&source, "source", "", "description of the inputs for the manifest (default: the input paths)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func breachBitsPerKey(bytes int64, keys uint64) float64 {
	if keys == 0 {
		return 0
	}
	return float64(bytes) * 8 / float64(keys)
}

func breachCheckCmd() *cobra.Command {
	var corpus, sha1Hex, ntlmHex string
	cmd := &cobra.Command{
		Use:   "check --corpus DIR [--sha1 HEX | --ntlm HEX]",
		Short: "Check passwords (one per line on stdin) or a hash against a corpus",
		Long: `Check passwords read from standard input, one per line, and print "found"
or "not found" for each, in order. Passwords are never echoed. With --sha1
or --ntlm, check that one hash instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := breach.Open(corpus)
			if err != nil {
				return err
			}
			defer c.Close()
			// One write per answer made the command syscall-bound; answers
			// are buffered, and flushed before every read of stdin (a
			// person typing sees each answer before typing the next line;
			// a pipe is read in large chunks, so that costs nothing) and at
			// the end.
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			defer w.Flush()
			answer := func(found bool) {
				if found {
					w.WriteString("found\n")
				} else {
					w.WriteString("not found\n")
				}
			}
			if sha1Hex != "" || ntlmHex != "" {
				kind, h := breach.SHA1, sha1Hex
				if ntlmHex != "" {
					kind, h = breach.NTLM, ntlmHex
				}
				if sha1Hex != "" && ntlmHex != "" {
					return errors.New("give --sha1 or --ntlm, not both")
				}
				if kind != c.Kind() {
					return fmt.Errorf("the corpus holds %s hashes, not %s", c.Kind(), kind)
				}
				b, err := hex.DecodeString(strings.TrimSpace(h))
				if err != nil || len(b) != kind.Size() {
					return fmt.Errorf("--%s wants %d hex digits", kind, 2*kind.Size())
				}
				var d [20]byte
				copy(d[:], b)
				answer(c.ContainsHash(d))
				return w.Flush()
			}
			sc := bufio.NewScanner(flushBeforeRead{r: cmd.InOrStdin(), w: w})
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				answer(c.Contains(strings.TrimSuffix(sc.Text(), "\r")))
			}
			if err := sc.Err(); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&corpus, "corpus", "", "corpus directory (required)")
	f.StringVar(&sha1Hex, "sha1", "", "check this SHA-1 hash (40 hex digits) instead of reading stdin")
	f.StringVar(&ntlmHex, "ntlm", "", "check this NTLM hash (32 hex digits) instead of reading stdin")
	_ = cmd.MarkFlagRequired("corpus")
	return cmd
}

// flushBeforeRead flushes w each time more input is needed: the reader may
// block there (a person at a terminal, a program waiting for the answer
// before it sends the next line), so everything answered so far goes out
// first.
type flushBeforeRead struct {
	r io.Reader
	w *bufio.Writer
}

func (f flushBeforeRead) Read(p []byte) (int, error) {
	if err := f.w.Flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

func breachStatsCmd() *cobra.Command {
	var corpus string
	cmd := &cobra.Command{
		Use:   "stats --corpus DIR",
		Short: "Verify a corpus and describe it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := breach.Open(corpus)
			if err != nil {
				return err
			}
			defer c.Close()
			s := c.Stats()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "corpus:          %s\n", s.Dir)
			fmt.Fprintf(w, "format:          version %d, %s, 16-bit binary fuse filters\n", s.FormatVersion, s.Kind)
			fmt.Fprintf(w, "keys:            %d\n", s.Keys)
			fmt.Fprintf(w, "shards:          %d\n", s.Shards)
			fmt.Fprintf(w, "size:            %s\n", breachBytes(s.FilterBytes))
			fmt.Fprintf(w, "bits per key:    %.2f\n", s.BitsPerKey)
			fmt.Fprintf(w, "false positives: %.4f %% expected\n", s.FalsePositiveRate*100)
			fmt.Fprintf(w, "built:           %s (in %s)\n", s.BuiltAt.Format(time.RFC3339), s.BuildDuration.Round(time.Second))
			fmt.Fprintf(w, "source:          %s\n", s.Source)
			fmt.Fprintf(w, "input lines:     %d (%d malformed, %d duplicate keys)\n", s.InputLines, s.MalformedLines, s.Duplicates)
			verified := "no"
			if s.ChecksumsVerified {
				verified = fmt.Sprintf("yes, all %d %s (%s, %s)", s.Shards, s.Checksum, plural(s.Shards, "shard", "shards"), s.VerifyDuration.Round(time.Millisecond))
			}
			fmt.Fprintf(w, "checksums:       %s\n", verified)
			return nil
		},
	}
	cmd.Flags().StringVar(&corpus, "corpus", "", "corpus directory (required)")
	_ = cmd.MarkFlagRequired("corpus")
	return cmd
}

func breachBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// breachProgressBar draws build progress on stderr: redrawn in place on a
// terminal, a plain line every few seconds otherwise (logs, CI).
type breachProgressBar struct {
	w        io.Writer
	tty      bool
	every    time.Duration
	now      func() time.Time
	stage    string
	start    time.Time // of the stage
	last     time.Time
	drawn    bool
	lastLine string
}

func newBreachProgressBar(w io.Writer) *breachProgressBar {
	b := &breachProgressBar{w: w, every: 5 * time.Second, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.every = true, 200*time.Millisecond
		}
	}
	return b
}

func (b *breachProgressBar) update(p breach.BuildProgress) {
	now := b.now()
	if p.Stage != b.stage {
		if b.drawn && b.tty {
			fmt.Fprintln(b.w)
		}
		b.stage, b.start, b.last, b.drawn = p.Stage, now, time.Time{}, false
	}
	if now.Sub(b.last) < b.every && p.Done < p.Total {
		return
	}
	b.last = now
	line := b.render(p, now.Sub(b.start))
	if line == b.lastLine {
		return
	}
	b.lastLine = line
	if b.tty {
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
	} else {
		fmt.Fprintln(b.w, line)
	}
	b.drawn = true
}

func (b *breachProgressBar) render(p breach.BuildProgress, elapsed time.Duration) string {
	frac := 0.0
	if p.Total > 0 {
		frac = min(1, float64(p.Done)/float64(p.Total))
	}
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	rate := ""
	secs := elapsed.Seconds()
	if secs > 0 {
		keys := float64(p.Keys)
		if p.Stage == breach.StageFilter {
			keys = float64(p.Done)
		}
		rate = fmt.Sprintf("  %s keys/s", breachCount(keys/secs))
	}
	eta := ""
	if frac > 0 && frac < 1 && secs > 0 {
		left := time.Duration(secs * (1 - frac) / frac * float64(time.Second))
		eta = "  ETA " + breachDuration(left)
	}
	return fmt.Sprintf("%-9s [%s] %5.1f%%  %s keys%s%s", p.Stage, bar, frac*100, breachCount(float64(p.Keys)), rate, eta)
}

func (b *breachProgressBar) finish() {
	if b.drawn && b.tty {
		fmt.Fprintln(b.w)
	}
}

func breachCount(n float64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fG", n/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

func breachDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
