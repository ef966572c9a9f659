package hostagent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/provision"
)

// For a machine whose Docker is an existing server's (the ssh driver) there
// is no guest agent to watch the ports: the host agent asks the server's
// Docker which ports its containers publish, and turns the answers into
// the stream a guest agent's watch-ports sends, so Agent follows both alike.

// PublishedPorts reads Docker's GET /containers/json and returns the host
// ports its containers publish on every address of the server or on its
// loopback; a port bound to one other address of the server (-p
// 192.0.2.7:80:80) is not the server's loopback's, and is left alone.
func PublishedPorts(body []byte) (api.PortSet, error) {
	var list []struct {
		Ports []struct {
			IP         string `json:"IP"`
			PublicPort int    `json:"PublicPort"`
			Type       string `json:"Type"`
		} `json:"Ports"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("the server's container list: %w", err)
	}
	set := api.PortSet{}
	for _, c := range list {
		for _, p := range c.Ports {
			if p.PublicPort <= 0 || p.PublicPort > 65535 || (p.Type != "tcp" && p.Type != "udp") {
				continue
			}
			switch p.IP {
			case "", "0.0.0.0", "::", "127.0.0.1", "::1":
				set[api.Port{Proto: p.Type, Port: p.PublicPort}] = true
			}
		}
	}
	return set, nil
}

// WatchDockerPorts polls the Docker API that dial reaches every interval
// and writes, as watch-ports does, the full set of published ports first,
// then what changed, and an empty event as keepalive when nothing did. The
// stream ends with the error of a failed poll, or when ctx ends.
func WatchDockerPorts(ctx context.Context, dial func(context.Context) (net.Conn, error), interval time.Duration) io.Reader {
	pr, pw := io.Pipe()
	client := provision.DialHTTP(dial)
	// A Write blocked on a reader that went away returns when ctx ends.
	context.AfterFunc(ctx, func() { pw.CloseWithError(ctx.Err()) })
	go func() {
		defer client.CloseIdleConnections()
		var last api.PortSet
		for {
			cur, err := listPorts(ctx, client)
			if err == nil {
				ev := api.PortEvent{Added: cur.Sorted()}
				if last != nil {
					ev = api.DiffPorts(last, cur)
				}
				last = cur
				err = api.EncodePortEvent(pw, ev)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			select {
			case <-ctx.Done():
				pw.CloseWithError(ctx.Err())
				return
			case <-time.After(interval):
			}
		}
	}()
	return pr
}

func listPorts(ctx context.Context, client *http.Client) (api.PortSet, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/containers/json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the server's Docker for its containers: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server's Docker answered %s to GET /containers/json", resp.Status)
	}
	return PublishedPorts(body)
}
