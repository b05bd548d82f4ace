package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/managerapproval"
	"github.com/sspr/sspr/internal/factor/voice"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/web/portal"
)

// voiceSender builds the caller of the voice factor as the outbox's
// sender of channel "voice"; nil when voice is not offered.
func voiceSender(cfg *config.Config) (notify.Sender, error) {
	if !slices.Contains(cfg.Verification.Factors, string(voice.Kind)) {
		return nil, nil
	}
	v := cfg.Verification.Voice
	c, err := voice.NewCaller(voice.CallerConfig{BaseURL: v.BaseURL, AccountSID: v.AccountSID, AuthToken: v.AuthToken.Value, From: v.From,
		Voice: v.Voice, Language: v.Language})
	if err != nil {
		return nil, err
	}
	return voiceOutbox{c}, nil
}

// voiceOutbox places the calls of outbox messages of the "voice" channel
// (notify.VoiceCall in the text body, the number as recipient).
type voiceOutbox struct{ c *voice.Caller }

func (o voiceOutbox) Send(ctx context.Context, m *store.Message) error {
	v, err := notify.DecodeVoiceCall(m.TextBody)
	if err != nil {
		return permanent{err}
	}
	_, err = o.c.CallIn(ctx, m.Recipient, v.Code, v.Say, v.Language)
	return err
}

// permanent is an outbox error retrying cannot help.
type permanent struct{ error }

func (permanent) Permanent() bool { return true }

// approvalOutbox delivers managers' approval requests: the recipient is
// the directory and the manager's DN (flow.ApprovalRecipient), read into
// the manager's current mail address only now, so the outbox never held
// it; then the mail goes out like any other.
type approvalOutbox struct {
	dirs *directory.Set
	mail notify.Sender
}

func (o approvalOutbox) Send(ctx context.Context, m *store.Message) error {
	dirName, dn, ok := flow.SplitApprovalRecipient(m.Recipient)
	if !ok {
		return permanent{errors.New("approval request without a directory and DN")}
	}
	dir, ok := o.dirs.Directory(dirName)
	if !ok {
		return permanent{fmt.Errorf("approval request for unknown directory %q", dirName)}
	}
	mr, ok := dir.(directory.MailReader)
	if !ok {
		return permanent{fmt.Errorf("directory %q cannot read a manager's mail address", dirName)}
	}
	addr, err := mr.MailOf(ctx, dn)
	if err != nil {
		var de *directory.Error
		if errors.As(err, &de) && de.Kind == directory.KindNotFound {
			return permanent{fmt.Errorf("the manager has no mail address: %w", err)}
		}
		return err
	}
	out := *m
	out.Recipient, out.Channel = addr, "email"
	return o.mail.Send(ctx, &out)
}

// storeUsed is the manager-approval factor's UsedSet in the store, so a
// link works once whichever node serves it.
type storeUsed struct {
	st  *store.Store
	now func() time.Time
}

func (u storeUsed) Use(ctx context.Context, id string, until time.Time) (bool, error) {
	var fresh bool
	err := u.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = tx.UseApprovalMark(id, until, u.now())
		return err
	})
	return fresh, err
}

func (u storeUsed) Spent(ctx context.Context, id string) (bool, error) {
	var spent bool
	err := u.st.ReadTx(ctx, func(tx *store.Tx) error {
		var err error
		spent, err = tx.ApprovalMarkUsed(id, u.now())
		return err
	})
	return spent, err
}

// approvalDesk adapts the manager-approval factor to the flow's
// ApprovalDecider.
type approvalDesk struct{ f *managerapproval.Factor }

func (d approvalDesk) Inspect(ctx context.Context, tok string) (flow.ApprovalTicket, error) {
	r, err := d.f.Inspect(ctx, tok)
	if errors.Is(err, managerapproval.ErrBadToken) {
		return flow.ApprovalTicket{}, &flow.Error{Code: flow.CodeFlowNotFound, Err: err}
	}
	return flow.ApprovalTicket{ID: r.ID, ManagerDN: r.ManagerDN}, err
}

func (d approvalDesk) Decide(ctx context.Context, tok, choice string) (string, string, error) {
	signed, dn, err := d.f.Decide(ctx, tok, choice)
	if errors.Is(err, managerapproval.ErrBadToken) {
		return "", "", &flow.Error{Code: flow.CodeFlowNotFound, Err: err}
	}
	return signed, dn, err
}

func (d approvalDesk) DecisionOf(signed string) (string, string, bool) { return d.f.DecisionOf(signed) }

// wireApproval gives the manager-approval factor (when offered) the
// store's UsedSet and returns the approval page's flow; nil otherwise.
func wireApproval(fs map[factor.Kind]factor.Factor, kit *flow.Kit, st *store.Store, now func() time.Time) *flow.Approvals {
	ma, ok := fs[managerapproval.Kind].(*managerapproval.Factor)
	if !ok {
		return nil
	}
	ma.WithUsed(storeUsed{st: st, now: now})
	return &flow.Approvals{Kit: kit, Factor: approvalDesk{ma}}
}

// approvalAttributes are read with every user when manager approval is
// offered: the attribute naming the manager.
func approvalAttributes(cfg *config.Config) []string {
	if !slices.Contains(cfg.Verification.Factors, string(managerapproval.Kind)) {
		return nil
	}
	a := cfg.Verification.ManagerApproval.ManagerAttribute
	if a == "" {
		a = managerapproval.DefaultManagerAttribute
	}
	return []string{a}
}

// approvalsFace is the portal's view of a; a nil interface (the page
// left out) when manager approval is not offered.
func approvalsFace(a *flow.Approvals) portal.Approvals {
	if a == nil {
		return nil
	}
	return a
}
