package app

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/abuse"
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/attributes"
	"github.com/sspr/sspr/internal/factor/backupcodes"
	"github.com/sspr/sspr/internal/factor/email"
	"github.com/sspr/sspr/internal/factor/passkey"
	"github.com/sspr/sspr/internal/factor/questions"
	smsfactor "github.com/sspr/sspr/internal/factor/sms"
	"github.com/sspr/sspr/internal/factor/totp"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
)

// factors builds the configured factor implementations.
func factors(cfg *config.Config, now func() time.Time) (map[factor.Kind]factor.Factor, error) {
	key := cfg.HMACKeyBytes()
	out := map[factor.Kind]factor.Factor{}
	for _, k := range cfg.Verification.Factors {
		var (
			f   factor.Factor
			err error
		)
		switch factor.Kind(k) {
		case factor.Email:
			f, err = email.New(email.Config{Key: secrets.Derive(key, "factor:email"), CodeLength: cfg.Reset.CodeLength, TTL: cfg.Reset.CodeTTL, Now: now})
		default:
			f, err = moreFactors(cfg, factor.Kind(k), key, now)
		}
		if err != nil {
			return nil, fmt.Errorf("verification.factors: %s: %w", k, err)
		}
		if f != nil {
			out[factor.Kind(k)] = f
		}
	}
	return out, nil
}

var limitActions = map[flow.LimitAction]abuse.Action{
	flow.LimitIdentify: abuse.Identify, flow.LimitSend: abuse.SendCode, flow.LimitVerify: abuse.Verify, flow.LimitReset: abuse.Reset,
}

// moreFactors builds the factors beyond email.
func moreFactors(cfg *config.Config, k factor.Kind, key []byte, now func() time.Time) (factor.Factor, error) {
	v := cfg.Verification
	switch k {
	case factor.SMS:
		return smsfactor.New(smsfactor.Config{Key: secrets.Derive(key, "factor:sms"), CodeLength: cfg.Reset.CodeLength, TTL: cfg.Reset.CodeTTL,
			DefaultRegion: cfg.SMS.DefaultCountryCode, Now: now})
	case factor.TOTP:
		issuer := v.TOTP.Issuer
		if issuer == "" {
			issuer = cfg.Portal.Title
		}
		return totp.New(totp.Config{Issuer: issuer, Digits: v.TOTP.Digits, Period: v.TOTP.Period,
			Algorithm: totp.Algorithm(strings.ToUpper(v.TOTP.Algorithm)), Clock: now})
	case factor.BackupCodes:
		return backupcodes.New(backupcodes.Config{Count: v.BackupCodes.Count, Clock: now})
	case factor.Passkey:
		base, _ := url.Parse(cfg.Server.BaseURL)
		rpID, origins := v.Passkey.RPID, v.Passkey.Origins
		if rpID == "" {
			rpID = base.Hostname()
		}
		if len(origins) == 0 {
			origins = []string{base.Scheme + "://" + base.Host}
		}
		name := v.Passkey.RPName
		if name == "" {
			name = cfg.Portal.Title
		}
		return passkey.New(passkey.Config{RPID: rpID, RPDisplayName: name, RPOrigins: origins, UserVerification: v.Passkey.UserVerification,
			UserHandleKey: secrets.Derive(key, "factor:passkey:user-handle"), Now: now})
	case factor.Attributes:
		var attrs []attributes.Attribute
		for _, a := range v.Attributes {
			norm := a.Normalise
			if norm == "" {
				norm = "exact"
			}
			attrs = append(attrs, attributes.Attribute{Attribute: a.Attribute, Label: map[string]string{"en": a.Label}, Normaliser: norm})
		}
		return attributes.New(attributes.Config{Attributes: attrs, Clock: now})
	case factor.Questions:
		var qs []questions.Question
		for _, q := range v.Questions.Questions {
			qs = append(qs, questions.Question{ID: q.ID, Text: q.Text})
		}
		return questions.New(questions.Config{Questions: qs, AllowUserDefined: v.Questions.AllowCustom, Required: v.Questions.AnswersRequired,
			Ask: v.Questions.Asked, MinAnswerLength: v.Questions.MinAnswerLength, Clock: now})
	}
	if f, ok, err := enterpriseFactor(cfg, k, key, now); ok {
		return f, err
	}
	return nil, fmt.Errorf("unknown factor %q", k)
}
