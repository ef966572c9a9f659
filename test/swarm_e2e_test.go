//go:build e2e

package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
)

// tenderNetBin builds the network switch beside the tender binary bin, where
// tender looks for it.
func tenderNetBin(t *testing.T, bin string) {
	t.Helper()
	out, err := exec.Command("go", "build", "-o", filepath.Join(filepath.Dir(bin), "tender-net"), "../cmd/tender-net").CombinedOutput()
	if err != nil {
		t.Fatalf("building tender-net: %v\n%s", err, out)
	}
}

// eventually runs check every second until it returns nil or limit passes,
// then fails the test with its last error.
func eventually(t *testing.T, what string, limit time.Duration, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(time.Second) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: not within %s: %v", what, limit, err)
}

// TestSwarm is the user story of [swarm]: two machines on one network,
// joined as a Docker Swarm with `tender swarm init`, a replicated service
// with a published port reached from the host through the routing mesh,
// names between machines, the switch killed and revived, a node down and
// up again, and a node deleted.
func TestSwarm(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	bin := tenderBin(t)
	tenderNetBin(t, bin)
	c := &cli{t: t, bin: bin, home: t.TempDir()}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"n1", "n2"} {
				log, _ := os.ReadFile(filepath.Join(c.home, "machines", n, "serial.log"))
				t.Logf("%s serial.log (tail):\n%s", n, tail(string(log), 3000))
				log, _ = os.ReadFile(filepath.Join(c.home, "machines", n, "hostagent.log"))
				t.Logf("%s hostagent.log (tail):\n%s", n, tail(string(log), 3000))
			}
			log, _ := os.ReadFile(filepath.Join(c.home, "networks", "lab", "switch.log"))
			t.Logf("switch.log (tail):\n%s", tail(string(log), 3000))
		}
		_, _ = c.tenderErr("poweroff", "n1")
		_, _ = c.tenderErr("poweroff", "n2")
	})
	sh := func(machine, script string) string {
		t.Helper()
		return c.bash(`eval "$(tender shellinit ` + machine + `)"` + "\n" + script)
	}

	// 1. Two machines on network "lab", made on first use.
	for _, n := range []string{"n1", "n2"} {
		c.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB", "--network", "lab", n)
	}
	if out := c.tender("network", "ls", "--format", "{{.Name}} {{.Subnet}} {{.Machines}} {{.Switch}}"); out != "lab 192.168.127.0/24 [n1 n2] stopped\n" {
		t.Fatalf("network ls = %q", out)
	}
	if out := c.tender("ls", "--format", "{{.Name}} {{.Network}}"); out != "n1 lab\nn2 lab\n" {
		t.Fatalf("ls = %q", out)
	}
	addr := func(machine string) string {
		var info struct {
			Networks []struct{ Name, Address, MAC string } `json:"networks"`
		}
		if err := json.Unmarshal([]byte(c.tender("info", machine)), &info); err != nil || len(info.Networks) != 1 {
			t.Fatalf("info %s networks: %+v %v", machine, info.Networks, err)
		}
		return info.Networks[0].Address
	}
	n2Addr := addr("n2")

	// 2. swarm init starts what is stopped: n2 boots beside it (two boots
	// at once, one per core), n1 is started by swarm init itself.
	up2 := exec.Command(bin, "up", "n2")
	up2.Env = c.env()
	if err := up2.Start(); err != nil {
		t.Fatal(err)
	}
	out := c.tender("swarm", "init", "n1", "n2")
	if err := up2.Wait(); err != nil {
		t.Fatalf("up n2: %v", err)
	}
	if !strings.Contains(out, "n1: manager on 192.168.127.2") || !strings.Contains(out, "n2: worker on "+n2Addr) {
		t.Fatalf("swarm init printed %q", out)
	}
	if out := c.tender("network", "ls", "--format", "{{.Switch}}"); out != "running\n" {
		t.Fatalf("switch after up: %q", out)
	}
	nodesReady := func(want int) func() error {
		return func() error {
			out, err := c.bashErr(`eval "$(tender shellinit n1)"; docker node ls --format '{{.Hostname}} {{.Status}}'`)
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			if n := strings.Count(out, " Ready"); n != want || strings.Count(strings.TrimSpace(out), "\n")+1 != want {
				return fmt.Errorf("docker node ls:\n%s", out)
			}
			return nil
		}
	}
	eventually(t, "2 nodes Ready", 60*time.Second, nodesReady(2))

	// 3. Names between machines, through the switch's DNS: n2 and
	// n2.tender.internal from n1, as the guest's resolver (glibc's, the
	// search domain for the short name) looks them up, and n2 answering.
	for _, name := range []string{"n2", "n2.tender.internal"} {
		out, err := c.tenderErr("ssh", "n1", "--", "sudo ping -c 1 -W 5 "+name)
		if err != nil || !strings.Contains(out, "("+n2Addr+")") {
			t.Fatalf("ping %s on n1: %q %v", name, out, err)
		}
	}
	sh("n1", "./scripts/busybox-image.sh")
	c.bash(`docker_n1() { (eval "$(tender shellinit n1)"; docker "$@"); }
docker_n2() { (eval "$(tender shellinit n2)"; docker "$@"); }
docker_n1 save busybox:latest | docker_n2 load >/dev/null`)

	// 4. An overlay network and a service of 2 replicas (the scheduler
	// spreads them, one per node), published on a free host port: the routing mesh answers on 127.0.0.1.
	port := testfakes.FreeTCPPort(t)
	sh("n1", `docker network create -d overlay --attachable web-net >/dev/null
docker service create --detach --name web --replicas 2 --network web-net -p `+strconv.Itoa(port)+`:80 busybox \
  sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null`)
	running := func(want string) func() error {
		return func() error {
			out, err := c.bashErr(`eval "$(tender shellinit n1)"; docker service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' | sort`)
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			var nodes []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Fields(l)
				if len(f) < 2 || f[1] != "Running" {
					return fmt.Errorf("tasks:\n%s", out)
				}
				nodes = append(nodes, f[0])
			}
			if got := strings.Join(nodes, " "); got != want {
				return fmt.Errorf("tasks run on %q, want %q:\n%s", got, want, out)
			}
			return nil
		}
	}
	eventually(t, "one task on each node", 120*time.Second, running("tender-n1 tender-n2"))
	get := func() error {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(strings.TrimSpace(string(b))) == 0 {
			return fmt.Errorf("%s: %q", resp.Status, b)
		}
		return nil
	}
	eventually(t, "the published port answering on 127.0.0.1", 60*time.Second, get)
	// A container on n2 reaches the service by name over the overlay.
	eventually(t, "the service by name from n2", 30*time.Second, func() error {
		// timeout, not wget -T: Debian's busybox 1.35 wget crashes on -T.
		out, err := c.bashErr(`eval "$(tender shellinit n2)"; docker run --rm --network web-net busybox timeout 5 wget -qO- http://web/`)
		if err != nil || strings.TrimSpace(out) == "" {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})

	// 5. The switch killed: a new one comes back (the host agents watch it)
	// and traffic between the machines resumes without a reboot.
	pidFile := filepath.Join(c.home, "networks", "lab", "switch.pid")
	oldPID := readPIDFile(t, pidFile)
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new switch", 30*time.Second, func() error {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return err
		}
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid == oldPID || pid == 0 {
			return fmt.Errorf("pid file still says %s", b)
		}
		return nil
	})
	eventually(t, "n1 reaching n2 after the switch came back", 30*time.Second, func() error {
		out, err := c.bashErr(`eval "$(tender shellinit n1)"; docker run --rm --network host busybox ping -c 1 -W 2 ` + n2Addr)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	eventually(t, "2 nodes Ready after the switch came back", 60*time.Second, nodesReady(2))

	// 6. n2 down: the service converges on n1 within 60 s and still
	// answers; n2 up: Ready again, at the same address.
	c.tender("down", "n2")
	eventually(t, "the service on n1 alone", 60*time.Second, running("tender-n1 tender-n1"))
	eventually(t, "the published port answering with n2 down", 30*time.Second, get)
	c.tender("up", "n2")
	if got := addr("n2"); got != n2Addr {
		t.Fatalf("n2's address went from %s to %s", n2Addr, got)
	}
	eventually(t, "n2 Ready again", 60*time.Second, nodesReady(2))
	if out := c.tender("ssh", "n2", "--", "busybox ip -4 addr show eth1"); !strings.Contains(out, n2Addr+"/") {
		t.Fatalf("n2's eth1 after up: %q, want %s", out, n2Addr)
	}

	// 7. delete n2: it leaves the swarm, and the network keeps n1 only.
	c.tender("delete", "-f", "n2")
	eventually(t, "1 node after delete", 60*time.Second, nodesReady(1))
	if out := c.tender("network", "ls", "--format", "{{.Machines}}"); out != "[n1]\n" {
		t.Fatalf("network ls after delete: %q", out)
	}
	if _, err := c.tenderErr("network", "rm", "lab"); err == nil {
		t.Fatal("network rm removed a network n1 is on")
	}

	// 8. The last down stops the switch.
	c.tender("down", "n1")
	if out := c.tender("network", "ls", "--format", "{{.Switch}}"); out != "stopped\n" {
		t.Fatalf("switch after the last down: %q", out)
	}
	if err := syscall.Kill(oldPID, 0); err == nil {
		t.Fatalf("the killed switch %d still runs", oldPID)
	}
}

func readPIDFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("%s: %q", path, b)
	}
	return pid
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
