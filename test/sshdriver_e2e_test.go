//go:build e2e

package test

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/provision"
)

// TestSSHDriver makes a machine of a server tender did not make (driver
// ssh). The server is real: a tender QEMU machine, booted under another
// TENDER_HOME, reached only through its forwarded SSH port with a key made
// for the test. Its refusals come first (a wrong host key, a wrong key, a
// socket the user may not use, Docker not answering, no Docker at all),
// then init → up → docker run through shellinit, published ports on
// 127.0.0.1, cp, logs, ssh, and down and delete leaving the server's
// containers running.
func TestSSHDriver(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	bin := tenderBin(t)
	server := &cli{t: t, bin: bin, home: t.TempDir()} // the VM standing in for the server
	c := &cli{t: t, bin: bin, home: t.TempDir()}      // a laptop's tender, which knows it only as a server
	if err := os.WriteFile(filepath.Join(server.home, "config.yaml"), []byte("shares: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(c.home, "machines", "big")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(big, "hostagent.log"))
			t.Logf("hostagent.log of big:\n%s", b)
		}
		_, _ = c.tenderErr("down", "big")
		_, _ = server.tenderErr("poweroff")
	})
	server.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
	server.tender("up")
	// The server machine's own host agent would forward its containers'
	// ports to this host's 127.0.0.1 too, before big's could: a server
	// reached over SSH has none. Nothing is published yet, so stopping it
	// leaves no forward behind.
	serverAgent := readPIDFile(t, filepath.Join(server.home, "machines", "default", "hostagent.pid"))
	if err := syscall.Kill(serverAgent, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the server machine's host agent to stop", func() bool { return !alive(serverAgent) })
	server.bash(`eval "$(tender shellinit)"; ./scripts/busybox-image.sh >/dev/null`)
	onServer := func(cmd string) string {
		t.Helper()
		return server.tender("ssh", "--", cmd)
	}

	// The test's own key, authorized on the server; a second one is not.
	keys := t.TempDir()
	writeKey := func(name string) (string, string) {
		k, err := provision.NewSSHKey("test@" + name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(keys, name)
		if err := os.WriteFile(path, k.PrivatePEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, strings.TrimSpace(string(k.Public))
	}
	key, pub := writeKey("id_test")
	otherKey, _ := writeKey("id_other")
	onServer(fmt.Sprintf("echo '%s' >> ~/.ssh/authorized_keys", pub))
	sshPort := strconv.Itoa(runtimeOf(t, filepath.Join(server.home, "machines", "default")).SSHPort)
	hostKeyLine, err := os.ReadFile(filepath.Join(server.home, "machines", "default", "ssh_host_ed25519_key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey(hostKeyLine)
	if err != nil {
		t.Fatal(err)
	}
	fp := ssh.FingerprintSHA256(hk)
	initArgs := func(key string, extra ...string) []string {
		return append([]string{"init", "--driver", "ssh", "--ssh-host", "docker@127.0.0.1", "--ssh-port", sshPort, "--ssh-key", key}, extra...)
	}

	// Refusals: one line each, and no machine left behind.
	refused := func(what string, args []string, want ...string) {
		t.Helper()
		out, err := c.tenderErr(append(args, "big")...)
		if err == nil {
			t.Fatalf("%s: init succeeded:\n%s", what, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: init said %q, want it to say %q", what, out, w)
			}
		}
		if lines := strings.Count(strings.TrimSpace(out), "\n"); lines > 1 {
			t.Errorf("%s: init said more than a line or two:\n%s", what, out)
		}
		if _, err := os.Stat(big); err == nil {
			t.Errorf("%s: a failed init left %s behind", what, big)
		}
	}
	refused("no host key given, no terminal", initArgs(key), fp, "--ssh-host-key "+fp)
	refused("a wrong host key", initArgs(key, "--ssh-host-key", "SHA256:"+strings.Repeat("A", 43)), "host key mismatch", fp)
	refused("a key the server does not know", initArgs(otherKey, "--ssh-host-key", fp), "refused the key", "authorized_keys")
	onServer("sudo chmod 600 /var/run/docker.sock")
	refused("a socket the user may not use", initArgs(key, "--ssh-host-key", fp), "may not use /var/run/docker.sock", "usermod -aG docker docker")
	onServer("sudo chmod 660 /var/run/docker.sock")
	signalDockerd := func(sig string) {
		t.Helper()
		onServer(`sudo sh -c 'for d in /proc/[0-9]*; do [ "$(cat $d/comm 2>/dev/null)" = dockerd ] && kill -` + sig + ` ${d#/proc/}; done; true'`)
	}
	signalDockerd("STOP")
	refused("Docker stopped", initArgs(key, "--ssh-host-key", fp), "does not answer on /var/run/docker.sock")
	signalDockerd("CONT")
	onServer("sudo mv /var/run/docker.sock /var/run/docker.sock.away && sudo mv /usr/bin/docker /usr/bin/docker.away")
	refused("no Docker", initArgs(key, "--ssh-host-key", fp), "has no Docker", "--install-docker")
	refused("no Docker, and no package manager to install it", initArgs(key, "--ssh-host-key", fp, "--install-docker"), "neither apt-get nor dnf")
	onServer("sudo mv /var/run/docker.sock.away /var/run/docker.sock && sudo mv /usr/bin/docker.away /usr/bin/docker")
	t.Log("PASS refusals: host key unconfirmed or wrong, key refused, socket denied, Docker stopped or missing")

	// init with the fingerprint pinned; the host key file is what is pinned.
	c.tender(initArgs(key, "--ssh-host-key", fp, "big")...)
	if got := strings.TrimSpace(c.status("big")); got != "stopped" {
		t.Errorf("status after init = %q, want stopped", got)
	}
	c.tender("up", "big")
	if got := strings.TrimSpace(c.status("big")); got != "running" {
		t.Errorf("status after up = %q, want running", got)
	}
	if got := c.tender("info", "big", "--format", "{{.Server}} {{.SSHPort}} {{.Driver}}"); got != "docker@127.0.0.1 "+sshPort+" ssh\n" {
		t.Errorf("info big = %q, want the server, its port and driver ssh", got)
	}
	if got := c.tender("ls", "--format", "{{.Name}} {{.Driver}} {{.State}}"); got != "big ssh running\n" {
		t.Errorf("ls = %q", got)
	}
	env := c.tender("shellinit", "big")
	if !strings.Contains(env, "DOCKER_HOST='tcp://127.0.0.1:") || !strings.Contains(env, "DOCKER_TLS_VERIFY") {
		t.Errorf("shellinit big =\n%s\nwant a TLS DOCKER_HOST on 127.0.0.1", env)
	}
	docker := func(script string) string {
		t.Helper()
		return c.bash(`eval "$(tender shellinit big)"` + "\n" + script)
	}

	// The TLS port wants tender's client certificate.
	dockerPort := runtimeOf(t, big).DockerPort
	assertLoopbackOnly(t, dockerPort)
	if err := tlsGet(dockerPort, &tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Errorf("the docker port %d answered a client without a certificate", dockerPort)
	}

	// A container started through shellinit runs on the server.
	p := testfakes.FreeTCPPort(t)
	id := strings.TrimSpace(docker(fmt.Sprintf(`docker run -d --name web -p %d:80 busybox sh -c 'mkdir /w; echo hello > /w/index.html; exec httpd -f -p 80 -h /w'`, p)))
	if got := onServer("docker ps -q --no-trunc --filter name=web"); !strings.Contains(got, id) {
		t.Fatalf("the container %s is not on the server: docker ps there says %q", id, got)
	}
	took := waitUntil(t, 10*time.Second, fmt.Sprintf("127.0.0.1:%d to answer", p), func() bool { return httpGet(p) == "hello\n" })
	t.Logf("PASS container on the server, -p %d on 127.0.0.1 %s after docker run", p, took.Round(time.Millisecond))
	assertLoopbackOnly(t, p)
	if out := c.tender("ports", "big"); !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", p)) || !strings.Contains(out, "forwarded") {
		t.Errorf("tender ports big =\n%s\nwant 127.0.0.1:%d forwarded", out, p)
	}
	// The machine's docker.sock reaches the same Docker.
	if out := c.bash(fmt.Sprintf(`DOCKER_HOST=unix://%s/docker.sock docker ps -q --no-trunc`, big)); !strings.Contains(out, id) {
		t.Errorf("docker ps over docker.sock = %q, want %s", out, id)
	}

	// cp, ssh -- CMD and logs.
	local := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(local, []byte("from the laptop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.tender("cp", local, "big:/tmp/note.txt")
	if got := c.tender("ssh", "big", "--", "cat /tmp/note.txt"); got != "from the laptop\n" {
		t.Errorf("ssh big -- cat = %q after cp", got)
	}
	if got, want := c.tender("ssh", "big", "--", "hostname"), onServer("hostname"); got != want {
		t.Errorf("ssh big -- hostname = %q, the server's is %q", got, want)
	}
	if out := c.tender("logs", "big"); !strings.Contains(out, `host agent for machine "big"`) {
		t.Errorf("logs big =\n%s\nwant the host agent's log", out)
	}
	t.Log("PASS cp, ssh -- CMD, logs")

	// Verbs that make no sense for a server say so.
	for _, verb := range [][]string{{"save", "big"}, {"reset", "big"}, {"poweroff", "big"}, {"upgrade", "big"}} {
		out, err := c.tenderErr(verb...)
		if err == nil || !strings.Contains(out, "does not apply to machine \"big\"") {
			t.Errorf("tender %s: %v %q, want a refusal", strings.Join(verb, " "), err, out)
		}
	}

	// A lost connection comes back: the server drops every SSH connection
	// of the user (this command's own last: its processes are the newest).
	_, _ = server.tenderErr("ssh", "--", `sudo sh -c 'trap "" HUP PIPE; for d in /proc/[0-9]*; do tr "\0" " " <$d/cmdline 2>/dev/null | grep -q "^sshd.*docker@" && kill ${d#/proc/}; done'`)
	waitUntil(t, 20*time.Second, "the host agent to notice the cut", func() bool {
		b, _ := os.ReadFile(filepath.Join(big, "hostagent.log"))
		return strings.Contains(string(b), "lost the guest")
	})
	took = waitUntil(t, 30*time.Second, "the forward to answer again after the connection was cut", func() bool { return httpGet(p) == "hello\n" })
	t.Logf("PASS connection re-made; the forward answered again %s after the cut was noticed", took.Round(time.Millisecond))

	// The server disappears mid-session (its QEMU stopped): status says
	// unreachable, docker and up each say why in one line, and nothing is
	// lost when it comes back.
	qemu := qemuPids(filepath.Join(server.home, "machines", "default"))
	if len(qemu) != 1 {
		t.Fatalf("the server's QEMU: pids %v", qemu)
	}
	if err := syscall.Kill(qemu[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(qemu[0], syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	waitUntil(t, 60*time.Second, "status to say unreachable", func() bool {
		out, _ := c.tenderErr("status", "big")
		return strings.TrimSpace(out) == "unreachable"
	})
	out, err := c.bashErr(`DOCKER_HOST=unix://` + big + `/docker.sock docker ps`)
	if err == nil || !strings.Contains(out, "tender: the machine's Docker cannot be reached") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("docker ps with the server gone: %v\n%s\nwant one line saying why", err, out)
	}
	out, err = c.tenderErr("up", "big")
	if err == nil || !strings.Contains(out, "cannot reach the server docker@127.0.0.1") {
		t.Errorf("up with the server gone: %v\n%s", err, out)
	}
	resume()
	took = waitUntil(t, 60*time.Second, "status running again", func() bool {
		out, _ := c.tenderErr("status", "big")
		return strings.TrimSpace(out) == "running"
	})
	waitUntil(t, 10*time.Second, "the forward to answer again", func() bool { return httpGet(p) == "hello\n" })
	if got := strings.TrimSpace(docker("docker ps -q --no-trunc --filter name=web")); got != id {
		t.Errorf("after the server came back, docker ps = %q, want %s", got, id)
	}
	t.Logf("PASS server gone: unreachable, one line from docker and up; back and running %s after SIGCONT", took.Round(time.Millisecond))

	// down stops tender's side only; delete forgets the server.
	c.tender("down", "big")
	if got := strings.TrimSpace(c.status("big")); got != "stopped" {
		t.Errorf("status after down = %q, want stopped", got)
	}
	if tcpOpen(p) || tcpOpen(dockerPort) {
		t.Errorf("after down, 127.0.0.1:%d or the docker port %d still answers", p, dockerPort)
		for _, pid := range tenderPids(bin) {
			syscall.Kill(pid, syscall.SIGQUIT) // its goroutines, into hostagent.log
			t.Logf("a tender process still runs: %d", pid)
		}
		time.Sleep(time.Second)
		b, _ := os.ReadFile(filepath.Join(big, "hostagent.log"))
		t.Logf("hostagent.log:\n%s", b)
	}
	if got := onServer("docker inspect -f '{{.State.Running}}' web"); strings.TrimSpace(got) != "true" {
		t.Errorf("after down, the server's container runs = %q", got)
	}
	c.tender("delete", "-f", "big")
	if _, err := os.Stat(big); err == nil {
		t.Errorf("delete left %s", big)
	}
	if got := onServer("docker inspect -f '{{.State.Running}}' web"); strings.TrimSpace(got) != "true" {
		t.Errorf("after delete, the server's container runs = %q", got)
	}
	t.Log("PASS down and delete leave the server's containers running")
}
