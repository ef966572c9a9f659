//go:build e2e

package test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/portwatch"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/test/vmtest"
	"golang.org/x/crypto/ssh"
)

// TestImage boots the ISO on a fresh data disk, checks the guest contract
// over TLS and SSH, then reboots through the power button on the same disk
// and checks that everything persisted without a reformat.
func TestImage(t *testing.T) {
	iso := vmtest.ISO(t)
	id := vmtest.NewIdentity(t)
	disk := id.NewDisk(t, 2<<30)
	vm := vmtest.Boot(t, vmtest.Options{ISO: iso, Disk: disk, Identity: id, Forward: []int{8080}})
	ready := time.Now()
	t.Logf("first boot ready after %s", time.Since(vm.Started).Round(100*time.Millisecond))
	logPhases(t, vm.Serial())

	t.Run("guest memory 10 s after ready", func(t *testing.T) {
		time.Sleep(time.Until(ready.Add(10 * time.Second)))
		out, err := vm.Run("cat /proc/meminfo")
		if err != nil {
			t.Fatal(err)
		}
		total, avail := meminfo(out, "MemTotal"), meminfo(out, "MemAvailable")
		t.Logf("guest memory used (MemTotal - MemAvailable): %d MiB (target ≤ 128 MiB)", (total-avail)/1024)
	})

	docker := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := vm.Docker(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	t.Run("docker version over TLS", func(t *testing.T) {
		out := docker(t, "version", "--format", "{{.Server.Version}}")
		if !strings.HasPrefix(strings.TrimSpace(out), "26.") {
			t.Errorf("server version = %q, want 26.x", out)
		}
	})
	t.Run("busybox runs", func(t *testing.T) {
		if err := vm.ImportBusybox(); err != nil {
			t.Fatal(err)
		}
		if out := docker(t, "run", "--rm", "busybox", "echo", "hello world"); strings.TrimSpace(out) != "hello world" {
			t.Errorf("docker run printed %q", out)
		}
	})
	t.Run("agent restart-docker", func(t *testing.T) {
		began := time.Now()
		if out, err := vm.Run(provision.AgentCommandLine(api.RestartDocker())); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Logf("dockerd restarted and answering after %s", time.Since(began).Round(100*time.Millisecond))
		docker(t, "version")
	})
	t.Run("published port answers through hostfwd", func(t *testing.T) {
		docker(t, "run", "-d", "--name", "web", "-p", "8080:80", "busybox", "httpd", "-f", "-p", "80")
		url := fmt.Sprintf("http://127.0.0.1:%d/etc/passwd", vm.Ports[8080])
		body, err := httpGetRetry(url, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "root:x:0:0") {
			t.Errorf("GET %s = %q, want the image's /etc/passwd", url, body)
		}
	})
	t.Run("client without a cert is refused", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(id.CA.CertPEM)
		err := tlsGet(vm.DockerPort, &tls.Config{RootCAs: pool})
		if err == nil {
			t.Fatal("dockerd answered a client without a certificate")
		}
		t.Logf("refused: %v", err)
		// And the docker CLI says so too.
		cmd := exec.Command("docker", "version")
		cmd.Env = append(withoutDockerEnv(), "DOCKER_HOST=tcp://127.0.0.1:"+strconv.Itoa(vm.DockerPort), "DOCKER_TLS_VERIFY=", "DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err == nil && strings.Contains(string(out), "Server:") && !strings.Contains(string(out), "error") {
			t.Errorf("docker CLI without certs got in:\n%s", out)
		}
	})
	t.Run("client cert from another CA is refused", func(t *testing.T) {
		other, err := provision.NewCA("other-ca")
		if err != nil {
			t.Fatal(err)
		}
		kp, err := other.IssueClient("intruder")
		if err != nil {
			t.Fatal(err)
		}
		cert, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(id.CA.CertPEM)
		if err := tlsGet(vm.DockerPort, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}); err == nil {
			t.Fatal("dockerd answered a client whose cert another CA signed")
		} else {
			t.Logf("refused: %v", err)
		}
		// The docker CLI with that cert, against the right CA, fails too.
		dir := t.TempDir()
		for name, data := range map[string][]byte{"ca.pem": id.CA.CertPEM, "cert.pem": kp.CertPEM, "key.pem": kp.KeyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("docker", "version", "--format", "{{.Server.Version}}")
		cmd.Env = append(withoutDockerEnv(), "DOCKER_HOST=tcp://127.0.0.1:"+strconv.Itoa(vm.DockerPort), "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH="+dir, "DOCKER_CONFIG="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("docker CLI with a foreign cert got in: %s", out)
		}
	})
	t.Run("no guest listener below TLS 1.2 or without authentication", func(t *testing.T) {
		// dockerd's TLS: the right client certificate over TLS 1.1 is
		// refused; over 1.2 it gets in.
		cert, err := tls.X509KeyPair(id.Client.CertPEM, id.Client.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(id.CA.CertPEM)
		old := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
		if err := tlsGet(vm.DockerPort, old); err == nil {
			t.Error("dockerd answered over TLS 1.1")
		}
		if err := tlsGet(vm.DockerPort, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12}); err != nil {
			t.Errorf("dockerd over TLS 1.2 with the client certificate: %v", err)
		}
		// Every socket listening in the guest's own network namespace on
		// anything but loopback is sshd (keys only, tested below) or
		// dockerd's TLS port (tested above), or a port a container
		// published; UDP: the DHCP client.
		allowed := map[string]bool{"tcp/22": true, "tcp/2376": true, "tcp/8080": true, "udp/68": true}
		for _, table := range []string{"tcp", "tcp6", "udp", "udp6"} {
			text, err := vm.Run("cat /proc/net/" + table)
			if err != nil {
				t.Fatal(err)
			}
			socks, err := portwatch.ParseProcNet(strings.NewReader(text))
			if err != nil {
				t.Fatalf("/proc/net/%s: %v", table, err)
			}
			proto := strings.TrimSuffix(table, "6")
			for _, s := range socks {
				listening := s.State == 0x0A || (proto == "udp" && s.RemotePort == 0)
				if !listening || s.Local.IsLoopback() {
					continue
				}
				if key := fmt.Sprintf("%s/%d", proto, s.LocalPort); !allowed[key] {
					t.Errorf("the guest listens on %s %s:%d, which nothing here authenticates", table, s.Local, s.LocalPort)
				}
			}
		}
	})
	t.Run("ssh as docker with the key", func(t *testing.T) {
		out, err := vm.Run("id -un; id -Gn; sudo -n true && echo sudo-ok")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Fields(out)
		if len(lines) == 0 || lines[0] != "docker" || !strings.Contains(out, "sudo-ok") || !containsWord(out, "docker", 2) {
			t.Errorf("ssh session printed %q, want user docker in group docker with sudo", out)
		}
	})
	t.Run("ssh password refused", func(t *testing.T) {
		_, err := vm.SSH("docker", ssh.Password("docker"), ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"docker"}, nil
		}))
		if err == nil {
			t.Fatal("password login accepted")
		}
	})
	t.Run("ssh root refused", func(t *testing.T) {
		signer, _ := ssh.ParsePrivateKey(id.SSHKey.PrivatePEM)
		if _, err := vm.SSH("root", ssh.PublicKeys(signer), ssh.Password("root")); err == nil {
			t.Fatal("root login accepted")
		}
	})
	t.Run("ssh host key is the userdata one", func(t *testing.T) {
		var served ssh.PublicKey
		_, _ = ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(vm.SSHPort), &ssh.ClientConfig{
			User: "nobody", Timeout: 30 * time.Second,
			HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error { served = key; return nil },
		})
		if served == nil || !bytes.Equal(served.Marshal(), id.HostKey.Marshal()) {
			t.Errorf("served host key %v, want the userdata one", served)
		}
	})
	// State that must survive the reboot.
	docker(t, "volume", "create", "kept")
	docker(t, "run", "--rm", "-v", "kept:/data", "busybox", "sh", "-c", "echo kept-data > /data/file")
	docker(t, "run", "--name", "stopped", "busybox", "true")
	if _, err := vm.Run("sudo -n sh -c 'echo first-boot > /var/lib/tender/marker'"); err != nil {
		t.Fatal(err)
	}

	t.Run("power button shuts down within 15 s", func(t *testing.T) {
		pressed := time.Now()
		if err := vm.PowerButton(); err != nil {
			t.Fatal(err)
		}
		if err := vm.WaitExit(15 * time.Second); err != nil {
			t.Fatalf("after the power button: %v", err)
		}
		t.Logf("QEMU exited %s after the power button", time.Since(pressed).Round(100*time.Millisecond))
		if !strings.Contains(vm.Serial(), "power off") {
			t.Errorf("console does not show a clean power-off")
		}
	})
	if t.Failed() {
		vm.Kill()
	}

	vm2 := vmtest.Boot(t, vmtest.Options{ISO: iso, Disk: disk, Identity: id})
	t.Logf("second boot ready after %s", time.Since(vm2.Started).Round(100*time.Millisecond))
	logPhases(t, vm2.Serial())
	t.Run("reboot keeps data without reformatting", func(t *testing.T) {
		if s := vm2.Serial(); strings.Contains(s, "formatting") {
			t.Errorf("second boot formatted the disk:\n%s", s)
		}
		if out, err := vm2.Run("cat /var/lib/tender/marker"); err != nil || strings.TrimSpace(out) != "first-boot" {
			t.Errorf("marker = %q, %v", out, err)
		}
		if out, err := vm2.Docker("image", "inspect", "--format", "{{.Id}}", "busybox:latest"); err != nil {
			t.Errorf("busybox image lost: %v", err)
		} else {
			t.Logf("busybox image %s", strings.TrimSpace(out))
		}
		if out, err := vm2.Docker("run", "--rm", "-v", "kept:/data", "busybox", "cat", "/data/file"); err != nil || strings.TrimSpace(out) != "kept-data" {
			t.Errorf("volume file = %q, %v", out, err)
		}
		if out, err := vm2.Docker("inspect", "--format", "{{.State.Status}}", "stopped"); err != nil || strings.TrimSpace(out) != "exited" {
			t.Errorf("stopped container = %q, %v", out, err)
		}
	})
	// dockerd's own iptables, on a boot after the first (when dockerd finds
	// its networks in its store): stock Docker's isolation between bridge
	// networks, a container reaching out, and the DOCKER-USER chain.
	t.Run("bridge networks are isolated from each other", func(t *testing.T) {
		for _, n := range []string{"iso-a", "iso-b"} {
			if out, err := vm2.Docker("network", "create", n); err != nil {
				t.Fatalf("network create %s: %v %s", n, err, out)
			}
		}
		if out, err := vm2.Docker("run", "-d", "--name", "iso-web", "--network", "iso-a", "busybox",
			"sh", "-c", "mkdir -p /w && echo hi > /w/index.html && exec httpd -f -p 80 -h /w"); err != nil {
			t.Fatalf("run iso-web: %v %s", err, out)
		}
		out, err := vm2.Docker("inspect", "--format", `{{(index .NetworkSettings.Networks "iso-a").IPAddress}}`, "iso-web")
		ip := strings.TrimSpace(out)
		if err != nil || net.ParseIP(ip) == nil {
			t.Fatalf("iso-web's address: %q %v", out, err)
		}
		// (timeout, not wget -T: Debian's busybox 1.35 wget crashes on -T.)
		// The same network reaches it (so that the next check can fail
		// for the right reason only)…
		if out, err := vm2.Docker("run", "--rm", "--network", "iso-a", "busybox", "timeout", "5", "wget", "-qO-", "http://"+ip+"/"); err != nil || strings.TrimSpace(out) != "hi" {
			t.Fatalf("from iso-a: %q %v", out, err)
		}
		// …another one does not.
		if out, err := vm2.Docker("run", "--rm", "--network", "iso-b", "busybox", "timeout", "5", "wget", "-qO-", "http://"+ip+"/"); err == nil {
			t.Errorf("a container on iso-b reached iso-web on iso-a: %q", out)
		}
		if out, err := vm2.Docker("run", "--rm", "--network", "iso-b", "busybox", "timeout", "5", "wget", "-qO-", "http://10.0.2.2:1/"); err != nil && !strings.Contains(out, "refused") {
			t.Errorf("a container on iso-b cannot reach the host (10.0.2.2): %q %v", out, err)
		}
		if out, err := vm2.Run("sudo -n iptables -w -S DOCKER-USER"); err != nil || !strings.Contains(out, "-N DOCKER-USER") {
			t.Errorf("no DOCKER-USER chain: %q %v", out, err)
		}
		_, _ = vm2.Docker("rm", "-f", "iso-web")
	})
	t.Run("agent poweroff", func(t *testing.T) {
		if _, err := vm2.Run(provision.AgentCommandLine(api.Poweroff())); err != nil && !strings.Contains(err.Error(), "exit") {
			t.Logf("ssh session ended with: %v", err)
		}
		if err := vm2.WaitExit(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBadDisk boots with a disk holding neither the userdata tar nor the
// tender-data label: the agent must say why and leave every byte alone.
func TestBadDisk(t *testing.T) {
	iso := vmtest.ISO(t)
	disk := filepath.Join(t.TempDir(), "precious.raw")
	data := make([]byte, 8<<20)
	copy(data, "precious data: someone's disk, not tender's\n")
	if _, err := rand.Read(data[4096:]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(disk, data, 0o644); err != nil {
		t.Fatal(err)
	}
	before := sha256.Sum256(data)

	vm := vmtest.Start(t, vmtest.Options{ISO: iso, Disk: disk})
	if err := vm.WaitSerial("not a tender data disk", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	line := grepLine(vm.Serial(), "not a tender data disk")
	t.Logf("console: %s", line)
	if !strings.Contains(line, "never formatted") || !strings.Contains(line, "unknown data") {
		t.Errorf("console line %q does not say the disk is left alone and why", line)
	}
	// Let the agent go on for a moment, then power off and compare.
	if err := vm.WaitSerial("sshd and dockerd are not started", time.Minute); err != nil {
		t.Error(err)
	}
	if err := vm.PowerButton(); err != nil {
		t.Fatal(err)
	}
	if err := vm.WaitExit(15 * time.Second); err != nil {
		t.Errorf("power button with no data disk: %v", err)
		vm.Kill()
	}
	after, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(after) != before || len(after) != len(data) {
		t.Fatal("the foreign disk was modified")
	}
}

func httpGetRetry(url string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("status %s, %v", resp.Status, rerr)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("GET %s: %w", url, err)
		}
		time.Sleep(time.Second)
	}
}

// tlsGet asks dockerd for /_ping with cfg; nil means it answered.
func tlsGet(port int, cfg *tls.Config) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/_ping", port))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return nil
}

func withoutDockerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return env
}

func containsWord(s, word string, atLeast int) bool {
	n := 0
	for _, f := range strings.Fields(s) {
		if f == word {
			n++
		}
	}
	return n >= atLeast
}

func meminfo(text, key string) int {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, key+":") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

func grepLine(text, substr string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func logPhases(t *testing.T, serial string) {
	t.Helper()
	var phases []string
	for _, l := range strings.Split(serial, "\n") {
		if ev, ok := api.ParseConsoleLine(l); ok && ev.Kind == api.ConsolePhase {
			phases = append(phases, fmt.Sprintf("%s %.2f", ev.Phase, ev.Seconds))
		}
	}
	t.Logf("phases (guest uptime): %s", strings.Join(phases, ", "))
}
