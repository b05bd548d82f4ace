package notify_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/mail"
	"github.com/sspr/sspr/internal/mailsink"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// relayDelay is how late the benchmark relay answers each SMTP command: a
// relay on another host, or a busy one.
const relayDelay = 5 * time.Millisecond

func benchSetup(b *testing.B) (*store.Store, *mailsink.Sink, *notify.Worker) {
	b.Helper()
	s, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "sspr.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	sink, err := mailsink.Start("", mailsink.Options{CommandDelay: relayDelay})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sink.Close() })
	w := benchWorker(s, smtpSenderB(b, sink.Addr()))
	w.Prepare()
	return s, sink, w
}

func benchEnqueue(b *testing.B, s *store.Store, n, from int) {
	b.Helper()
	if err := enqueueBench(s, n, from); err != nil {
		b.Fatal(err)
	}
}

func enqueueBench(s *store.Store, n, from int) error {
	return s.InTx(context.Background(), func(tx *store.Tx) error {
		for i := from; i < from+n; i++ {
			m := &store.Message{CreatedAt: time.Now(), Kind: "reset.code", Recipient: fmt.Sprintf("user%d@example.com", i), Subject: "Your code",
				TextBody: "Your code is 12345678.\n", MessageID: fmt.Sprintf("<bench-%d@example.com>", i), NextAttemptAt: time.Now()}
			if err := tx.EnqueueMessage(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkThroughput5msRelay: a backlog of b.N messages drained through a
// relay answering each command 5 ms late; reports messages per second.
func BenchmarkThroughput5msRelay(b *testing.B) {
	s, sink, w := benchSetup(b)
	benchEnqueue(b, s, b.N, 0)
	ctx, cancel := context.WithCancel(context.Background())
	b.ResetTimer()
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	waitCount(b, sink, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	cancel()
	<-done
}

// BenchmarkCodeMailLatency5msRelay: one code mail at a time, enqueued and
// kicked as a flow step does; ns/op is the time until the relay has it.
func BenchmarkCodeMailLatency5msRelay(b *testing.B) {
	s, sink, w := benchSetup(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchEnqueue(b, s, 1, i)
		w.Kick()
		want := fmt.Sprintf("bench-%d@example.com", i)
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		if _, err := sink.WaitFor(wctx, func(m mailsink.Message) bool { return m.MessageID == want }); err != nil {
			b.Fatal(err)
		}
		wcancel()
	}
	b.StopTimer()
	cancel()
	<-done
}

// waitCount waits until the sink has received n messages.
func waitCount(tb testing.TB, sink *mailsink.Sink, n int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	seen := 0
	if _, err := sink.WaitFor(ctx, func(mailsink.Message) bool { seen++; return seen >= n }); err != nil {
		tb.Fatalf("%d of %d messages arrived: %v", seen, n, err)
	}
}

func smtpSenderB(b *testing.B, addr string) *mail.SMTPSender {
	b.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s, err := mail.NewSMTPSender(mail.Config{Host: host, Port: p, Security: mail.None, From: "Password reset <noreply@example.com>", Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchWorker(s *store.Store, snd notify.Sender) *notify.Worker {
	return &notify.Worker{
		Store: s, Sender: snd, Log: quiet, PollInterval: time.Second,
		MaxAttempts: 5, InitialBackoff: time.Second, MaxBackoff: 8 * time.Second, Lease: time.Minute,
		Workers: 4, SentRetention: time.Hour,
	}
}

// BenchmarkCodeMailLatencyUnderLoad5msRelay: like the latency benchmark,
// while other flows enqueue 35 messages per second in the background (half
// the 74 flows/s of the load test that found the stall). Reports the median
// and the 90th percentile.
func BenchmarkCodeMailLatencyUnderLoad5msRelay(b *testing.B) {
	s, sink, w := benchSetup(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		t := time.NewTicker(time.Second / 35)
		defer t.Stop()
		for i := 1_000_000; ctx.Err() == nil; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := enqueueBench(s, 1, i); err != nil {
				b.Error(err)
				return
			}
			w.Kick()
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		benchEnqueue(b, s, 1, i)
		w.Kick()
		want := fmt.Sprintf("bench-%d@example.com", i)
		wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
		if _, err := sink.WaitFor(wctx, func(m mailsink.Message) bool { return m.MessageID == want }); err != nil {
			b.Fatal(err)
		}
		wcancel()
		lat = append(lat, time.Since(start))
		// One code mail every 50 ms or so, like people asking for codes.
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-bgDone
	<-done
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10])/1e6, "p90-ms")
}
