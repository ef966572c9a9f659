package hostagent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Published ports are those on every address or the loopback, TCP and UDP;
// a port on one other address of the server, an unpublished one or an odd
// one is not.
func TestPublishedPorts(t *testing.T) {
	body := `[
	 {"Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"}]},
	 {"Ports":[{"IP":"127.0.0.1","PrivatePort":53,"PublicPort":5353,"Type":"udp"},{"PrivatePort":9000,"Type":"tcp"}]},
	 {"Ports":[{"IP":"192.0.2.7","PrivatePort":22,"PublicPort":2222,"Type":"tcp"},{"IP":"0.0.0.0","PublicPort":70000,"Type":"tcp"},{"IP":"0.0.0.0","PublicPort":81,"Type":"sctp"}]},
	 {"Ports":[]}
	]`
	got, err := PublishedPorts([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Port{{Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 5353}}
	if !reflect.DeepEqual(got.Sorted(), want) {
		t.Errorf("PublishedPorts = %v, want %v", got.Sorted(), want)
	}
	if _, err := PublishedPorts([]byte("{")); err == nil {
		t.Error("PublishedPorts accepted a damaged list")
	}
}

// The stream of a server's ports is the one a guest agent sends: the whole
// set first, then changes, a keepalive when nothing changed; a Docker that
// fails ends it with an error.
func TestWatchDockerPorts(t *testing.T) {
	var mu sync.Mutex
	answers := []string{
		`[{"Ports":[{"IP":"0.0.0.0","PublicPort":8080,"Type":"tcp"}]}]`,
		`[{"Ports":[{"IP":"0.0.0.0","PublicPort":8080,"Type":"tcp"}]}]`,
		`[{"Ports":[{"IP":"0.0.0.0","PublicPort":9090,"Type":"tcp"}]}]`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/containers/json" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if len(answers) == 0 {
			http.Error(w, "engine gone", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(answers[0]))
		answers = answers[1:]
	}))
	defer srv.Close()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", strings.TrimPrefix(srv.URL, "http://"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dec := api.NewPortEventDecoder(WatchDockerPorts(ctx, dial, 10*time.Millisecond))
	want := []api.PortEvent{
		{Added: []api.Port{{Proto: "tcp", Port: 8080}}},
		{},
		{Added: []api.Port{{Proto: "tcp", Port: 9090}}, Removed: []api.Port{{Proto: "tcp", Port: 8080}}},
	}
	for i, w := range want {
		ev, err := dec.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !reflect.DeepEqual(ev, w) {
			t.Errorf("event %d = %+v, want %+v", i, ev, w)
		}
	}
	if _, err := dec.Next(); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("after the engine failed: %v, want an error with its status", err)
	}
}

// The stream's writer does not outlive a reader that stopped reading.
func TestWatchDockerPortsEndsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("[]")) }))
	defer srv.Close()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", strings.TrimPrefix(srv.URL, "http://"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := WatchDockerPorts(ctx, dial, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // the writer blocks: nobody reads
	cancel()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 1<<10)
		for {
			if _, err := r.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("the stream ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the stream did not end with its context")
	}
}
