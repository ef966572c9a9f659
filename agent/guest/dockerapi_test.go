//go:build linux

package guest

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A real net/http server on a unix socket, as dockerd is: small and large
// (chunked under HTTP/1.1) bodies, POST without a body, a server that hangs.
func TestHTTPOverUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat(`{"Id":"x"},`, 10000)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) })
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 10; i++ { // several writes: no Content-Length known up front
			w.Write([]byte(big[:len(big)/10]))
		}
	})
	mux.HandleFunc("POST /containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("t") != "10" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	ctx := context.Background()
	code, body, err := httpOverUnix(ctx, sock, time.Second, "GET", "/_ping")
	if err != nil || code != 200 || string(body) != "OK" {
		t.Fatalf("ping: %d %q %v", code, body, err)
	}
	code, body, err = httpOverUnix(ctx, sock, time.Second, "GET", "/big")
	if err != nil || code != 200 || len(body) != len(big)/10*10 {
		t.Fatalf("big: %d, %d bytes, %v", code, len(body), err)
	}
	code, _, err = httpOverUnix(ctx, sock, time.Second, "POST", "/containers/abc/stop?t=10")
	if err != nil || code != 204 {
		t.Fatalf("stop: %d %v", code, err)
	}
	code, _, err = httpOverUnix(ctx, sock, time.Second, "GET", "/nothing")
	if err != nil || code != 404 {
		t.Fatalf("missing: %d %v", code, err)
	}
	start := time.Now()
	if _, _, err = httpOverUnix(ctx, sock, 200*time.Millisecond, "GET", "/hang"); err == nil {
		t.Fatal("a hanging server did not time out")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the timeout took %s", took)
	}
	if _, _, err = httpOverUnix(ctx, filepath.Join(t.TempDir(), "none.sock"), time.Second, "GET", "/_ping"); err == nil {
		t.Fatal("no server, no error")
	}
}

func TestParseHTTPResponse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		code int
		body string
		err  string
	}{
		{"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK", 200, "OK", ""},
		{"HTTP/1.1 204 No Content\r\n\r\n", 204, "", ""},
		{"HTTP/1.0 200 OK\r\nServer: x", 0, "", "truncated"},
		{"SSH-2.0-x\r\n\r\n", 0, "", "not an HTTP response"},
		{"HTTP/1.0 abc\r\n\r\n", 0, "", "bad HTTP status"},
	} {
		code, body, err := parseHTTPResponse([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || code != tc.code || string(body) != tc.body {
			t.Errorf("%q: %d %q %v", tc.in, code, body, err)
		}
	}
}
