//go:build unix

package provision

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// netListen listens on a free loopback port.
func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// proxyAfter starts, after delay, to listen on addr and forward each
// connection to target, as QEMU's hostfwd does once the guest is up. It stops
// when the test ends.
func proxyAfter(t *testing.T, delay time.Duration, addr, target string) {
	var (
		mu     sync.Mutex
		closed bool
		open   []io.Closer
		wg     sync.WaitGroup
	)
	track := func(c io.Closer) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			c.Close()
			return false
		}
		open = append(open, c)
		return true
	}
	stop := make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		mu.Lock()
		closed = true
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-stop:
			return
		case <-time.After(delay):
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		if !track(ln) {
			return
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			if !track(c) || !track(u) {
				c.Close()
				u.Close()
				return
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
}
