//go:build linux

package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/portwatch"
)

// The ports a swarm service publishes in ingress mode (the routing mesh)
// have no socket in the guest: dockerd DNATs them in the nat table's
// DOCKER-INGRESS chain. watch-ports runs as the user docker and cannot read
// iptables, so the agent, as root, reads the chain and lists the ports in
// api.IngressPortsFile, which watch-ports merges with the sockets.

// swarmBridge exists while the engine is in swarm mode: dockerd creates
// docker_gwbridge when the node joins a swarm and removes it when it
// leaves. Without it there is no DOCKER-INGRESS to read, and iptables is
// not run at all: each run costs ~70 ms under emulation.
const swarmBridge = "/sys/class/net/docker_gwbridge"

// ingressInterval is how often the chain is read in swarm mode; with the
// host's quarter-second poll of the file, a published port is forwarded
// within the 2 s the host promises.
const ingressInterval = time.Second

// ingressTimeout bounds one iptables run: -w waits for the xtables lock,
// which dockerd may hold while it programs a service.
const ingressTimeout = 10 * time.Second

// ingressArgs is iptables' command line listing the chain's rules.
var ingressArgs = []string{"-w", "-t", "nat", "-S", portwatch.IngressChain}

// noChain is what iptables (legacy and nft) says of a chain that does not
// exist: dockerd creates DOCKER-INGRESS with the first service that
// publishes a port.
const noChain = "No chain/target/match by that name"

// ingressPorts reads the result of iptables' run: its output's ports, none
// when the chain does not exist yet, or the failure.
func ingressPorts(out string, runErr error) ([]api.Port, error) {
	if runErr != nil {
		if strings.Contains(out, noChain) {
			return nil, nil
		}
		return nil, runErr
	}
	return portwatch.ParseIngress(strings.NewReader(out))
}

// ingressState is what the agent last did to the ingress ports file.
type ingressState struct {
	written bool       // the file exists, holding ports
	ports   []api.Port // sorted, without duplicates
}

// ingressAction is what planIngress asks of the file.
type ingressAction int

const (
	ingressKeep   ingressAction = iota // leave it as it is
	ingressWrite                       // replace it with the new state's ports
	ingressRemove                      // remove it
)

// planIngress says what to do with the file given whether the swarm bridge
// exists, the ports read from the chain (ignored without the bridge), and
// what the file holds: write it when the set changed (or it was never
// written, even empty: the engine is in swarm mode), remove it when the
// bridge is gone, else leave it alone.
func planIngress(bridge bool, ports []api.Port, prev ingressState) (ingressState, ingressAction) {
	if !bridge {
		if prev.written {
			return ingressState{}, ingressRemove
		}
		return prev, ingressKeep
	}
	sorted := api.NewPortSet(ports).Sorted()
	if prev.written && slices.Equal(prev.ports, sorted) {
		return prev, ingressKeep
	}
	return ingressState{written: true, ports: sorted}, ingressWrite
}

// ingressWatcher keeps the ingress ports file; its collaborators are
// fields so that a test can run its steps on a temporary directory and a
// recording runner.
type ingressWatcher struct {
	bridge string // swarmBridge
	file   string // api.IngressPortsFile
	run    func(ctx context.Context, name string, args ...string) (string, error)
	logf   func(format string, args ...any)

	state   ingressState
	lastErr string // the last failure logged, so a lasting one is logged once
}

// step looks once and brings the file up to date.
func (w *ingressWatcher) step(ctx context.Context) {
	bridge := exists(w.bridge)
	var ports []api.Port
	if bridge {
		rctx, cancel := context.WithTimeout(ctx, ingressTimeout)
		out, err := w.run(rctx, "iptables", ingressArgs...)
		cancel()
		ports, err = ingressPorts(out, err)
		if err != nil {
			// Keep the file as it is: a failed look is not a port gone.
			w.fail(fmt.Errorf("reading the swarm's published ports: %w", err))
			return
		}
	}
	next, act := planIngress(bridge, ports, w.state)
	var err error
	switch act {
	case ingressKeep:
		w.lastErr = ""
		return
	case ingressWrite:
		err = writeFile(w.file, portwatch.FormatIngressFile(next.ports), 0o644, 0, 0)
	case ingressRemove:
		if err = os.Remove(w.file); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		w.fail(err) // state unchanged: tried again at the next step
		return
	}
	w.state, w.lastErr = next, ""
	w.logf("swarm published ports: %s", describePorts(next))
}

func (w *ingressWatcher) fail(err error) {
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		w.logf("%s", msg)
	}
}

// describePorts is the log's word for what the file now says.
func describePorts(s ingressState) string {
	if !s.written {
		return "none (not in swarm mode)"
	}
	if len(s.ports) == 0 {
		return "none"
	}
	words := make([]string, len(s.ports))
	for i, p := range s.ports {
		words[i] = p.String()
	}
	return strings.Join(words, " ")
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// watchIngress keeps api.IngressPortsFile until ctx ends; call it in its
// own goroutine once dockerd runs. /run is a fresh tmpfs at each boot, so
// there is no file to begin with.
func (a *agent) watchIngress(ctx context.Context) {
	w := &ingressWatcher{bridge: swarmBridge, file: api.IngressPortsFile, run: a.procs.run, logf: a.log.Logf}
	t := time.NewTicker(ingressInterval)
	defer t.Stop()
	for {
		w.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
