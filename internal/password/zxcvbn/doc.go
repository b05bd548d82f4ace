// Package zxcvbn estimates password strength exactly as Dropbox's zxcvbn
// 4.4.2 does (score 0..4, guesses, the matched patterns). It is a copy of
// github.com/trustelem/zxcvbn v1.0.1 (MIT; see LICENSE and README.md),
// kept in the tree because that module is no longer maintained and the
// maintained Go ports follow an older algorithm that scores differently.
package zxcvbn
