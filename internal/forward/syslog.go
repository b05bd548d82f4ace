package forward

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnterpriseID is the private enterprise number in the structured data's
// SD-ID (sspr@32473). 32473 is the number RFC 5612 sets aside for
// documentation and examples; sspr has none of its own.
const EnterpriseID = "32473"

// Facilities a Syslog sink may use (RFC 5424, 6.2.1).
var Facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Syslog sends events to a collector as RFC 5424 messages over TLS with
// octet-counted framing (RFC 5425). The connection is kept between rounds
// and made again after an error.
type Syslog struct {
	ID       string // names the sink's cursor ("syslog:"+ID)
	Address  string // host:port (6514 is the registered port)
	TLS      *tls.Config
	Facility int    // default 10, authpriv
	Hostname string // default: os.Hostname
	AppName  string // default "sspr"
	Timeout  time.Duration

	mu   sync.Mutex
	conn net.Conn
	w    *bufio.Writer
}

// Name implements Sink.
func (s *Syslog) Name() string { return "syslog:" + s.ID }

// Deliver implements Sink. A batch is written and flushed in one go; TLS
// gives no receipt, so a connection that breaks mid-batch counts nothing
// delivered and the batch is sent again (the collector may see repeats,
// never gaps).
func (s *Syslog) Deliver(ctx context.Context, events []Event) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.connect(ctx); err != nil {
		return 0, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(timeout))
	for _, e := range events {
		msg := s.Format(e)
		if _, err := s.w.WriteString(strconv.Itoa(len(msg)) + " " + msg); err != nil {
			s.drop()
			return 0, fmt.Errorf("syslog %s: %w", s.Address, err)
		}
	}
	if err := s.w.Flush(); err != nil {
		s.drop()
		return 0, fmt.Errorf("syslog %s: %w", s.Address, err)
	}
	return len(events), nil
}

func (s *Syslog) connect(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.TLS}
	c, err := d.DialContext(ctx, "tcp", s.Address)
	if err != nil {
		return fmt.Errorf("syslog %s: %w", s.Address, err)
	}
	s.conn, s.w = c, bufio.NewWriter(c)
	return nil
}

func (s *Syslog) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn, s.w = nil, nil
}

// Close ends the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
	return nil
}

// severity maps an audit outcome to a syslog severity: refusals and
// failures are notices and warnings, the rest informational.
func severity(outcome string) int {
	switch outcome {
	case "failure":
		return 4 // warning
	case "denied":
		return 5 // notice
	}
	return 6 // informational
}

// Format renders e as an RFC 5424 message (without its framing):
//
//	<PRI>1 TIMESTAMP HOST APP - MSGID [sspr@32473 ...] BOM{json}
func (s *Syslog) Format(e Event) string {
	fac := s.Facility
	if fac == 0 {
		fac = 10
	}
	host := s.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	app := s.AppName
	if app == "" {
		app = "sspr"
	}
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(fac*8+severity(e.Outcome)) + ">1 ")
	b.WriteString(e.At.UTC().Format("2006-01-02T15:04:05.000Z") + " ")
	b.WriteString(headerField(host, 255) + " " + headerField(app, 48) + " - " + headerField(e.Event, 32) + " ")
	b.WriteString("[sspr@" + EnterpriseID)
	param := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=\"" + sdEscape(v) + "\"")
		}
	}
	param("id", strconv.FormatInt(e.ID, 10))
	param("outcome", e.Outcome)
	param("reason", e.Reason)
	param("actor", e.Actor)
	param("subject", e.Subject)
	param("directory", e.Directory)
	param("client_ip", e.ClientIP)
	param("flow", e.Flow)
	param("hash", e.Hash)
	b.WriteString("] \ufeff")
	j, _ := json.Marshal(e)
	b.Write(j)
	return b.String()
}

// headerField makes v a valid header field: printable US-ASCII without
// spaces, at most n characters, "-" when empty.
func headerField(v string, n int) string {
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v) && len(out) < n; i++ {
		if c := v[i]; c > 32 && c < 127 {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "-"
	}
	return string(out)
}

// sdEscape escapes a PARAM-VALUE (RFC 5424, 6.3.3): '"', '\' and ']'.
func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(strings.ToValidUTF8(v, "\ufffd"))
}
