package radius

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"time"
)

// client sends Access-Requests to RADIUS servers, in order: the next
// server is asked only when one does not answer.
type client struct {
	servers       []string
	secret        []byte
	timeout       time.Duration
	retries       int
	nasIdentifier string
}

// ErrNoAnswer: no server gave a valid answer in time.
var ErrNoAnswer = errors.New("radius: no server answered")

// request is what one Access-Request carries.
type request struct {
	user     string
	password string
	state    []byte
}

// exchange sends req to the servers until one answers with a reply that
// passes verifyResponse, and returns it. Replies that fail verification are
// dropped (someone else may be sending them) and named in the error if
// nothing valid follows.
func (c *client) exchange(ctx context.Context, req request) (*Packet, error) {
	var errs []error
	for _, addr := range c.servers {
		p, err := c.exchangeWith(ctx, addr, req)
		if err == nil {
			return p, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrNoAnswer, errors.Join(errs...))
}

func (c *client) exchangeWith(ctx context.Context, addr string, req request) (*Packet, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	p := &Packet{Code: AccessRequest}
	var id [1]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	p.Identifier = id[0]
	if _, err := rand.Read(p.Authenticator[:]); err != nil {
		return nil, err
	}
	hidden, err := hidePassword([]byte(req.password), c.secret, p.Authenticator)
	if err != nil {
		return nil, err
	}
	p.Attributes = append(p.Attributes, Attribute{AttrUserName, []byte(req.user)}, Attribute{AttrUserPassword, hidden})
	if c.nasIdentifier != "" {
		p.Attributes = append(p.Attributes, Attribute{AttrNASIdentifier, []byte(c.nasIdentifier)})
	}
	if len(req.state) > 0 {
		p.Attributes = append(p.Attributes, Attribute{AttrState, req.state})
	}
	raw, err := encodeRequest(p, c.secret)
	if err != nil {
		return nil, err
	}
	// A connected UDP socket only receives datagrams from addr.
	var refused error
	buf := make([]byte, maxPacketLen+1)
	for try := 0; try <= c.retries; try++ {
		if _, err := conn.Write(raw); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(c.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := conn.SetReadDeadline(deadline); err != nil {
			return nil, err
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // send again, or give up
				}
				return nil, err
			}
			reply, err := verifyResponse(buf[:n], p.Authenticator, c.secret)
			if err != nil {
				refused = err
				continue
			}
			if reply.Identifier != p.Identifier {
				refused = fmt.Errorf("radius: a reply for identifier %d, not %d", reply.Identifier, p.Identifier)
				continue
			}
			switch reply.Code {
			case AccessAccept, AccessReject, AccessChallenge:
				return reply, nil
			}
			refused = fmt.Errorf("radius: unexpected %s", reply.Code)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if refused != nil {
		return nil, fmt.Errorf("no valid reply in time; refused: %w", refused)
	}
	return nil, errors.New("no reply in time")
}
