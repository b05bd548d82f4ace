// Package attributes is the directory-attribute factor: the person proves
// who they are by typing values the directory already holds about them
// (employee number, date of birth, postcode, last digits of a national ID),
// so nothing needs enrolling.
//
// The administrator lists the attributes to ask (Config.Attributes), each
// with a label per language and a normaliser that decides when a typed
// answer equals the stored value:
//
//   - "exact": Unicode NFKC, surrounding white space trimmed, inner runs of
//     white space collapsed; case matters.
//   - "text": like exact, but case-insensitive (Unicode case folding).
//   - "digits": only the digits count ("+41 79-123 45 67" = "41791234567").
//   - "date": a calendar date. ISO "1990-01-31" always works; "31.01.1990",
//     "31/01/1990" or "01/31/1990" are read in the configured order
//     (DateOrder "DMY", the default, or "MDY"); the directory value may also
//     be an LDAP GeneralizedTime ("19900131000000Z") or "19900131".
//
// Challenge asks every configured attribute the person has a value for, in
// the configured order (up to Config.Ask of them, when set): the set asked
// is the same on every challenge, so asking again never offers easier
// questions. With fewer than Config.Required available it returns
// factor.ErrNotAvailable. Verify reads the values from the Subject it is
// given (freshly looked up by the caller), never from the challenge state,
// and compares SHA-256 digests of the normalised forms in constant time
// against every value of a multi-valued attribute; all asked attributes must
// match.
//
// Directory attributes are often known to colleagues, HR systems and data
// brokers: this is a weak factor, to combine with a stronger one.
package attributes
