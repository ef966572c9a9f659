package machine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/swarm"
)

// swarmTimeout bounds one swarm call; a join under emulation takes seconds.
const swarmTimeout = 2 * time.Minute

// Swarm roles.
const (
	RoleManager = "manager"
	RoleWorker  = "worker"
)

// SwarmMember is a machine's place in a swarm that tender made, kept in
// SwarmFile, so that `swarm leave` and `delete` can take the node out of
// the swarm even when the machine no longer runs.
type SwarmMember struct {
	Role    string `json:"role"`    // RoleManager or RoleWorker
	NodeID  string `json:"node_id"` // the node's ID in the swarm
	Manager string `json:"manager"` // the machine it joined through (itself for the first manager)
}

func readSwarmMember(dir string) (*SwarmMember, error) {
	b, err := os.ReadFile(filepath.Join(dir, SwarmFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sm SwarmMember
	if err := json.Unmarshal(b, &sm); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SwarmFile), err)
	}
	return &sm, nil
}

func writeSwarmMember(dir string, sm SwarmMember) error {
	b, _ := json.MarshalIndent(sm, "", "  ")
	return atomicfile.Write(filepath.Join(dir, SwarmFile), append(b, '\n'), 0o600)
}

// engine is m's Docker Engine API, over TLS with the machine's client
// certificate.
func (m *Machine) engine() (*swarm.Engine, error) {
	tlsConf, err := m.dockerTLS()
	if err != nil {
		return nil, err
	}
	return &swarm.Engine{
		HTTP: &http.Client{Timeout: swarmTimeout, Transport: &http.Transport{TLSClientConfig: tlsConf}},
		URL:  "https://127.0.0.1:" + strconv.Itoa(m.Runtime.DockerPort),
	}, nil
}

// SwarmNode is one machine of SwarmInit's result.
type SwarmNode struct {
	Machine string
	Role    string
	Address string
	Already bool // it was in this swarm before
}

// swarmMachine loads machine name for a swarm use case: it must be on a
// network (want: that one, unless ""), and is started (or waited for) until
// its Docker answers.
func (s *Store) swarmMachine(ctx context.Context, name, want string) (*Machine, error) {
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return nil, err
	}
	if err := refuseServer(m, "tender swarm", "is on no tender network (join it with `docker swarm join` run against it, when it can reach the manager's address)"); err != nil {
		return nil, err
	}
	if m.Network == nil {
		return nil, fmt.Errorf("machine %q is on no network, so other machines cannot reach it: make machines for a swarm with `tender init --network NET NAME`", name)
	}
	if want != "" && m.Network.Name != want {
		return nil, fmt.Errorf("machine %q is on network %q, not %q: the machines of a swarm must share one network", name, m.Network.Name, want)
	}
	// Up, whatever the machine's state: it starts a stopped machine, waits
	// for another `up` of it that is under way (it holds the machine's
	// lock), waits for a booting guest's Docker, and returns at once for a
	// machine that runs and answers.
	if _, err := s.Up(ctx, name, config.Layer{}); err != nil {
		return nil, err
	}
	if m, err = s.Load(name, config.Layer{}); err != nil {
		return nil, err
	}
	return m, nil
}

