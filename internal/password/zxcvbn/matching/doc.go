// Package matching finds every pattern in a password: dictionary words
// (plain, reversed, l33t), keyboard walks, repeats, sequences, regexes and
// dates.
package matching
