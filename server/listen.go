package server

import (
	"fmt"
	"net"
	"strconv"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// freeAddr checks that addr can be listened on and returns it with the
// port the kernel picks when addr's port is 0.
//
// The event loops listen with SO_REUSEPORT, one listener each, so that
// every loop accepts its own connections and decides on them (OnOpen) in
// the same step: with a separate acceptor, a flood of connections would be
// accepted faster than the loops refuse them, each holding a socket while
// it waits. SO_REUSEPORT alone would let a second server bind the same port
// and share its traffic, and would give each loop's listener its own port
// 0; a plain listener first (without SO_REUSEPORT, which fails while any
// server listens there) keeps "address in use" an error and fixes the port.
func freeAddr(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	bound := ln.Addr().(*net.TCPAddr)
	if err := ln.Close(); err != nil {
		return "", err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(bound.Port)), nil
}

// boundAddr asks the kernel which address the listener got (port 0 picks
// a free port).
func boundAddr(eng gnet.Engine) (string, error) {
	fd, err := eng.Dup()
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return "", err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port)), nil
	}
	return "", fmt.Errorf("unexpected listener address %T", sa)
}
