package hostagent

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

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
	defer os.Remove(path)
	return relay(ctx, l, "docker.sock", dial, dockerUnreachable, logf)
}

// ServeTLS accepts TLS connections on l with cfg (tender's server
// certificate; a client certificate from tender's CA required) and joins
// each one to a connection that dial opens, until ctx ends. For a machine
// whose Docker is a server's unix socket (the ssh driver), this is the
// 127.0.0.1 port that DOCKER_HOST names: the server's socket is never
// offered to its network, only here, to a holder of the client key.
func ServeTLS(ctx context.Context, l net.Listener, cfg *tls.Config, dial func(context.Context) (net.Conn, error), logf func(string, ...any)) error {
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		return errors.New("ServeTLS: the TLS config must require and verify client certificates")
	}
	return relay(ctx, tls.NewListener(l, cfg), "docker TLS port", dial, dockerUnreachable, logf)
}

// relay joins every connection l accepts to one that dial opens, until ctx
// ends (then l is closed and relay returns once every pair is done). When
// dial fails, refused (if not nil) tells the client why before it is
// closed.
func relay(ctx context.Context, l net.Listener, what string, dial func(context.Context) (net.Conn, error), refused func(net.Conn, error), logf func(string, ...any)) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
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
			if tc, ok := c.(*tls.Conn); ok {
				// No certificate, no dial: a peer without tender's
				// client key never reaches the server.
				hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				err := tc.HandshakeContext(hctx)
				cancel()
				if err != nil {
					logf("%s: refused %s: %v", what, c.RemoteAddr(), err)
					return
				}
			}
			up, err := dial(ctx)
			if err != nil {
				logf("%s: reaching Docker: %v", what, err)
				if refused != nil {
					refused(c, err)
				}
				return
			}
			defer up.Close()
			join(c, up)
		}()
	}
}

// dockerUnreachable answers the HTTP request a Docker client sent when
// the machine's Docker cannot be reached, with an error in the Docker API's
// form, so that the docker CLI prints one line saying why ("Error response
// from daemon: tender: …") instead of a bare EOF.
func dockerUnreachable(c net.Conn, err error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req, rerr := http.ReadRequest(bufio.NewReader(c))
	if rerr != nil {
		return
	}
	req.Body.Close()
	body, _ := json.Marshal(map[string]string{"message": "tender: the machine's Docker cannot be reached: " + err.Error()})
	fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
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
