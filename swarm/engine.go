// Package swarm is the part of the Docker Engine API that makes and unmakes
// a Docker Swarm: a node's swarm state, init, join, leave and node removal.
// It speaks HTTP to one engine (tender's, over TLS with the machine's client
// certificate); deciding which machines join what is package machine's.
package swarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
)

// Engine is one Docker engine's API.
type Engine struct {
	HTTP *http.Client
	URL  string // "https://127.0.0.1:PORT"
}

// Node states of Info.LocalNodeState.
const (
	StateInactive = "inactive"
	StatePending  = "pending"
	StateActive   = "active"
	StateError    = "error"
	StateLocked   = "locked"
)

// Info is the engine's swarm state (the Swarm object of GET /info).
type Info struct {
	NodeID           string `json:"NodeID"`
	NodeAddr         string `json:"NodeAddr"`
	LocalNodeState   string `json:"LocalNodeState"`
	ControlAvailable bool   `json:"ControlAvailable"` // a manager
	Error            string `json:"Error"`
	Cluster          *struct {
		ID string `json:"ID"`
	} `json:"Cluster"`
}

// ClusterID is the swarm's ID, "" when the node is in none (or a worker,
// which does not see it).
func (i Info) ClusterID() string {
	if i.Cluster == nil {
		return ""
	}
	return i.Cluster.ID
}

// Node is one node as a manager lists it.
type Node struct {
	ID          string `json:"ID"`
	Description struct {
		Hostname string `json:"Hostname"`
	} `json:"Description"`
	Spec struct {
		Role string `json:"Role"`
	} `json:"Spec"`
	Status struct {
		State string `json:"State"` // "ready", "down", …
		Addr  string `json:"Addr"`
	} `json:"Status"`
}

// Info reads the engine's swarm state.
func (e *Engine) Info(ctx context.Context) (Info, error) {
	var info struct {
		Swarm Info `json:"Swarm"`
	}
	err := e.call(ctx, http.MethodGet, "/info", nil, &info)
	return info.Swarm, err
}

// Init makes the engine the first manager of a new swarm, listening and
// advertising on addr (the machine's address on its private network, which
// also carries the overlay networks' traffic). It returns the node's ID.
func (e *Engine) Init(ctx context.Context, addr string) (string, error) {
	req := map[string]any{
		"ListenAddr":    net.JoinHostPort(addr, strconv.Itoa(api.SwarmControlPort)),
		"AdvertiseAddr": addr,
		"DataPathAddr":  addr,
	}
	var id string
	err := e.call(ctx, http.MethodPost, "/swarm/init", req, &id)
	return id, err
}

// JoinTokens are the tokens a manager gives for joining its swarm.
func (e *Engine) JoinTokens(ctx context.Context) (worker, manager string, err error) {
	var sw struct {
		JoinTokens struct{ Worker, Manager string }
	}
	if err := e.call(ctx, http.MethodGet, "/swarm", nil, &sw); err != nil {
		return "", "", err
	}
	return sw.JoinTokens.Worker, sw.JoinTokens.Manager, nil
}

// Join makes the engine join the swarm of the manager at managerAddr with
// token, listening and advertising on addr.
func (e *Engine) Join(ctx context.Context, addr, managerAddr, token string) error {
	req := map[string]any{
		"ListenAddr":    net.JoinHostPort(addr, strconv.Itoa(api.SwarmControlPort)),
		"AdvertiseAddr": addr,
		"DataPathAddr":  addr,
		"RemoteAddrs":   []string{net.JoinHostPort(managerAddr, strconv.Itoa(api.SwarmControlPort))},
		"JoinToken":     token,
	}
	return e.call(ctx, http.MethodPost, "/swarm/join", req, nil)
}

// Leave makes the engine leave its swarm; force is needed for a manager.
func (e *Engine) Leave(ctx context.Context, force bool) error {
	return e.call(ctx, http.MethodPost, "/swarm/leave?force="+strconv.FormatBool(force), nil, nil)
}

// Nodes lists the swarm's nodes (a manager only).
func (e *Engine) Nodes(ctx context.Context) ([]Node, error) {
	var nodes []Node
	err := e.call(ctx, http.MethodGet, "/nodes", nil, &nodes)
	return nodes, err
}

// RemoveNode takes node id out of the swarm (a manager only); force
// removes a node that is still up.
func (e *Engine) RemoveNode(ctx context.Context, id string, force bool) error {
	return e.call(ctx, http.MethodDelete, "/nodes/"+url.PathEscape(id)+"?force="+strconv.FormatBool(force), nil, nil)
}

// APIError is an error the engine answered with.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// call sends body as JSON and decodes the answer into out (nil: ignore).
func (e *Engine) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var m struct{ Message string }
		if json.Unmarshal(b, &m) != nil || m.Message == "" {
			m.Message = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		return &APIError{Status: resp.StatusCode, Message: strings.TrimSpace(m.Message)}
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}
