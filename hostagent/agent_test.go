package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

func port(proto string, n int) api.Port { return api.Port{Proto: proto, Port: n} }

func TestPlan(t *testing.T) {
	tab := Table{
		port("tcp", 80):   {Proto: "tcp", Port: 80, Status: Forwarded},
		port("tcp", 5432): {Proto: "tcp", Port: 5432, Status: Skipped},
		port("udp", 53):   {Proto: "udp", Port: 53, Status: Forwarded},
	}
	tests := []struct {
		name   string
		ev     api.PortEvent
		resync bool
		want   []Action
	}{
		{"new port", api.PortEvent{Added: []api.Port{port("tcp", 8080)}}, false,
			[]Action{{Add: true, Port: port("tcp", 8080)}}},
		{"already forwarded is left alone", api.PortEvent{Added: []api.Port{port("tcp", 80)}}, false, nil},
		{"skipped is tried again when reported again", api.PortEvent{Added: []api.Port{port("tcp", 5432)}}, false,
			[]Action{{Add: true, Port: port("tcp", 5432)}}},
		{"closed", api.PortEvent{Removed: []api.Port{port("tcp", 80), port("tcp", 9999)}}, false,
			[]Action{{Add: false, Port: port("tcp", 80)}}},
		{"never 22 or 2376", api.PortEvent{Added: []api.Port{port("tcp", 22), port("tcp", 2376), port("udp", 2376)}}, false,
			[]Action{{Add: true, Port: port("udp", 2376)}}},
		{"never the swarm's ports", api.PortEvent{Added: []api.Port{port("tcp", 2377), port("tcp", 7946), port("udp", 7946), port("udp", 4789), port("tcp", 4789)}}, false,
			[]Action{{Add: true, Port: port("tcp", 4789)}}},
		{"resync drops what is gone and renews the rest", api.PortEvent{Added: []api.Port{port("tcp", 80), port("tcp", 3000)}}, true,
			[]Action{{Add: false, Port: port("tcp", 5432)}, {Add: false, Port: port("udp", 53)}, {Add: true, Port: port("tcp", 80)}, {Add: true, Port: port("tcp", 3000)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tab.Plan(tt.ev, tt.resync); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Plan = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

func TestJumped(t *testing.T) {
	for _, tt := range []struct {
		wall, mono time.Duration
		want       bool
	}{
		{time.Second, time.Second, false},
		{1500 * time.Millisecond, time.Second, false}, // a slow tick
		{time.Hour, time.Second, true},                // the host slept an hour
		{-time.Hour, time.Second, true},               // the clock was set back
		{time.Second, 3 * time.Second, true},
	} {
		if got := jumped(tt.wall, tt.mono); got != tt.want {
			t.Errorf("jumped(wall %s, mono %s) = %v, want %v", tt.wall, tt.mono, got, tt.want)
		}
	}
}

// recorder is a Forwarder that records calls; taken ports fail.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  map[int]error
}

func (r *recorder) Forward(_ context.Context, proto string, host, guest int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("add %s %d->%d", proto, host, guest))
	return r.fail[host]
}

func (r *recorder) Unforward(_ context.Context, proto string, host int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("remove %s %d", proto, host))
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// fakeGuest streams the lines written to its pipe, with a clock offset.
type fakeGuest struct {
	pr     *io.PipeReader
	pw     *io.PipeWriter
	offset time.Duration
	mu     sync.Mutex
	set    []time.Time
}

func newFakeGuest(offset time.Duration) *fakeGuest {
	pr, pw := io.Pipe()
	return &fakeGuest{pr: pr, pw: pw, offset: offset}
}

func (g *fakeGuest) WatchPorts(ctx context.Context) (io.Reader, error) { return g.pr, nil }
func (g *fakeGuest) Clock(ctx context.Context) (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Add(g.offset), nil
}
func (g *fakeGuest) SetClock(ctx context.Context, t time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.set = append(g.set, t)
	g.offset = 0
	return nil
}
func (g *fakeGuest) Close() error { return g.pw.Close() }
func (g *fakeGuest) send(t *testing.T, ev api.PortEvent) {
	t.Helper()
	if err := api.EncodePortEvent(g.pw, ev); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAgentForwardsFollowTheGuest(t *testing.T) {
	dir := t.TempDir()
	portsFile := filepath.Join(dir, "ports.json")
	// A previous agent left a forward of a port that closed meanwhile.
	if err := WritePorts(portsFile, Ports{Forwards: []Forward{{Proto: "tcp", Port: 7000, Status: Forwarded}}}); err != nil {
		t.Fatal(err)
	}
	g := newFakeGuest(-time.Hour)
	rec := &recorder{fail: map[int]error{}}
	taken := map[int]bool{9000: true}
	var logs strings.Builder
	var logMu sync.Mutex
	a := &Agent{
		Connect:   func(context.Context) (Guest, error) { return g, nil },
		Forwarder: rec,
		Running:   func(context.Context) bool { return true },
		PortsFile: portsFile,
		Logf: func(f string, args ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(&logs, f+"\n", args...)
		},
		CheckHostPort: func(proto string, p int) error {
			if taken[p] {
				return errors.New("in use by another program on the host")
			}
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	g.send(t, api.PortEvent{Added: []api.Port{port("tcp", 8080), port("tcp", 9000), port("udp", 5353)}})
	read := func() Ports {
		p, err := ReadPorts(portsFile)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor(t, "the first event", func() bool { return read().Connected })
	if got, want := rec.take(), []string{"remove tcp 7000", "add tcp 8080->8080", "add udp 5353->5353"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	p := read()
	var states []string
	for _, f := range p.Forwards {
		states = append(states, fmt.Sprintf("%s/%d %s %s", f.Proto, f.Port, f.Status, f.Reason))
	}
	if want := []string{"tcp/8080 forwarded ", "tcp/9000 skipped in use by another program on the host", "udp/5353 forwarded "}; !reflect.DeepEqual(states, want) {
		t.Fatalf("ports file = %q, want %q", states, want)
	}

	g.send(t, api.PortEvent{Removed: []api.Port{port("tcp", 8080)}})
	waitFor(t, "the removal", func() bool { return len(read().Forwards) == 2 })
	if got, want := rec.take(), []string{"remove tcp 8080"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	g.mu.Lock()
	nset := len(g.set)
	g.mu.Unlock()
	if nset != 1 {
		t.Fatalf("the clock an hour behind was set %d times, want once", nset)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "guest port tcp/9000: skipped: in use by another program on the host") {
		t.Fatalf("the skipped port was not logged:\n%s", logs.String())
	}
}

func TestAgentExitsWhenTheMachineStops(t *testing.T) {
	dir := t.TempDir()
	a := &Agent{
		Connect:   func(context.Context) (Guest, error) { return nil, errors.New("connection refused") },
		Forwarder: &recorder{},
		Running:   func(context.Context) bool { return false },
		PortsFile: filepath.Join(dir, "ports.json"),
		Logf:      func(string, ...any) {},
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the agent kept running for a stopped machine")
	}
}

func TestCheckHostPort(t *testing.T) {
	for _, proto := range []string{"tcp", "udp"} {
		// Find a free port, hold it, and check it is reported taken.
		var p int
		var closer io.Closer
		if proto == "tcp" {
			l, err := netListen()
			if err != nil {
				t.Skip(err)
			}
			p, closer = l.port, l
		} else {
			c, err := netListenUDP()
			if err != nil {
				t.Skip(err)
			}
			p, closer = c.port, c
		}
		err := CheckHostPort(proto, p)
		if err == nil || !strings.Contains(err.Error(), "in use by another program") {
			t.Errorf("%s port %d held: CheckHostPort = %v, want in use", proto, p, err)
		}
		closer.Close()
		if err := CheckHostPort(proto, p); err != nil {
			t.Errorf("%s port %d free: CheckHostPort = %v", proto, p, err)
		}
	}
}

func TestClockOffset(t *testing.T) {
	sent := time.Unix(1000, 0)
	received := sent.Add(200 * time.Millisecond)
	// The guest read 1000.1 s, the midpoint: in step.
	if off := clockOffset(sent, received, time.Unix(1000, 100e6)); off != 0 {
		t.Fatalf("in step: offset %s", off)
	}
	if off := clockOffset(sent, received, time.Unix(1000-3600, 100e6)); off != -time.Hour {
		t.Fatalf("an hour behind: offset %s", off)
	}
}
