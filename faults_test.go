package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm/qemu"
)

// The fault tests that need no VM: broken and stale files, a read-only
// TENDER_HOME, concurrent and interrupted init, permissions, and an
// impostor on the machine's SSH port. They run the real binary
// (testscript.Main puts `tender` on PATH). docs/RELIABILITY.md lists them.

// th is one TENDER_HOME with a fake ISO beside it.
type th struct {
	t    *testing.T
	bin  string
	work string
	home string
	iso  string
	env  []string
}

func newHome(t *testing.T) *th {
	t.Helper()
	bin, err := exec.LookPath("tender")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	h := &th{t: t, bin: bin, work: work, home: filepath.Join(work, "home"), iso: filepath.Join(work, "tender.iso")}
	testfakes.WriteISO(t, h.iso, "tender-v0.0.0")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENDER_") {
			h.env = append(h.env, kv)
		}
	}
	h.env = append(h.env, "TENDER_HOME="+h.home, "HOME="+work, "TENDER_ISO_URL=http://127.0.0.1:9/tender.iso", "DOCKER_CONFIG="+filepath.Join(work, ".docker"))
	return h
}

func (h *th) cmd(extraEnv []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(append([]string(nil), h.env...), extraEnv...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	return cmd, &o, &e
}

// run runs tender and returns stdout, stderr and the exit code.
func (h *th) run(args ...string) (string, string, int) {
	h.t.Helper()
	return h.runEnv(nil, args...)
}

func (h *th) runEnv(env []string, args ...string) (string, string, int) {
	h.t.Helper()
	cmd, o, e := h.cmd(env, args...)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatal(err)
	}
	if strings.Contains(e.String(), "goroutine ") || strings.Contains(e.String(), "panic:") {
		h.t.Fatalf("tender %q printed a stack trace:\n%s", args, e)
	}
	return o.String(), e.String(), code
}

