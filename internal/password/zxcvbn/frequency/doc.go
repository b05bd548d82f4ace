// Package frequency holds zxcvbn 4.4.2's ranked word lists (common
// passwords, English words, names, surnames, TV and film words); lists.go
// is generated upstream from the raw lists.
package frequency
