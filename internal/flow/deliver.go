package flow

import (
	"fmt"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow/record"
	"github.com/sspr/sspr/internal/notify"
	"github.com/sspr/sspr/internal/store"
)

// The delivery channels of the voice and manager-approval factors (their
// packages' Channel constants, named here so the flow needs neither).
const (
	channelVoice    = "voice"
	channelApproval = "manager_approval"
)

// voiceComposer and approvalComposer are the parts of notify.Composer the
// two channels need; optional, so a Composer without them (a test's)
// refuses those channels instead of every flow needing them.
type voiceComposer interface {
	VoiceCode(lang, code string) notify.VoiceCall
}

type approvalComposer interface {
	ApprovalRequest(lang string, d notify.ApprovalMail) (notify.Mail, error)
}

// approvalLinker is the manager-approval factor's Links.
type approvalLinker interface {
	Links(token string) (approve, deny string)
}

// ApprovalRecipient is the outbox recipient of an approval request: the
// directory and the manager's DN, not an address. The outbox's sender
// reads the manager's address from the directory when it sends, so the
// address is read fresh and the outbox holds no more than the DN.
func ApprovalRecipient(dir, managerDN string) string { return dir + "\n" + managerDN }

// SplitApprovalRecipient undoes ApprovalRecipient.
func SplitApprovalRecipient(r string) (dir, managerDN string, ok bool) {
	return strings.Cut(r, "\n")
}

// composeOther composes a delivery over the voice or manager-approval
// channel into d; ok is false for other channels.
func (r *Reset) composeOther(f *record.Flow, kind factor.Kind, send *factor.Delivery, d *delivery, now time.Time) (ok bool, err error) {
	switch send.Channel {
	case channelVoice:
		vc, is := r.Composer.(voiceComposer)
		if !is {
			return true, fmt.Errorf("factor %s: the composer cannot compose calls", kind)
		}
		// A call's body travels like a text message's: one sealed text.
		d.sms, err = vc.VoiceCode(f.Language, send.Code).Encode()
		return true, err
	case channelApproval:
		ac, is := r.Composer.(approvalComposer)
		linker, has := r.Factors[kind].(approvalLinker)
		if !is || !has {
			return true, fmt.Errorf("factor %s: no approval mail can be composed", kind)
		}
		af, _ := r.Factors[kind].(approvalFactor)
		if af == nil || af.RequestOf(send.Code) == "" {
			return true, fmt.Errorf("factor %s: the approval token names no request", kind)
		}
		d.approval = &store.ApprovalRequest{ID: af.RequestOf(send.Code), Login: f.Login, Name: nameOf(f), Action: f.Kind,
			ClientIP: f.ClientIP, RequestedAt: now, ExpiresAt: f.ChallengeExpiresAt}
		approve, deny := linker.Links(send.Code)
		d.to = ApprovalRecipient(f.Directory, send.To)
		d.kind = "manager_approval_code" // "_code": somebody waits for it, the outbox sends it first
		d.mail, err = ac.ApprovalRequest(f.Language, notify.ApprovalMail{Name: nameOf(f), Login: f.Login, Action: f.Kind,
			RequestIP: f.ClientIP, RequestAt: now, ValidFor: f.ChallengeExpiresAt.Sub(now).Round(time.Minute),
			ApproveLink: approve, DenyLink: deny})
		return true, err
	}
	return false, nil
}

// enqueueOther enqueues a voice call or an approval mail; ok is false for
// other channels.
func (k *Kit) enqueueOther(tx *store.Tx, d delivery, now time.Time) (ok bool, err error) {
	var m *store.Message
	switch d.channel {
	case channelVoice:
		m, err = k.newSMS(d.kind, d.to, d.sms, now)
	case channelApproval:
		if d.approval != nil {
			if err := tx.SaveApprovalRequest(d.approval, now); err != nil {
				return true, err
			}
		}
		m, err = k.newMail(d.kind, d.to, d.mail, now)
	default:
		return false, nil
	}
	if err != nil {
		return true, err
	}
	m.Channel = d.channel
	return true, k.enqueue(tx, m)
}

// enqueueVoice enqueues the call that speaks an enrollment's code.
func (k *Kit) enqueueVoice(tx *store.Tx, kind, lang, to, code string, now time.Time) error {
	vc, ok := k.Composer.(voiceComposer)
	if !ok {
		return fmt.Errorf("the composer cannot compose calls")
	}
	body, err := vc.VoiceCode(lang, code).Encode()
	if err != nil {
		return err
	}
	_, err = k.enqueueOther(tx, delivery{kind: kind, channel: channelVoice, to: to, sms: body}, now)
	return err
}
