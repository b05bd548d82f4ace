package web

import (
	"context"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/password"
)

// The flows the faces drive, declared once for the portal and the JSON API
// (consumer-side interfaces: each lists what the faces call, nothing more).

// ResetFlow is the reset and unlock flow.
type ResetFlow interface {
	Start(ctx context.Context, in flow.StartInput) (string, flow.Status, error)
	Status(ctx context.Context, token string) (flow.Status, error)
	Resend(ctx context.Context, token, clientIP string) (flow.Status, error)
	VerifyCode(ctx context.Context, token, code, clientIP string) (flow.Status, error)
	SetPassword(ctx context.Context, token, password, confirm, clientIP string) (flow.Status, error)
	Unlock(ctx context.Context, token, clientIP string) (flow.Status, error)
	Choose(ctx context.Context, token string, kind factor.Kind, clientIP string) (flow.Status, error)
	Verify(ctx context.Context, token string, resp factor.Response, clientIP string) (flow.Status, error)
	CheckPassword(ctx context.Context, token, pw string) (password.Result, error)
	PoWChallenge() (*flow.PoWChallenge, error)
	PasswordRules(ctx context.Context, token string) ([]password.Check, error)
	// CheckPasswordFor runs the rules that hold for everyone (no flow):
	// the change page's checklist and the API's anonymous check.
	CheckPasswordFor(ctx context.Context, login, pw string) (password.Result, error)
}

// ChangeFlow is the change-password flow.
type ChangeFlow interface {
	Change(ctx context.Context, in flow.ChangeInput) error
	// ChangeTracked also returns a token for the sync targets' outcomes
	// (read with ResetFlow.Status), "" when there are none.
	ChangeTracked(ctx context.Context, in flow.ChangeInput) (string, error)
}

// EnrollFlow is the enrollment flow.
type EnrollFlow interface {
	SignIn(ctx context.Context, login, password, clientIP, lang string) (string, flow.SessionView, error)
	View(ctx context.Context, token string) (flow.SessionView, error)
	StartVerify(ctx context.Context, token, enrollmentID string) (flow.SessionView, error)
	FinishVerify(ctx context.Context, token string, resp factor.Response) (flow.SessionView, error)
	Begin(ctx context.Context, token string, kind factor.Kind, input factor.Response) (flow.SessionView, error)
	Finish(ctx context.Context, token string, resp factor.Response, name string) (flow.SessionView, error)
	Cancel(ctx context.Context, token string) (flow.SessionView, error)
	Remove(ctx context.Context, token, enrollmentID string) (flow.SessionView, error)
	SignOut(ctx context.Context, token string) error
}
