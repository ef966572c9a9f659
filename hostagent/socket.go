package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/tenderdev/tender/vm"
)

// ServeSocket listens on the unix socket at path (mode 0600; a stale file
// from a killed agent is replaced) and joins every connection to one that
// dial opens, until ctx ends; then it removes the socket. This is the
// machine's docker.sock, for tools that only speak to a socket
// (Testcontainers, SDKs): dial opens a TLS connection to the guest's Docker
// with the machine's client certificate, so the socket gives exactly what
// the certificate gives, to whoever may open the file: the user.
func ServeSocket(ctx context.Context, path string, dial func(context.Context) (net.Conn, error), logf func(string, ...any)) error {
	if len(path) > vm.MaxSocketPath {
		return fmt.Errorf("%s is longer than the %d bytes a unix socket path may have (set TENDER_HOME to a shorter directory)", path, vm.MaxSocketPath)
	}
	if err := removeStaleSocket(path); err != nil {
		return err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	// net.Listen honours the umask; the directory is 0700 anyway.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer os.Remove(path)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			up, err := dial(ctx)
			if err != nil {
				logf("docker.sock: reaching the guest's Docker: %v", err)
				return
			}
			defer up.Close()
			join(c, up)
		}()
	}
}

// removeStaleSocket removes a socket file nobody listens on. Anything else
// at path is left alone, with an error.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; not replacing it", path)
	}
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("%s is already served by another process", path)
	}
	return os.Remove(path)
}

// join copies both ways until both sides are done, passing a half-close on
// (docker's attach and copy end their input that way).
func join(a, b net.Conn) {
	done := make(chan struct{}, 2)
	half := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go half(a, b)
	go half(b, a)
	<-done
	<-done
}
