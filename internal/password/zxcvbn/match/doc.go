// Package match is the shape of one pattern zxcvbn found in a password.
package match