// SwarmInit makes manager the first manager of a new swarm (or keeps the
// swarm it manages) and joins each of workers to it as a worker, starting
// any machine that is stopped. Every machine must be on the same network.
func (s *Store) SwarmInit(ctx context.Context, manager string, workers []string) ([]SwarmNode, error) {
	seen := map[string]bool{manager: true}
	for _, w := range workers {
		if seen[w] {
			return nil, fmt.Errorf("machine %q is named twice", w)
		}
		seen[w] = true
	}
	mgr, err := s.swarmMachine(ctx, manager, "")
	if err != nil {
		return nil, err
	}
	eng, err := mgr.engine()
	if err != nil {
		return nil, err
	}
	info, err := eng.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("machine %q: reading its swarm state: %w", manager, err)
	}
	node := SwarmNode{Machine: manager, Role: RoleManager, Address: mgr.Network.Address}
	switch {
	case info.LocalNodeState == swarm.StateActive && info.ControlAvailable:
		node.Already = true
	case info.LocalNodeState == swarm.StateActive:
		return nil, fmt.Errorf("machine %q is a worker in another swarm: take it out with `tender swarm leave %s` first", manager, manager)
	case info.LocalNodeState != swarm.StateInactive:
		return nil, fmt.Errorf("machine %q's swarm state is %q (%s): take it out with `tender swarm leave %s` first", manager, info.LocalNodeState, info.Error, manager)
	default:
		fmt.Fprintf(s.Progress, "making %q the manager of a new swarm on %s…\n", manager, mgr.Network.Address)
		if info.NodeID, err = eng.Init(ctx, mgr.Network.Address); err != nil {
			return nil, fmt.Errorf("machine %q: swarm init: %w", manager, err)
		}
	}
	if err := writeSwarmMember(mgr.Dir, SwarmMember{Role: RoleManager, NodeID: info.NodeID, Manager: manager}); err != nil {
		return nil, err
	}
	nodes := []SwarmNode{node}
	for _, w := range workers {
		n, err := s.swarmJoin(ctx, w, mgr, RoleWorker)
		if err != nil {
			return nodes, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// SwarmJoin joins machine name to the swarm that machine manager manages,
// as role (RoleWorker or RoleManager).
func (s *Store) SwarmJoin(ctx context.Context, name, manager, role string) (SwarmNode, error) {
	if role != RoleWorker && role != RoleManager {
		return SwarmNode{}, fmt.Errorf("--role must be worker or manager, got %q", role)
	}
	if name == manager {
		return SwarmNode{}, fmt.Errorf("machine %q cannot join itself: name another machine with --manager", name)
	}
	mgr, err := s.swarmMachine(ctx, manager, "")
	if err != nil {
		return SwarmNode{}, err
	}
	eng, err := mgr.engine()
	if err != nil {
		return SwarmNode{}, err
	}
	info, err := eng.Info(ctx)
	if err != nil {
		return SwarmNode{}, fmt.Errorf("machine %q: reading its swarm state: %w", manager, err)
	}
	if info.LocalNodeState != swarm.StateActive || !info.ControlAvailable {
		return SwarmNode{}, fmt.Errorf("machine %q is not a swarm manager: make one with `tender swarm init %s`", manager, manager)
	}
	return s.swarmJoin(ctx, name, mgr, role)
}

// swarmJoin joins machine name to mgr's swarm as role.
func (s *Store) swarmJoin(ctx context.Context, name string, mgr *Machine, role string) (SwarmNode, error) {
	m, err := s.swarmMachine(ctx, name, mgr.Network.Name)
	if err != nil {
		return SwarmNode{}, err
	}
	node := SwarmNode{Machine: name, Role: role, Address: m.Network.Address}
	meng, err := mgr.engine()
	if err != nil {
		return node, err
	}
	eng, err := m.engine()
	if err != nil {
		return node, err
	}
	info, err := eng.Info(ctx)
	if err != nil {
		return node, fmt.Errorf("machine %q: reading its swarm state: %w", name, err)
	}
	if info.LocalNodeState == swarm.StateActive {
		if inSwarm(ctx, meng, info.NodeID) {
			node.Already = true
			return node, writeSwarmMember(m.Dir, SwarmMember{Role: role, NodeID: info.NodeID, Manager: mgr.Name})
		}
		return node, fmt.Errorf("machine %q is in another swarm: take it out with `tender swarm leave %s` first", name, name)
	}
	if info.LocalNodeState != swarm.StateInactive {
		return node, fmt.Errorf("machine %q's swarm state is %q (%s): take it out with `tender swarm leave %s` first", name, info.LocalNodeState, info.Error, name)
	}
	worker, managerToken, err := meng.JoinTokens(ctx)
	if err != nil {
		return node, fmt.Errorf("machine %q: reading the join tokens: %w", mgr.Name, err)
	}
	token := worker
	if role == RoleManager {
		token = managerToken
	}
	fmt.Fprintf(s.Progress, "joining %q to %q's swarm as a %s…\n", name, mgr.Name, role)
	if err := eng.Join(ctx, m.Network.Address, mgr.Network.Address, token); err != nil {
		return node, fmt.Errorf("machine %q: joining %q's swarm: %w", name, mgr.Name, err)
	}
	if info, err = eng.Info(ctx); err != nil {
		return node, err
	}
	return node, writeSwarmMember(m.Dir, SwarmMember{Role: role, NodeID: info.NodeID, Manager: mgr.Name})
}

// inSwarm reports whether the manager behind eng lists node id.
func inSwarm(ctx context.Context, eng *swarm.Engine, id string) bool {
	nodes, err := eng.Nodes(ctx)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if n.ID == id {
			return true
		}
	}
	return false
}

// SwarmLeave takes machine name out of its swarm: the node leaves (when it
// runs) and is removed from the manager's list (when the manager runs), so
// `docker node ls` no longer shows it.
func (s *Store) SwarmLeave(ctx context.Context, name string) error {
	m, err := s.Load(name, config.Layer{})
	if err != nil {
		return err
	}
	return s.swarmLeave(ctx, m, false)
}

// swarmLeave is SwarmLeave; quiet turns a machine that is in no swarm into
// no error (delete calls it for every machine).
func (s *Store) swarmLeave(ctx context.Context, m *Machine, quiet bool) error {
	sm, err := readSwarmMember(m.Dir)
	if err != nil {
		return err
	}
	running := false
	if st, err := m.driver.State(ctx, m.Spec()); err == nil && st == Running && m.pingDocker(ctx) == nil {
		running = true
	}
	var errs []error
	left := false
	if running {
		eng, err := m.engine()
		if err == nil {
			info, err := eng.Info(ctx)
			if err == nil && info.LocalNodeState != swarm.StateInactive {
				if sm == nil {
					sm = &SwarmMember{NodeID: info.NodeID}
				}
				err = eng.Leave(ctx, true)
				left = err == nil
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("machine %q: leaving the swarm: %w", m.Name, err))
			}
		}
	}
	if sm == nil {
		if quiet {
			return nil
		}
		return fmt.Errorf("machine %q is in no swarm", m.Name)
	}
	if sm.Manager != "" && sm.Manager != m.Name {
		if err := s.removeNode(ctx, sm.Manager, sm.NodeID); err != nil {
			errs = append(errs, err)
		}
	}
	if left || len(errs) == 0 {
		os.Remove(filepath.Join(m.Dir, SwarmFile))
	}
	return errors.Join(errs...)
}

// removeNode removes node id from the swarm that machine manager manages,
// when the manager runs.
func (s *Store) removeNode(ctx context.Context, manager, id string) error {
	mgr, err := s.Load(manager, config.Layer{})
	if err != nil {
		return nil // the manager is gone, and its swarm with it
	}
	if st, err := mgr.driver.State(ctx, mgr.Spec()); err != nil || st != Running {
		fmt.Fprintf(s.Progress, "warning: manager %q is not running: its swarm still lists the node until `docker node rm %s` there\n", manager, id)
		return nil
	}
	eng, err := mgr.engine()
	if err != nil {
		return err
	}
	// A node that has just left is still "ready" for a few seconds.
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		if last = eng.RemoveNode(ctx, id, true); last == nil {
			return nil
		}
		var api *swarm.APIError
		if errors.As(last, &api) && api.Status == http.StatusNotFound {
			return nil
		}
	}
	return fmt.Errorf("machine %q: removing node %s from the swarm: %w", manager, id, last)
}
