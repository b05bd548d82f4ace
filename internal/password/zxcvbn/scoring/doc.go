// Package scoring estimates the guesses each match needs and finds the
// sequence of matches that needs the fewest.
package scoring
