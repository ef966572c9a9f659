//go:build e2e

package test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/disk"
)

// TestFaults runs the faults that need a real VM on one machine and three
// boots (TCG boots are slow): two `up` at once; host listeners; an expired
// client cert; disk full; a container that ignores SIGTERM during `down`;
// `down` during `up`; kill -9 of QEMU while a container writes to a named
// volume; the stored port taken. docs/RELIABILITY.md has one row per case.
func TestFaults(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	c := &cli{t: t, bin: tenderBin(t), home: filepath.Join(t.TempDir(), "home")}
	dir := filepath.Join(c.home, "machines", "default")
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "serial.log"))
			t.Logf("serial.log:\n%s", log)
		}
		_, _ = c.tenderErr("poweroff")
	})
	// A small data disk, so that filling it takes seconds.
	c.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "1GiB")

	// Boot 1: two `tender up` at once start exactly one VM, and both
	// report it running.
	t.Run("two ups at once", func(t *testing.T) {
		a, b := c.start("up"), c.start("up")
		outA, errA := a.wait()
		outB, errB := b.wait()
		if errA != nil || errB != nil {
			t.Fatalf("up A: %v %s\nup B: %v %s", errA, outA, errB, outB)
		}
		both := outA + outB
		if strings.Count(both, "is running; Docker answered") != 1 || strings.Count(both, "is already running") != 1 {
			t.Fatalf("want one up to boot and one to find it running:\nA: %s\nB: %s", outA, outB)
		}
		if pids := qemuPids(dir); len(pids) != 1 {
			t.Fatalf("%d QEMU processes for the machine: %v", len(pids), pids)
		}
		if got := c.status(); got != "running\n" {
			t.Fatalf("status = %q", got)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("host listeners on loopback only", func(t *testing.T) {
		rt := runtimeOf(t, dir)
		socks := listeningSockets(t)
		inodes := map[string]bool{}
		pids := qemuPids(dir)
		pids = append(pids, tenderPids(c.bin)...)
		for _, pid := range pids {
			for ino := range socketInodes(pid) {
				inodes[ino] = true
			}
		}
		seen := map[int]bool{}
		for _, s := range socks {
			if !inodes[s.inode] {
				continue
			}
			seen[s.port] = true
			if s.ip != "127.0.0.1" && s.ip != "::1" {
				t.Errorf("a listener of tender or QEMU is on %s:%d, not on loopback", s.ip, s.port)
			}
		}
		if !seen[rt.SSHPort] || !seen[rt.DockerPort] {
			t.Fatalf("the SSH (%d) and Docker (%d) ports are not among QEMU's listeners %v", rt.SSHPort, rt.DockerPort, seen)
		}
		// And nothing else on the host listens on those ports off loopback.
		for _, s := range socks {
			if (s.port == rt.SSHPort || s.port == rt.DockerPort) && s.ip != "127.0.0.1" && s.ip != "::1" {
				t.Errorf("port %d is also open on %s", s.port, s.ip)
			}
		}
	})

	c.bash(`eval "$(tender shellinit)"; ./scripts/busybox-image.sh >/dev/null`)

	t.Run("expired client cert refused", func(t *testing.T) {
		rt := runtimeOf(t, dir)
		good, err := tls.LoadX509KeyPair(filepath.Join(dir, "certs", "cert.pem"), filepath.Join(dir, "certs", "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if err := ping(rt.DockerPort, good); err != nil {
			t.Fatalf("the machine's own client cert is refused: %v", err)
		}
		expired := issueClient(t, c.home, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
		if err := ping(rt.DockerPort, expired); err == nil {
			t.Fatal("dockerd answered a client whose cert expired yesterday")
		} else {
			t.Logf("expired cert: %v", err)
		}
		notYet := issueClient(t, c.home, time.Now().Add(24*time.Hour), time.Now().Add(48*time.Hour))
		if err := ping(rt.DockerPort, notYet); err == nil {
			t.Fatal("dockerd answered a client whose cert is valid only from tomorrow")
		}
	})

	t.Run("disk full", func(t *testing.T) {
		out, err := c.bashErr(`eval "$(tender shellinit)"; docker run --rm -v fill:/data busybox dd if=/dev/zero of=/data/big bs=1M`)
		if err == nil {
			t.Fatalf("filling the disk succeeded: %s", out)
		}
		if !strings.Contains(out, "No space left on device") {
			t.Fatalf("docker did not report the full disk: %s", out)
		}
		if got := c.status(); got != "running\n" {
			t.Fatalf("status with a full disk = %q", got)
		}
		if got := c.tender("ssh", "--", "echo alive"); got != "alive\n" {
			t.Fatalf("ssh with a full disk: %q", got)
		}
		if out := c.bash(`eval "$(tender shellinit)"; docker version --format '{{.Server.Version}}'`); out == "" {
			t.Fatal("dockerd does not answer with a full disk")
		}
		c.tender("ssh", "--", "sudo rm -f /var/lib/docker/volumes/fill/_data/big")
		out = c.bash(`eval "$(tender shellinit)"; docker volume rm fill >/dev/null; docker run --rm busybox echo works again`)
		if out != "works again\n" {
			t.Fatalf("after freeing space: %q", out)
		}
	})

	t.Run("container ignoring SIGTERM does not hold down", func(t *testing.T) {
		c.bash(`eval "$(tender shellinit)"; docker run -d --name stubborn busybox sh -c 'trap "" TERM; sleep 1000' >/dev/null`)
		start := time.Now()
		c.tender("down")
		took := time.Since(start)
		// The agent gives containers 10 s (docker's stop grace) before
		// docker kills them.
		if limit := 10*time.Second + 10*time.Second; took > limit {
			t.Fatalf("down took %s, more than the grace period plus 10 s", took)
		}
		t.Logf("down took %s", took.Round(100*time.Millisecond))
		if got := c.status(); got != "stopped\n" {
			t.Fatalf("status after down = %q", got)
		}
		if pids := qemuPids(dir); len(pids) != 0 {
			t.Fatalf("QEMU still runs: %v", pids)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// Boot 2: `down` started while `up` works waits for the lock, then
	// stops the machine `up` started. The boot finds the disk clean.
	t.Run("down during up", func(t *testing.T) {
		up := c.start("up")
		waitFile(t, filepath.Join(dir, "qemu.pid"), 60*time.Second)
		down := c.start("down")
		upOut, upErr := up.wait()
		upDone := time.Now()
		downOut, downErr := down.wait()
		downDone := time.Now()
		if upErr != nil || !strings.Contains(upOut, "is running; Docker answered") {
			t.Fatalf("up: %v\n%s", upErr, upOut)
		}
		if downErr != nil || !strings.Contains(downOut, `waiting for another tender working on machine "default"`) {
			t.Fatalf("down did not wait for up: %v\n%s", downErr, downOut)
		}
		if !downDone.After(upDone) {
			t.Fatal("down finished before up")
		}
		if got := c.status(); got != "stopped\n" {
			t.Fatalf("status = %q", got)
		}
	})

	// Boot 3: kill -9 of QEMU while a container writes to a named volume,
	// after it synced a marker. The stored Docker port is taken meanwhile.
	t.Run("kill -9 while writing, then the stored port taken", func(t *testing.T) {
		c.tender("up")
		// The clean down of boot 1 (and 2) needed no fsck.
		if log := lastDiskCheck(t, c); !strings.Contains(log, "cleanly unmounted; no fsck needed") {
			t.Fatalf("the boot after a clean down checked the disk: %q", log)
		}
		c.bash(`eval "$(tender shellinit)"
docker run -d --name writer -v data:/data busybox sh -c 'echo synced > /data/marker; sync; i=0; while true; do echo $i >> /data/log; i=$((i+1)); done' >/dev/null
for i in $(seq 100); do docker exec writer cat /data/marker 2>/dev/null | grep -q synced && break; sleep 0.2; done
docker exec writer sync`)
		pid := readPid(t, filepath.Join(dir, "qemu.pid"))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(10 * time.Millisecond)
		}
		// What the next boot's agent will read: the journal must say it
		// needs replaying.
		if head := diskHead(t, filepath.Join(dir, "disk.raw")); disk.ExtClean(head) {
			t.Errorf("after kill -9 the data disk's superblock says cleanly unmounted; agent log of the killed boot:\n%s", c.tender("logs", "--agent"))
		}
		start := time.Now()
		st := c.status()
		if took := time.Since(start); took > time.Second {
			t.Errorf("status took %s after kill -9", took)
		}
		if st != "aborted\n" && st != "stopped\n" {
			t.Fatalf("status after kill -9 = %q", st)
		}

		// Another program takes the stored Docker port.
		old := runtimeOf(t, dir)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(old.DockerPort))
		if err != nil {
			t.Fatalf("taking port %d: %v", old.DockerPort, err)
		}
		defer l.Close()
		out := c.tenderAll("up")
		if !strings.Contains(out, fmt.Sprintf("port %d (docker_port) is taken by another program; picking another", old.DockerPort)) {
			t.Fatalf("up did not say it picked another port:\n%s", out)
		}
		now := runtimeOf(t, dir)
		if now.DockerPort == old.DockerPort || now.DockerPort == 0 {
			t.Fatalf("docker port %d → %d", old.DockerPort, now.DockerPort)
		}
		if env := c.tender("shellinit", "--shell", "bash"); !strings.Contains(env, fmt.Sprintf("DOCKER_HOST='tcp://127.0.0.1:%d'", now.DockerPort)) && !strings.Contains(env, fmt.Sprintf("DOCKER_HOST=tcp://127.0.0.1:%d", now.DockerPort)) {
			t.Fatalf("shellinit does not print the new port %d:\n%s", now.DockerPort, env)
		}
		// The journal did its job: the agent checked the disk, and the
		// synced data, the image and the containers are there.
		// (ext4 keeps the valid bit while mounted; the agent must look at
		// the journal's recovery flag, agent/disk.ExtClean.)
		if log := lastDiskCheck(t, c); !strings.Contains(log, "e2fsck") {
			t.Errorf("the boot after kill -9 skipped the disk check: %q\nthe agent's log:\n%s", log, c.tender("logs", "--agent"))
		}
		out = c.bash(`eval "$(tender shellinit)"
docker run --rm -v data:/data busybox cat /data/marker
docker run --rm -v data:/data busybox sh -c 'test -s /data/log && echo log-present'
docker image ls --format '{{.Repository}}'
docker ps -a --format '{{.Names}}' | sort`)
		for _, want := range []string{"synced\n", "log-present\n", "busybox\n", "stubborn\n", "writer\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("after kill -9 and a new boot, %q is missing from:\n%s", want, out)
			}
		}
	})

	c.tender("delete", "-f")
	if pids := qemuPids(dir); len(pids) != 0 {
		t.Fatalf("QEMU still runs after delete: %v", pids)
	}
}

// proc is a tender running in the background.
type proc struct {
	cmd *exec.Cmd
	out *strings.Builder
}

func (c *cli) start(args ...string) *proc {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	return &proc{cmd: cmd, out: &out}
}

func (p *proc) wait() (string, error) {
	err := p.cmd.Wait()
	return p.out.String(), err
}

// tenderAll runs tender and returns stdout and stderr together.
func (c *cli) tenderAll(args ...string) string {
	c.t.Helper()
	p := c.start(args...)
	out, err := p.wait()
	if err != nil {
		c.t.Fatalf("tender %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// bashErr is bash that may fail; it returns stdout and stderr together.
func (c *cli) bashErr(script string) (string, error) {
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = c.env()
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type runtimeFile struct {
	SSHPort    int `json:"ssh_port"`
	DockerPort int `json:"docker_port"`
}

func runtimeOf(t *testing.T, dir string) runtimeFile {
	t.Helper()
	var r runtimeFile
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitFile(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	end := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s did not appear in %s", path, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// qemuPids are the live processes whose argv names the machine's pidfile.
func qemuPids(dir string) []int {
	return pidsWhere(func(pid int, argv []string) bool {
		for _, a := range argv {
			if a == filepath.Join(dir, "qemu.pid") {
				return true
			}
		}
		return false
	})
}

// tenderPids are live processes of the tender binary under test (a host
// agent, if tender leaves one running).
func tenderPids(bin string) []int {
	return pidsWhere(func(pid int, argv []string) bool {
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		return exe == bin
	})
}

func pidsWhere(match func(int, []string) bool) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(data) == 0 {
			continue
		}
		if match(pid, strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// socketInodes are the socket inodes a process holds open.
func socketInodes(pid int) map[string]bool {
	fds, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	return inodes
}

type listener struct {
	ip    string
	port  int
	inode string
}

// listeningSockets parses /proc/net/tcp and /proc/net/tcp6 for sockets in
// state LISTEN (0A).
func listeningSockets(t *testing.T) []listener {
	t.Helper()
	var out []listener
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" {
				continue
			}
			addr, portHex, _ := strings.Cut(fields[1], ":")
			port, _ := strconv.ParseInt(portHex, 16, 32)
			out = append(out, listener{ip: procIP(addr), port: int(port), inode: fields[9]})
		}
		f.Close()
	}
	return out
}

// procIP decodes an address of /proc/net/tcp*: 32-bit words in host
// (little-endian) byte order.
func procIP(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		return h
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	return net.IP(b).String()
}

// issueClient signs a client cert with the CA of TENDER_HOME, valid only
// between from and until.
func issueClient(t *testing.T, home string, from, until time.Time) tls.Certificate {
	t.Helper()
	caPair, err := tls.LoadX509KeyPair(filepath.Join(home, "certs", "ca.pem"), filepath.Join(home, "certs", "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caPair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "tender client (test)"},
		NotBefore:    from,
		NotAfter:     until,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caPair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// ping asks the Docker API for /_ping with cert, not checking the server
// (only the client side is on trial here).
func ping(port int, cert tls.Certificate) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true, //nolint:gosec // the server is not under test
	}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://127.0.0.1:" + strconv.Itoa(port) + "/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// lastDiskCheck is the agent's last line about checking the data disk,
// from its log on the running guest.
// diskHead reads the first disk.HeadSize bytes of a raw disk image.
func diskHead(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, disk.HeadSize)
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatal(err)
	}
	return head
}

func lastDiskCheck(t *testing.T, c *cli) string {
	t.Helper()
	log := c.tender("logs", "--agent")
	last := ""
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "phase "+api.PhaseAgentStart) {
			last = "" // a new boot: only the latest one counts
		}
		if strings.Contains(line, "no fsck needed") || strings.Contains(line, "e2fsck") || strings.Contains(line, "formatting") {
			last = line
		}
	}
	return last
}
