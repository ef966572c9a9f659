package swarm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The requests are the Engine API's (v1.24+) shapes: the server checks
// what a real engine would read.
func TestRequests(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		_ = json.Unmarshal(body, &req)
		switch r.Method + " " + r.URL.Path {
		case "GET /info":
			io.WriteString(w, `{"Swarm":{"NodeID":"abc","NodeAddr":"192.168.127.2","LocalNodeState":"active","ControlAvailable":true,"Cluster":{"ID":"cl1"}}}`)
		case "POST /swarm/init":
			if req["ListenAddr"] != "192.168.127.2:2377" || req["AdvertiseAddr"] != "192.168.127.2" || req["DataPathAddr"] != "192.168.127.2" {
				http.Error(w, `{"message":"bad init `+string(body)+`"}`, 400)
				return
			}
			io.WriteString(w, `"node-1"`)
		case "GET /swarm":
			io.WriteString(w, `{"JoinTokens":{"Worker":"SWMTKN-w","Manager":"SWMTKN-m"}}`)
		case "POST /swarm/join":
			ra, _ := req["RemoteAddrs"].([]any)
			if len(ra) != 1 || ra[0] != "192.168.127.2:2377" || req["JoinToken"] != "SWMTKN-w" || req["AdvertiseAddr"] != "192.168.127.3" {
				http.Error(w, `{"message":"bad join `+string(body)+`"}`, 400)
				return
			}
			w.WriteHeader(200)
		case "POST /swarm/leave":
			w.WriteHeader(200)
		case "DELETE /nodes/n 2":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"message":"node n 2 not found"}`)
		default:
			http.Error(w, "unexpected", 500)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	e := &Engine{HTTP: srv.Client(), URL: srv.URL}
	info, err := e.Info(ctx)
	if err != nil || info.NodeID != "abc" || info.LocalNodeState != StateActive || !info.ControlAvailable || info.ClusterID() != "cl1" {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if id, err := e.Init(ctx, "192.168.127.2"); err != nil || id != "node-1" {
		t.Fatalf("Init = %q, %v", id, err)
	}
	w, m, err := e.JoinTokens(ctx)
	if err != nil || w != "SWMTKN-w" || m != "SWMTKN-m" {
		t.Fatalf("JoinTokens = %q %q %v", w, m, err)
	}
	if err := e.Join(ctx, "192.168.127.3", "192.168.127.2", w); err != nil {
		t.Fatal(err)
	}
	if err := e.Leave(ctx, true); err != nil {
		t.Fatal(err)
	}
	err = e.RemoveNode(ctx, "n 2", true)
	var api *APIError
	if !errors.As(err, &api) || api.Status != 404 || api.Message != "node n 2 not found" {
		t.Fatalf("RemoveNode of a missing node: %v", err)
	}
	want := []string{"GET /info", "POST /swarm/init", "GET /swarm", "POST /swarm/join", "POST /swarm/leave?force=true", "DELETE /nodes/n%202?force=true"}
	if len(seen) != len(want) {
		t.Fatalf("requests %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("request %d = %q, want %q", i, seen[i], want[i])
		}
	}
}
