// Package password is sspr's password rules engine: one checker that decides
// whether a new password is acceptable, used in the reset and change flows
// before anything is sent to the directory, behind the JSON check endpoint,
// and by the portal as a live checklist while the person types.
//
// A Policy is plain configuration data (JSON/YAML-describable). It starts from
// a preset (Preset: "nist-800-63b-4", "pci-dss-4", "ad-complexity",
// "custom"), is overridden field by field from the configuration file (decode
// the YAML onto the preset's Policy), and can be tightened with the
// directory's own effective policy (MergeDirectory) so the person sees a
// single list of rules: the stricter of each wins.
//
// NewChecker validates and compiles a Policy once (regular expressions,
// banned words, sequence tables) together with its runtime dependencies (the
// breached-password corpus, through the small BreachChecker interface). The
// Checker is safe for concurrent use.
//
// Every rule reports a Check: a stable rule ID, a stable message ID for the
// i18n catalogue (see Messages), placeholder arguments, and whether it passed.
// Checker.Describe lists the same checks before anything is typed, so a face
// can draw the checklist first and tick items off as Check results arrive,
// matching them by ID.
//
// Some checks are Hidden: blocklist-style rules (banned words, common
// passwords, sequences, repeats, palindromes, breaches, control characters)
// that would clutter an up-front checklist. Faces show them only when they
// fail; their arguments never reveal which banned word matched.
//
// Password history is the directory's job, not a rule here: a policy's
// HistoryLength only adds an informational item to Describe.
//
// Cost (2 shared cores, under load): every rule but zxcvbn ≈ 15 µs for a
// 16-rune password with 100 banned words; zxcvbn ≈ 0.3 ms at 16 runes,
// ≈ 2 ms at 32 and ≈ 7 ms at 64, so it only ever sees the first
// StrengthMaxRunes (64) runes. Input beyond 4 KiB is not looked at (it fails
// the maximum length anyway).
package password
