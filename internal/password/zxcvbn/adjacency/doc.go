// Package adjacency holds the keyboard layouts (qwerty, dvorak, keypads)
// zxcvbn's spatial matcher walks.
package adjacency
