package main

import "golang.org/x/sys/unix"

// noEcho turns the terminal's echo off for a secret answer; ok is false when
// fd is not a terminal (pipes in tests), and nothing changes.
func noEcho(fd int) (restore func(), ok bool) {
	if fd < 0 {
		return nil, false
	}
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, false
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, false
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, true
}
