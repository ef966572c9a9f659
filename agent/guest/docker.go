//go:build linux

package guest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// DockerSocket is dockerd's unix socket inside the guest.
const DockerSocket = "/var/run/docker.sock"

// stopGrace is how long containers get to stop at shutdown before SIGKILL.
const stopGrace = 10 * time.Second

// dockerdArgs is dockerd's command line: TLS with client certs on 2376, the
// unix socket, and the user's options in the persisted daemon.json.
//
// --iptables=false: dockerd's own rules cost ~100 iptables runs at start
// (twice that on every boot after the first, when it deletes and re-creates
// the default bridge's rules), at ~100 ms each under emulation: the larger
// part of its start. Published ports still work through docker-proxy (the
// userland proxy, listening on the guest's ports, which the host forwards
// to), and containers reach out through the one masquerade rule the agent
// adds (masquerade). What is lost is docker's isolation between bridge
// networks, which a single-user development VM does not need.
func dockerdArgs() []string {
	return []string{
		"--iptables=false",
		"--tlsverify",
		"--tlscacert=" + TLSDir + "/ca.pem",
		"--tlscert=" + TLSDir + "/server.pem",
		"--tlskey=" + TLSDir + "/server-key.pem",
		"-H", "tcp://0.0.0.0:" + strconv.Itoa(api.DockerPort),
		"-H", "unix://" + DockerSocket,
		"--config-file", DaemonJSON,
		"--containerd=" + ContainerdSocket,
	}
}

// ContainerdSocket is where the agent's containerd listens.
const ContainerdSocket = "/run/containerd/containerd.sock"

const containerdConfigPath = "/run/tender/containerd.toml"

// containerdConfig is what dockerd would give the containerd it manages,
// less the plugins a Docker host never uses (CRI, other snapshotters,
// tracing), which cost start-up time under emulation.
const containerdConfig = `# written by tender-agent at each boot
version = 2
root = "/var/lib/docker/containerd/daemon"
state = "/run/docker/containerd/daemon"
oom_score = -999
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "/run/containerd/containerd.sock"
`

// newContainerd is started by the agent as soon as the data disk is
// mounted, so that it is up by the time dockerd (which waits for the
// netfilter modules) needs it: started by dockerd it cost ~4 s of dockerd's
// start under TCG.
func (a *agent) newContainerd() *service {
	return newService("containerd", a.procs, a.log, func() (*exec.Cmd, error) {
		if err := writeFile(containerdConfigPath, []byte(containerdConfig), 0o644, 0, 0); err != nil {
			return nil, err
		}
		logf, err := openLog("containerd.log")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("/usr/bin/containerd", "--config", containerdConfigPath)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = childEnv()
		return cmd, nil
	})
}

// masqueradeArgs is iptables' command line that checks (op "-C") or adds
// ("-A") the rule NATting what containers send out of the guest's NICs
// (dockerd, run with --iptables=false, adds no rules).
func masqueradeArgs(op string) []string {
	return []string{"-w", "-t", "nat", op, "POSTROUTING", "-o", "eth+", "-j", "MASQUERADE"}
}

// masquerade adds the masquerade rule once.
func (a *agent) masquerade() error {
	if _, err := a.procs.run(a.ctx, "iptables", masqueradeArgs("-C")...); err == nil {
		return nil
	}
	if _, err := a.procs.run(a.ctx, "iptables", masqueradeArgs("-A")...); err != nil {
		return fmt.Errorf("adding the containers' masquerade rule: %w", err)
	}
	return nil
}

func (a *agent) newDockerd() *service {
	return newService("dockerd", a.procs, a.log, func() (*exec.Cmd, error) {
		if err := a.masquerade(); err != nil {
			a.log.Printf("%v", err) // containers cannot reach out; dockerd still starts
		}
		logf, err := openLog("dockerd.log")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("/usr/sbin/dockerd", dockerdArgs()...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = childEnv()
		return cmd, nil
	})
}

// pingDocker reports whether dockerd answers /_ping.
func pingDocker(ctx context.Context) bool {
	code, _, err := dockerCall(ctx, 2*time.Second, "GET", "/_ping")
	return err == nil && code == 200
}

// waitDocker polls /_ping until it answers or ctx ends.
func waitDocker(ctx context.Context) error {
	for {
		if pingDocker(ctx) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dockerd did not answer on %s: %w", DockerSocket, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopContainers stops every running container through the API, in
// parallel, each with grace before docker kills it.
func stopContainers(ctx context.Context, grace time.Duration) (int, error) {
	timeout := grace + 10*time.Second
	code, body, err := dockerCall(ctx, timeout, "GET", "/containers/json")
	if err == nil && code != 200 {
		err = fmt.Errorf("status %d: %s", code, bytes.TrimSpace(body))
	}
	if err != nil {
		return 0, fmt.Errorf("listing containers: %w", err)
	}
	var list []struct{ ID string }
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, fmt.Errorf("listing containers: %w", err)
	}
	var wg sync.WaitGroup
	for _, ct := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = dockerCall(ctx, timeout, "POST", fmt.Sprintf("/containers/%s/stop?t=%d", ct.ID, int(grace/time.Second)))
		}()
	}
	wg.Wait()
	return len(list), nil
}
