package ldapdir

import (
	"context"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// probeAfter is how long a pooled connection may sit idle before checkout
// proves it alive with a RootDSE read; a connection the server closed is
// noticed by go-ldap itself (IsClosing) and never handed out.
const probeAfter = 5 * time.Second

// pool is a bounded pool of connections bound as the service account. At
// most size connections exist at once (idle or checked out); a caller past
// that waits for one to come back or for its context to end. Connections
// bound as end users never enter it.
//
// The pool keeps its own *Conn for each connection and never hands that out:
// every checkout gets a fresh handle (a *Conn sharing the LDAP connection)
// whose Close returns the connection once. A holder that closes its handle
// twice, or late, therefore cannot return a connection somebody else has
// checked out since, nor free a second slot.
type pool struct {
	c           *Client
	slots       chan struct{} // one token per connection that exists
	idleTimeout time.Duration

	mu     sync.Mutex
	idle   []*Conn // the pool's own *Conns, most recently used last
	timer  *time.Timer
	closed bool
}

func newPool(c *Client, size int, idleTimeout time.Duration) *pool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	return &pool{c: c, slots: make(chan struct{}, size), idleTimeout: idleTimeout}
}

// get checks a connection out: an idle one that is still healthy, or a new
// one. The connection is closed if ctx ends while it is checked out.
func (p *pool) get(ctx context.Context) (*Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &directory.Error{Kind: directory.KindUnavailable, Op: "connect", Err: ctx.Err(),
			Diagnostic: "waited for a free service connection until: " + ctx.Err().Error()}
	}
	for {
		conn := p.popIdle()
		if conn == nil {
			break
		}
		if p.healthy(conn) {
			return p.checkout(ctx, conn), nil
		}
		_ = conn.Conn.Close()
	}
	conn, err := p.c.bindService(ctx)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return p.checkout(ctx, conn), nil
}

// checkout returns a new handle on base, watched by ctx: the connection is
// closed if ctx ends while the handle is out.
func (p *pool) checkout(ctx context.Context, base *Conn) *Conn {
	lc := base.Conn
	return &Conn{
		Conn:         lc,
		URL:          base.URL,
		confidential: base.confidential,
		pool:         p,
		base:         base,
		stop:         context.AfterFunc(ctx, func() { _ = lc.Close() }),
	}
}

func (p *pool) popIdle() *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.c.now()
	for len(p.idle) > 0 {
		n := len(p.idle) - 1
		conn := p.idle[n]
		p.idle = p.idle[:n]
		if now.Sub(conn.idleSince) >= p.idleTimeout {
			_ = conn.Conn.Close()
			continue
		}
		return conn
	}
	return nil
}

// healthy is the check on checkout: the connection must not be closing and,
// after a while idle, must answer a RootDSE read.
func (p *pool) healthy(conn *Conn) bool {
	if conn.IsClosing() {
		return false
	}
	if p.c.now().Sub(conn.idleSince) < probeAfter {
		return true
	}
	_, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, int(p.c.cfg.Timeout/time.Second), false, "(objectClass=*)", []string{"1.1"}, nil))
	return err == nil
}

// put takes the connection of handle h back; one that was cut (its context
// ended while checked out, the server went away) is closed instead. Conn.Close
// calls it at most once per handle.
func (p *pool) put(h *Conn) {
	defer func() { <-p.slots }()
	intact := h.stop == nil || h.stop()
	conn := h.base
	p.mu.Lock()
	defer p.mu.Unlock()
	if !intact || p.closed || conn.IsClosing() {
		_ = conn.Conn.Close()
		return
	}
	conn.idleSince = p.c.now()
	p.idle = append(p.idle, conn)
	if p.timer == nil {
		p.timer = time.AfterFunc(p.idleTimeout, p.prune)
	}
}

// prune closes connections idle longer than the idle timeout and re-arms
// itself while any stay idle.
func (p *pool) prune() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	if p.closed {
		return
	}
	now := p.c.now()
	keep := p.idle[:0]
	var next time.Duration
	for _, conn := range p.idle {
		age := now.Sub(conn.idleSince)
		if age >= p.idleTimeout {
			_ = conn.Conn.Close()
			continue
		}
		if left := p.idleTimeout - age; next == 0 || left < next {
			next = left
		}
		keep = append(keep, conn)
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
	if len(p.idle) > 0 {
		p.timer = time.AfterFunc(next, p.prune)
	}
}

// idleCount is for tests.
func (p *pool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	for _, conn := range p.idle {
		_ = conn.Conn.Close()
	}
	p.idle = nil
}
