package provision

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DockerSockets are where a server's Docker listens, in the order the ssh
// driver tries them: the system engine's socket, then rootless Docker's in
// the user's runtime directory (a shell word, expanded on the server).
var DockerSockets = []string{"/var/run/docker.sock", `"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/docker.sock"`}

// ProbeDocker finds the Docker socket on the other end of c that its user
// may use and that answers /_ping, and returns its path. Its error is one
// line saying what is missing and how to fix it: Docker not installed, not
// running, or its socket not the user's to use.
func ProbeDocker(ctx context.Context, c *Client, sockets []string) (string, error) {
	var script strings.Builder
	script.WriteString("for s in " + strings.Join(sockets, " ") + `; do if [ -S "$s" ]; then if [ -r "$s" ] && [ -w "$s" ]; then echo "usable $s"; else echo "denied $s"; fi; fi; done; `)
	script.WriteString(`command -v docker >/dev/null 2>&1 && echo cli; id -un | sed 's/^/user /'`)
	out, err := c.Output(ctx, script.String())
	if err != nil {
		return "", fmt.Errorf("looking for Docker on the server: %w", err)
	}
	var usable, denied []string
	var cli bool
	user := "your user"
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		switch kind {
		case "usable":
			usable = append(usable, rest)
		case "denied":
			denied = append(denied, rest)
		case "cli":
			cli = true
		case "user":
			user = rest
		}
	}
	var pingErr error
	for _, s := range usable {
		if pingErr = pingSocket(ctx, c, s); pingErr == nil {
			return s, nil
		}
	}
	switch {
	case pingErr != nil:
		return "", fmt.Errorf("the server's Docker does not answer on %s (%v): start it (sudo systemctl start docker)", usable[0], pingErr)
	case len(denied) > 0:
		return "", fmt.Errorf("%s on the server may not use %s: add it to the docker group (sudo usermod -aG docker %s) and try again", user, denied[0], user)
	case cli:
		return "", fmt.Errorf("the server has Docker installed but not running (no socket at %s): start it (sudo systemctl start docker)", strings.Join(sockets, " or "))
	}
	return "", fmt.Errorf("the server has no Docker: install it, or init with --install-docker")
}

// pingSocket sends GET /_ping to the Docker socket at path over c.
func pingSocket(ctx context.Context, c *Client, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client := DialHTTP(func(ctx context.Context) (net.Conn, error) { return c.DialRemote(ctx, "unix", path) })
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || string(body) != "OK" {
		return fmt.Errorf("/_ping answered %s %q", resp.Status, body)
	}
	return nil
}

// DialHTTP is an HTTP client whose every connection is one that dial opens
// (a Docker socket on a server, over SSH), whatever the URL's host.
func DialHTTP(dial func(context.Context) (net.Conn, error)) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
}