// must runs tender and fails the test unless it succeeds.
func (h *th) must(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(args...)
	if code != 0 {
		h.t.Fatalf("tender %q: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// stateCodes are `tender status`'s exit statuses.
var stateCodes = map[string]int{"running": 0, "stopped": 3, "saved": 4, "not-created": 5, "starting": 6, "paused": 6, "aborted": 7, "unreachable": 8}

// state is `tender status NAME`, whose exit status must be its word's.
func (h *th) state(name string) string {
	h.t.Helper()
	out, errOut, code := h.run("status", name)
	if want, ok := stateCodes[strings.TrimSpace(out)]; !ok || code != want {
		h.t.Fatalf("tender status %s: %q, exit %d\n%s", name, out, code, errOut)
	}
	return out
}

func (h *th) init(name string) string {
	h.t.Helper()
	h.must("init", "--iso", h.iso, "--disksize", "1GiB", name)
	return filepath.Join(h.home, "machines", name)
}

// waitStderr waits until buf holds substr.
func waitStderr(t *testing.T, buf *bytes.Buffer, substr string, limit time.Duration) {
	t.Helper()
	end := time.Now().Add(limit)
	for !strings.Contains(buf.String(), substr) {
		if time.Now().After(end) {
			t.Fatalf("waited %s for %q; stderr so far:\n%s", limit, substr, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Corrupt state.json: status and shellinit name the file and the fix and go
// on; corrupt machine.yaml: an error naming the file and the fix; delete -f
// removes the machine in both cases.
func TestFaultBrokenFiles(t *testing.T) {
	h := newHome(t)
	dir := h.init("dev")
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{\"ssh_port\": 22, garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := h.run("status", "dev")
	if code != 3 || out != "stopped\n" {
		t.Fatalf("status with a corrupt state.json: exit %d, %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, filepath.Join(dir, "state.json")+" is damaged") || !strings.Contains(errOut, "rewritten by `tender up`") {
		t.Fatalf("the warning does not name the file and the fix: %q", errOut)
	}

	if err := os.WriteFile(filepath.Join(dir, "machine.yaml"), []byte("cpus: [\n  memory: 2GiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"status", "up", "shellinit", "config"} {
		_, errOut, code := h.run(cmd, "dev")
		if code == 0 || !strings.Contains(errOut, filepath.Join(dir, "machine.yaml")) {
			t.Fatalf("%s with a corrupt machine.yaml: exit %d, %q; want an error naming the file", cmd, code, errOut)
		}
		if cmd != "config" && !strings.Contains(errOut, "tender delete -f dev") {
			t.Errorf("%s: the error does not say how to get out: %q", cmd, errOut)
		}
	}
	h.must("delete", "-f", "dev")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("delete -f left the machine directory: %v", err)
	}
	if out := h.state("dev"); out != "not-created\n" {
		t.Fatalf("status after delete = %q", out)
	}
}

// A read-only TENDER_HOME: init gets one clear line; the read-only commands
// still work.
func TestFaultReadOnlyHome(t *testing.T) {
	h := newHome(t)
	h.init("dev")
	if os.Geteuid() != 0 {
		if err := os.Chmod(h.home, 0o500); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(h.home, 0o700)
	} else {
		// root ignores permission bits: make it a read-only bind mount.
		if out, err := exec.Command("mount", "--bind", "-o", "ro", h.home, h.home).CombinedOutput(); err != nil {
			t.Skipf("cannot make a read-only mount: %v %s", err, out)
		}
		defer exec.Command("umount", h.home).Run()
		if f, err := os.Create(filepath.Join(h.home, "probe")); err == nil {
			f.Close()
			os.Remove(filepath.Join(h.home, "probe"))
			t.Skip("the bind mount is writable")
		}
	}
	_, errOut, code := h.run("init", "--iso", h.iso, "--disksize", "1GiB", "other")
	if code == 0 || !strings.HasPrefix(errOut, "tender: cannot write to TENDER_HOME "+h.home) || !strings.Contains(errOut, "make it writable, or point TENDER_HOME at a writable directory") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("init in a read-only home: exit %d, %q", code, errOut)
	}
	if out := h.state("dev"); out != "stopped\n" {
		t.Fatalf("status in a read-only home = %q", out)
	}
	h.must("ls")
}

// startFake starts a process that is not QEMU; with markers, its argv holds
// the strings tender checks to know its own QEMU.
func startFake(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"-c", "sleep 600; true"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// A pidfile naming a dead pid, or a pid another program now has: status
// says aborted at once, and `down` turns it into stopped.
func TestFaultStalePidfile(t *testing.T) {
	h := newHome(t)
	dir := h.init("dev")
	pidfile := filepath.Join(dir, qemu.PidFile)

	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	other := startFake(t)
	for _, c := range []struct {
		what string
		pid  int
	}{{"dead pid", dead.Process.Pid}, {"pid of another program", other.Process.Pid}, {"garbage", -1}} {
		data := strconv.Itoa(c.pid) + "\n"
		if c.pid < 0 {
			data = "not a pid\n"
		}
		if err := os.WriteFile(pidfile, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		out, errOut, code := h.run("status", "dev")
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: status took %s", c.what, took)
		}
		if code != 7 || out != "aborted\n" {
			t.Fatalf("%s: status = %q (exit %d, %s), want aborted", c.what, out, code, errOut)
		}
		if _, _, code := h.run("shellinit", "dev"); code == 0 {
			t.Fatalf("%s: shellinit succeeded on an aborted machine", c.what)
		}
	}
	if other.ProcessState != nil {
		t.Fatal("the other program was touched")
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("tender harmed the program that reused the pid: %v", err)
	}
}

// A tender killed with SIGKILL while holding the lock (in the middle of
// init) blocks nobody: the next init takes the lock at once and removes the
// dead one's temporary directory.
func TestFaultStaleLock(t *testing.T) {
	h := newHome(t)
	cmd, _, errBuf := h.cmd([]string{machine.PauseEnv + "=init-credentials"}, "init", "--iso", h.iso, "--disksize", "1GiB", "dev")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, errBuf, "paused at init-credentials", 20*time.Second)
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(filepath.Join(h.home, "locks", "dev.lock")); err != nil {
		t.Fatalf("the killed tender left no lock file to be stale: %v", err)
	}
	stale, _ := filepath.Glob(filepath.Join(h.home, "machines", ".init-dev-*"))
	if len(stale) != 1 {
		t.Fatalf("want the killed init's temporary directory, have %q", stale)
	}
	start := time.Now()
	_, errOut, code := h.run("init", "--iso", h.iso, "--disksize", "1GiB", "dev")
	if code != 0 || strings.Contains(errOut, "waiting for another tender") {
		t.Fatalf("init after a killed init: exit %d, %s", code, errOut)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("init took %s", took)
	}
	if stale, _ := filepath.Glob(filepath.Join(h.home, "machines", ".init-dev-*")); len(stale) != 0 {
		t.Fatalf("the killed init's temporary directory is still there: %q", stale)
	}
	// The other use cases take the same lock.
	if _, errOut, code := h.run("down", "dev"); code != 0 || !strings.Contains(errOut, "already stopped") {
		t.Fatalf("down after the stale lock: exit %d, %s", code, errOut)
	}
}

// Two `tender init NAME` at once: one machine, and the other says it exists
// and changed nothing.
func TestFaultConcurrentInit(t *testing.T) {
	h := newHome(t)
	// The first one holds the lock for 2 s in the middle of its work.
	first, firstOut, firstErr := h.cmd([]string{machine.PauseEnv + "=init-disk:2s"}, "init", "--iso", h.iso, "--disksize", "1GiB", "--memory", "1GiB", "dev")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	waitStderr(t, firstErr, "paused at init-disk", 20*time.Second)
	second, _, secondErr := h.cmd(nil, "init", "--iso", h.iso, "--disksize", "1GiB", "--memory", "3GiB", "dev")
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	errFirst, errSecond := first.Wait(), second.Wait()
	if errFirst != nil {
		t.Fatalf("first init: %v\n%s%s", errFirst, firstOut, firstErr)
	}
	if errSecond == nil {
		t.Fatalf("second init succeeded too:\n%s", secondErr)
	}
	if !strings.Contains(secondErr.String(), "waiting for another tender working on machine \"dev\"") ||
		!strings.Contains(secondErr.String(), "tender: machine \"dev\" already exists; nothing was changed") {
		t.Fatalf("second init's error: %s", secondErr)
	}
	entries, _ := os.ReadDir(filepath.Join(h.home, "machines"))
	if len(entries) != 1 || entries[0].Name() != "dev" {
		t.Fatalf("machines/ holds %v, want only dev", entries)
	}
	yaml, _ := os.ReadFile(filepath.Join(h.home, "machines", "dev", "machine.yaml"))
	if !strings.Contains(string(yaml), "memory: 1GiB") {
		t.Fatalf("machine.yaml is not the first init's:\n%s", yaml)
	}
}

// machineFiles are what a complete machine holds.
var machineFiles = []string{"machine.yaml", "state.json", "disk.raw", "id_ed25519", "id_ed25519.pub", "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "known_hosts", "server.pem", "server-key.pem", "certs/ca.pem", "certs/cert.pem", "certs/key.pem"}

// SIGINT of init at four points: before anything is written, with the keys
// made, with the data disk made, and after the directory got its name. The
// first three leave no machine and no temporary directory (exit 130); the
// last leaves a complete machine.
func TestFaultInterruptInit(t *testing.T) {
	for _, c := range []struct {
		step     string
		complete bool
	}{{"init-checked", false}, {"init-credentials", false}, {"init-disk", false}, {"init-renamed", true}} {
		t.Run(c.step, func(t *testing.T) {
			h := newHome(t)
			cmd, _, errBuf := h.cmd([]string{machine.PauseEnv + "=" + c.step}, "init", "--iso", h.iso, "--disksize", "1GiB", "dev")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitStderr(t, errBuf, "paused at "+c.step, 20*time.Second)
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			dir := filepath.Join(h.home, "machines", "dev")
			leftovers, _ := filepath.Glob(filepath.Join(h.home, "machines", ".*"))
			if len(leftovers) != 0 {
				t.Fatalf("temporary directories left: %q", leftovers)
			}
			if !c.complete {
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
					t.Fatalf("exit %v, want 130; stderr:\n%s", err, errBuf)
				}
				if !strings.Contains(errBuf.String(), "init interrupted; nothing was created") {
					t.Fatalf("stderr does not say nothing was created:\n%s", errBuf)
				}
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Fatalf("an interrupted init left %s", dir)
				}
				if out := h.state("dev"); out != "not-created\n" {
					t.Fatalf("status = %q", out)
				}
				h.init("dev") // and init works afterwards
				return
			}
			for _, f := range machineFiles {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("the machine is incomplete: %v", err)
				}
			}
			if out := h.state("dev"); out != "stopped\n" {
				t.Fatalf("status = %q", out)
			}
		})
	}
}

// TENDER_HOME's directories are 0700 and private keys 0600; the CA key is
// nowhere in the machine directory nor in the userdata on the data disk.
func TestFaultPermissions(t *testing.T) {
	h := newHome(t)
	dir := h.init("dev")
	for _, d := range []string{h.home, filepath.Join(h.home, "machines"), filepath.Join(h.home, "certs"), filepath.Join(h.home, "locks"), dir, filepath.Join(dir, "certs")} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", d, st.Mode().Perm(), err)
		}
	}
	for _, f := range []string{filepath.Join(h.home, "certs", "ca-key.pem"), filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "ssh_host_ed25519_key"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "certs", "key.pem"), filepath.Join(dir, "machine.yaml"), filepath.Join(dir, "state.json"), filepath.Join(dir, "disk.raw")} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v (%v), want 0600", f, st.Mode().Perm(), err)
		}
	}
	caKey, err := os.ReadFile(filepath.Join(h.home, "certs", "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caKey)
	if block == nil {
		t.Fatal("the CA key is not PEM")
	}
	secret := block.Bytes[len(block.Bytes)-32:] // the tail of the DER key: the private scalar
	disk, err := os.Open(filepath.Join(dir, "disk.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	head := make([]byte, 4<<20)
	n, _ := disk.ReadAt(head, 0)
	head = head[:n]
	u, err := api.ReadUserdata(bytes.NewReader(head))
	if err != nil {
		t.Fatalf("the data disk's userdata: %v", err)
	}
	for _, part := range [][]byte{u.AuthorizedKeys, u.SSHHostKey, u.CACert, u.ServerCert, u.ServerKey} {
		if bytes.Equal(bytes.TrimSpace(part), bytes.TrimSpace(caKey)) {
			t.Fatal("the CA key is in the userdata")
		}
	}
	pemBody := strings.Join(strings.Split(strings.TrimSpace(string(caKey)), "\n")[1:2], "")
	if bytes.Contains(head, []byte(pemBody)) || bytes.Contains(head, secret) {
		t.Fatal("the CA key's bytes are on the data disk")
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || info.Size() > 1<<20 {
			return nil
		}
		data, _ := os.ReadFile(p)
		if bytes.Contains(data, []byte(pemBody)) {
			t.Errorf("%s holds the CA key", p)
		}
		return nil
	})
}

// fakeSSHServer answers SSH on a free 127.0.0.1 port with a host key of its
// own, and counts the connections that got as far as authentication.
func fakeSSHServer(t *testing.T) (port int, authAttempts *int) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	conf := &ssh.ServerConfig{
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
			attempts++
			return &ssh.Permissions{}, nil // an impostor lets anyone in
		},
	}
	conf.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, chans, reqs, err := ssh.NewServerConn(c, conf)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for ch := range chans {
					ch.Reject(ssh.Prohibited, "impostor")
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, &attempts
}

// An impostor on the machine's SSH port while its VM is down (a leftover
// process claims to be its QEMU, another program answers SSH): tender
// refuses, because the host key is not the one pinned at init, and says so;
// it never offers the impostor its key.
func TestIntruderFakeSSHServer(t *testing.T) {
	h := newHome(t)
	dir := h.init("dev")
	port, attempts := fakeSSHServer(t)
	state := fmt.Sprintf(`{"driver": "qemu", "ssh_port": %d, "docker_port": %d}`, port, port)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := startFake(t, "tender-dev,process=tender-dev", filepath.Join(dir, qemu.PidFile))
	if err := os.WriteFile(filepath.Join(dir, qemu.PidFile), []byte(strconv.Itoa(fake.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := h.state("dev"); out != "running\n" {
		t.Fatalf("status = %q; the fake QEMU does not pass for ours", out)
	}
	for _, args := range [][]string{{"ssh", "dev", "--", "true"}, {"up", "dev"}} {
		start := time.Now()
		_, errOut, code := h.runEnv([]string{"TENDER_BOOT_TIMEOUT=1m"}, args...)
		if code == 0 {
			t.Fatalf("tender %q succeeded against an impostor", args)
		}
		if !strings.Contains(errOut, "ssh host key mismatch") || !strings.Contains(errOut, "127.0.0.1:"+strconv.Itoa(port)) {
			t.Fatalf("tender %q: the error does not say the host key is wrong: %s", args, errOut)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("tender %q took %s to refuse", args, took)
		}
	}
	if *attempts != 0 {
		t.Fatalf("tender authenticated to the impostor %d times", *attempts)
	}
}
