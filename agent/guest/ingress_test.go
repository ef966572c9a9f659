//go:build linux

package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// ingressRules is dockerd's DOCKER-INGRESS chain with a tcp and a udp port,
// the fixture agent/portwatch's parser is tested with.
var ingressRules = func() string {
	b, err := os.ReadFile("../portwatch/testdata/ingress-rules.txt")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestIngressArgs(t *testing.T) {
	if want := []string{"-w", "-t", "nat", "-S", "DOCKER-INGRESS"}; !reflect.DeepEqual(ingressArgs, want) {
		t.Errorf("ingress args = %q, want %q", ingressArgs, want)
	}
}

func TestIngressPorts(t *testing.T) {
	failed := errors.New("running iptables: exit status 1")
	tests := []struct {
		name   string
		out    string
		runErr error
		want   []api.Port
		err    string
	}{
		{"the chain's rules", ingressRules, nil, []api.Port{{Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 5353}}, ""},
		{"no chain yet (legacy and nft)", "iptables: No chain/target/match by that name.\n", failed, nil, ""},
		{"another failure", "Another app is currently holding the xtables lock.\n", failed, nil, "running iptables: exit status 1"},
		{"rules not understood", "-A DOCKER-INGRESS -p tcp --dport x -j DNAT\n", nil, nil,
			`DOCKER-INGRESS rule "-A DOCKER-INGRESS -p tcp --dport x -j DNAT": --dport "x" is not a port from 1 to 65535`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ingressPorts(tt.out, tt.runErr)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ingressPorts = %v, %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestPlanIngress(t *testing.T) {
	tcp80, udp53 := api.Port{Proto: "tcp", Port: 80}, api.Port{Proto: "udp", Port: 53}
	none := ingressState{}
	empty := ingressState{written: true, ports: []api.Port{}}
	both := ingressState{written: true, ports: []api.Port{tcp80, udp53}}
	tests := []struct {
		name     string
		bridge   bool
		ports    []api.Port
		prev     ingressState
		want     ingressState
		wantWhat ingressAction
	}{
		{"not in swarm mode", false, nil, none, none, ingressKeep},
		{"swarm mode, no ports yet: an empty file", true, nil, none, empty, ingressWrite},
		{"ports published", true, []api.Port{udp53, tcp80}, empty, both, ingressWrite},
		{"the same ports, in another order and twice", true, []api.Port{udp53, tcp80, udp53}, both, both, ingressKeep},
		{"a port gone", true, []api.Port{udp53}, both, ingressState{written: true, ports: []api.Port{udp53}}, ingressWrite},
		{"all ports gone", true, nil, both, empty, ingressWrite},
		{"no ports, still", true, nil, empty, empty, ingressKeep},
		{"swarm left", false, nil, both, none, ingressRemove},
		{"swarm left, ports ignored", false, []api.Port{tcp80}, empty, none, ingressRemove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, what := planIngress(tt.bridge, tt.ports, tt.prev)
			if !reflect.DeepEqual(got, tt.want) || what != tt.wantWhat {
				t.Fatalf("planIngress = %+v, %v, want %+v, %v", got, what, tt.want, tt.wantWhat)
			}
		})
	}
}

// iptablesScript answers each iptables run with the next reply, and fails
// the test on a run it does not expect.
type iptablesScript struct {
	t       *testing.T
	replies []iptablesReply
}

type iptablesReply struct {
	out string
	err error
}

func (s *iptablesScript) run(_ context.Context, name string, args ...string) (string, error) {
	s.t.Helper()
	if name != "iptables" || !slices.Equal(args, ingressArgs) {
		s.t.Fatalf("ran %s %q, want iptables %q", name, args, ingressArgs)
	}
	if len(s.replies) == 0 {
		s.t.Fatalf("iptables run once too often")
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r.out, r.err
}

// TestIngressWatcher runs the watcher's steps through a swarm's life, on a
// temporary bridge and file: iptables runs only while the bridge exists,
// the file is written when the ports change and removed when the swarm is
// left, a failed look leaves it alone and is logged once.
func TestIngressWatcher(t *testing.T) {
	dir := t.TempDir()
	bridge := filepath.Join(dir, "docker_gwbridge")
	file := filepath.Join(dir, "run", "ingress-ports")
	script := &iptablesScript{t: t}
	var logged []string
	w := &ingressWatcher{bridge: bridge, file: file, run: script.run,
		logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}
	ctx := context.Background()
	step := func(replies ...iptablesReply) {
		t.Helper()
		script.replies = replies
		w.step(ctx)
		if len(script.replies) != 0 {
			t.Fatalf("iptables not run %d more times", len(script.replies))
		}
	}
	// content is the file's text, "-" when it does not exist.
	content := func() string {
		t.Helper()
		b, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			return "-"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	failed := errors.New("running iptables: exit status 1")

	step() // no bridge: no iptables, no file
	if got := content(); got != "-" {
		t.Fatalf("without the bridge the file is %q", got)
	}
	if err := os.WriteFile(bridge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	step(iptablesReply{"iptables: No chain/target/match by that name.\n", failed})
	if got := content(); got != "" {
		t.Fatalf("in swarm mode without a chain the file is %q, want empty", got)
	}
	step(iptablesReply{ingressRules, nil})
	if got := content(); got != "tcp/8080\nudp/5353\n" {
		t.Fatalf("file = %q", got)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("file mode = %v, %v, want 0644", fi.Mode(), err)
	}
	// The same ports: the file is not written again (the mark stays).
	if err := os.WriteFile(file, []byte("mark\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step(iptablesReply{ingressRules, nil})
	if got := content(); got != "mark\n" {
		t.Fatalf("the same ports rewrote the file: %q", got)
	}
	// Failures leave the file as it was, and are logged once.
	lock := iptablesReply{"Another app is currently holding the xtables lock.\n", errors.New("running iptables: exit status 4: Another app is currently holding the xtables lock.")}
	step(lock)
	step(lock)
	if got := content(); got != "mark\n" {
		t.Fatalf("a failed look rewrote the file: %q", got)
	}
	step(iptablesReply{"-A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:8080\n", nil})
	if got := content(); got != "tcp/8080\n" {
		t.Fatalf("after a port went, file = %q", got)
	}
	if err := os.Remove(bridge); err != nil {
		t.Fatal(err)
	}
	step()
	step()
	if got := content(); got != "-" {
		t.Fatalf("after the swarm was left the file is %q", got)
	}
	want := []string{
		"swarm published ports: none",
		"swarm published ports: tcp/8080 udp/5353",
		"reading the swarm's published ports: running iptables: exit status 4: Another app is currently holding the xtables lock.",
		"swarm published ports: tcp/8080",
		"swarm published ports: none (not in swarm mode)",
	}
	if !reflect.DeepEqual(logged, want) {
		t.Fatalf("logged\n%q\nwant\n%q", logged, want)
	}
}

// TestIngressWatcherWriteFails: a file that cannot be written is tried
// again at the next step, logged once.
func TestIngressWatcherWriteFails(t *testing.T) {
	dir := t.TempDir()
	bridge := filepath.Join(dir, "docker_gwbridge")
	if err := os.WriteFile(bridge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	script := &iptablesScript{t: t}
	var logged []string
	w := &ingressWatcher{bridge: bridge, file: filepath.Join(blocker, "ingress-ports"), run: script.run,
		logf: func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }}
	for range 2 {
		script.replies = []iptablesReply{{ingressRules, nil}}
		w.step(context.Background())
	}
	if w.state.written || len(logged) != 1 {
		t.Fatalf("state %+v, logged %q: want nothing written and one line", w.state, logged)
	}
}

// TestWatchIngressEnds: the agent's loop returns when its context ends.
// Off swarm mode it runs nothing, so it is safe on the test machine.
func TestWatchIngressEnds(t *testing.T) {
	if exists(swarmBridge) {
		t.Skipf("%s exists: the loop would run this machine's iptables", swarmBridge)
	}
	a := &agent{log: &logger{}, procs: newProcTable()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		a.watchIngress(ctx)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watchIngress did not return after its context ended")
	}
}
