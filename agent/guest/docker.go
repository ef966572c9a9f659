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
// unix socket, and the user's options in the persisted daemon.json. dockerd
// manages its own iptables rules, as stock Docker does: the isolation between
// bridge networks, the DOCKER-USER chain and Swarm's routing mesh need them.
func dockerdArgs() []string {
	return []string{
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

func (a *agent) newDockerd() *service {
	return newService("dockerd", a.procs, a.log, func() (*exec.Cmd, error) {
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
