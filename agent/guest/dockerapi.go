//go:build linux

package guest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// The agent makes three calls to dockerd's API over its unix socket: ping,
// list containers, stop one. dockerCall speaks just enough HTTP/1.0 for
// them: one request per connection, no keep-alive, no chunked bodies (a
// server answering HTTP/1.0 ends the body by closing). net/http would have
// done it too, at 2 MB more agent binary read on every boot.

// maxDockerResponse bounds what one call reads: a container list of a
// few thousand entries.
const maxDockerResponse = 8 << 20

// dockerCall sends METHOD PATH to dockerd and returns the status code and
// the body.
func dockerCall(ctx context.Context, timeout time.Duration, method, path string) (int, []byte, error) {
	return httpOverUnix(ctx, DockerSocket, timeout, method, path)
}

// httpOverUnix sends METHOD PATH to the HTTP server on a unix socket.
func httpOverUnix(ctx context.Context, socket string, timeout time.Duration, method, path string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := fmt.Sprintf("%s %s HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n", method, path)
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	resp, err := io.ReadAll(io.LimitReader(conn, maxDockerResponse))
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	code, body, err := parseHTTPResponse(resp)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return code, body, nil
}

// parseHTTPResponse splits a whole HTTP/1.x response into its status code
// and body.
func parseHTTPResponse(resp []byte) (int, []byte, error) {
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok {
		return 0, nil, errors.New("truncated HTTP response")
	}
	status, _, _ := bytes.Cut(head, []byte("\r\n"))
	fields := bytes.Fields(status)
	if len(fields) < 2 || !bytes.HasPrefix(fields[0], []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("not an HTTP response: %q", status)
	}
	code, err := strconv.Atoi(string(fields[1]))
	if err != nil || code < 100 || code > 999 {
		return 0, nil, fmt.Errorf("bad HTTP status line %q", status)
	}
	return code, body, nil
}
