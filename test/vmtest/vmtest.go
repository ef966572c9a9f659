// Package vmtest boots the tender ISO under QEMU for end-to-end tests.
//
// A test makes an Identity (fresh CA, server and client certs, SSH keys),
// a data disk carrying it as userdata, then boots:
//
//	id := vmtest.NewIdentity(t)
//	vm := vmtest.Boot(t, vmtest.Options{Disk: id.NewDisk(t, 2<<30), Identity: id, Forward: []int{8080}})
//	out, err := vm.Docker("version")
//
// Boot waits for the agent's ready line; t.Cleanup kills QEMU and, when the
// test failed, logs the serial console's last lines. Boots are slow under
// TCG: share one VM between subtests where you can.
package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/provision"
	"github.com/tenderdev/tender/test/kvmprobe"
	"golang.org/x/crypto/ssh"
)

// ReadyLine is what the guest agent prints once dockerd answers.
const ReadyLine = api.ReadyLine

// ISO returns the image to boot: $TENDER_ISO, or out/tender.iso at the
// module root. When it is missing the test fails, or is skipped if
// TENDER_E2E_ALLOW_SKIP=1.
func ISO(t testing.TB) string {
	t.Helper()
	iso := os.Getenv("TENDER_ISO")
	if iso == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		iso = filepath.Join(root, "out", "tender.iso")
	}
	if _, err := os.Stat(iso); err != nil {
		if os.Getenv("TENDER_E2E_ALLOW_SKIP") == "1" {
			t.Skipf("no ISO at %s (run `make iso`): %v", iso, err)
		}
		t.Fatalf("no ISO at %s (run `make iso`, or set TENDER_E2E_ALLOW_SKIP=1 to skip): %v", iso, err)
	}
	return iso
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("vmtest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Identity is one machine's credentials, as `tender init` would make them.
type Identity struct {
	// CertDir holds ca.pem, cert.pem and key.pem: a DOCKER_CERT_PATH.
	CertDir  string
	CA       *provision.CA
	Client   provision.KeyPair
	SSHKey   provision.SSHKey // user docker's key
	HostKey  ssh.PublicKey    // the host key the guest must serve
	Userdata api.Userdata
}

// NewIdentity makes fresh credentials; the server cert is for 127.0.0.1.
func NewIdentity(t testing.TB) *Identity {
	t.Helper()
	ca, err := provision.NewCA("tender-test-ca")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer("tender-test")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("tender-test-client")
	if err != nil {
		t.Fatal(err)
	}
	userKey, err := provision.NewSSHKey("tender-test")
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := provision.NewSSHKey("tender-test-host")
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.ParsePrivateKey(hostKey.PrivatePEM)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"ca.pem": ca.CertPEM, "cert.pem": client.CertPEM, "key.pem": client.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &Identity{
		CertDir: dir, CA: ca, Client: client, SSHKey: userKey, HostKey: hostSigner.PublicKey(),
		Userdata: api.Userdata{
			Hostname:       "tender-test",
			AuthorizedKeys: userKey.Public,
			SSHHostKey:     hostKey.PrivatePEM,
			CACert:         ca.CertPEM,
			ServerCert:     server.CertPEM,
			ServerKey:      server.KeyPEM,
		},
	}
}

// NewDisk makes a sparse raw data disk of size bytes in a temporary
// directory, with the identity's userdata tar at offset 0.
func (id *Identity) NewDisk(t testing.TB, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "disk.raw")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := api.WriteUserdata(f, id.Userdata); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// Options say what to boot.
type Options struct {
	ISO      string    // default: ISO(t)
	Disk     string    // raw data disk, attached as virtio
	Identity *Identity // credentials for Docker and SSH; may be nil
	// Forward lists extra guest TCP ports; VM.Ports maps each to a free
	// port on 127.0.0.1.
	Forward   []int
	MemoryMiB int // default 1024
	CPUs      int // default 2
}

// VM is one running QEMU.
type VM struct {
	SSHPort    int
	DockerPort int
	Ports      map[int]int // guest port → host port on 127.0.0.1, for Options.Forward
	SerialLog  string
	Identity   *Identity
	Started    time.Time // when QEMU was started

	t      testing.TB
	qmp    string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // QEMU's exit, valid once exited is closed
}

// Boot starts a VM and waits up to 10 minutes for the ready line. A kernel
// that panics before the agent starts is booted once more: under TCG with
// two vCPUs the kernel rarely oopses while patching its own code (int3 in
// sched_clock_cpu), which is the emulator's doing, not the image's.
func Boot(t testing.TB, opts Options) *VM {
	t.Helper()
	vm := Start(t, opts)
	err := vm.WaitReady(10 * time.Minute)
	if err != nil && vm.panickedEarly() {
		t.Logf("the kernel panicked before the agent started; booting again:\n%s", vm.tail(15))
		vm = Start(t, opts)
		err = vm.WaitReady(10 * time.Minute)
	}
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func (vm *VM) panickedEarly() bool {
	s := vm.Serial()
	return strings.Contains(s, "Kernel panic") && !strings.Contains(s, api.ConsolePrefix)
}

// Start starts QEMU and returns at once.
func Start(t testing.TB, opts Options) *VM {
	t.Helper()
	if opts.ISO == "" {
		opts.ISO = ISO(t)
	}
	if opts.MemoryMiB == 0 {
		opts.MemoryMiB = 1024
	}
	if opts.CPUs == 0 {
		opts.CPUs = 2
	}
	dir := t.TempDir()
	vm := &VM{
		SSHPort: testfakes.FreeTCPPort(t), DockerPort: testfakes.FreeTCPPort(t), Ports: map[int]int{},
		SerialLog: filepath.Join(dir, "serial.log"), Identity: opts.Identity,
		t: t, qmp: filepath.Join(dir, "qmp.sock"), exited: make(chan struct{}),
	}
	for _, p := range opts.Forward {
		vm.Ports[p] = testfakes.FreeTCPPort(t)
	}
	args := Cmdline(opts, vm.SSHPort, vm.DockerPort, vm.Ports, vm.SerialLog, vm.qmp, kvmprobe.Usable("qemu-system-x86_64", opts.ISO))
	vm.cmd = exec.Command("qemu-system-x86_64", args...)
	var stderr bytes.Buffer
	vm.cmd.Stderr = &stderr
	vm.Started = time.Now()
	if err := vm.cmd.Start(); err != nil {
		t.Fatalf("starting qemu-system-x86_64 (apt install qemu-system-x86): %v", err)
	}
	go func() {
		err := vm.cmd.Wait()
		if err != nil && stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		vm.err = err
		close(vm.exited)
	}()
	t.Cleanup(func() {
		vm.Kill()
		if t.Failed() {
			t.Logf("serial console of the VM started at %s (last lines):\n%s", vm.Started.Format(time.TimeOnly), vm.tail(40))
		}
	})
	return vm
}

// Cmdline is QEMU's argument list: the ISO as a CD, the disk as virtio,
// user networking with the forwards on 127.0.0.1, serial to a file and a QMP
// socket for the power button.
func Cmdline(opts Options, sshPort, dockerPort int, forwards map[int]int, serialLog, qmp string, kvm bool) []string {
	accel := "tcg,thread=single" // as tender runs it; see vm/qemu.Cmdline
	if kvm {
		accel = "kvm"
	}
	netdev := fmt.Sprintf("user,id=net0,hostfwd=tcp:127.0.0.1:%d-:%d,hostfwd=tcp:127.0.0.1:%d-:%d", sshPort, api.SSHPort, dockerPort, api.DockerPort)
	guestPorts := make([]int, 0, len(forwards))
	for g := range forwards {
		guestPorts = append(guestPorts, g)
	}
	slices.Sort(guestPorts)
	for _, g := range guestPorts {
		netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", forwards[g], g)
	}
	args := []string{
		"-accel", accel,
		"-m", strconv.Itoa(opts.MemoryMiB),
		"-smp", strconv.Itoa(opts.CPUs),
		"-nodefaults", "-no-user-config",
		"-display", "none",
		"-cdrom", opts.ISO,
		"-boot", "d",
	}
	if opts.Disk != "" {
		args = append(args, "-drive", "file="+opts.Disk+",format=raw,if=virtio")
	}
	return append(args,
		"-netdev", netdev,
		"-device", "virtio-net-pci,netdev=net0",
		"-serial", "file:"+serialLog,
		"-qmp", "unix:"+qmp+",server=on,wait=off",
		"-no-reboot",
	)
}

// Serial returns the serial console so far.
func (vm *VM) Serial() string {
	b, _ := os.ReadFile(vm.SerialLog)
	return strings.ReplaceAll(string(b), "\r", "")
}

func (vm *VM) tail(n int) string {
	lines := strings.Split(strings.TrimRight(vm.Serial(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady waits for ReadyLine alone on a line.
func (vm *VM) WaitReady(timeout time.Duration) error {
	return vm.waitSerial(timeout, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if ev, ok := api.ParseConsoleLine(l); ok && ev.Kind == api.ConsoleReady {
				return true
			}
		}
		return false
	}, "the ready line")
}

// WaitSerial waits until the serial console contains substr.
func (vm *VM) WaitSerial(substr string, timeout time.Duration) error {
	return vm.waitSerial(timeout, func(s string) bool { return strings.Contains(s, substr) }, fmt.Sprintf("%q", substr))
}

func (vm *VM) waitSerial(timeout time.Duration, done func(string) bool, what string) error {
	deadline := time.Now().Add(timeout)
	for {
		if done(vm.Serial()) {
			return nil
		}
		select {
		case <-vm.exited:
			if done(vm.Serial()) {
				return nil
			}
			return fmt.Errorf("qemu exited (%v) before the console showed %s; last lines:\n%s", vm.err, what, vm.tail(30))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the console did not show %s within %s; last lines:\n%s", what, timeout, vm.tail(30))
		}
	}
}

// PowerButton presses the ACPI power button (QMP system_powerdown).
func (vm *VM) PowerButton() error {
	return vm.QMP("system_powerdown")
}

// QMP runs one QMP command without arguments.
func (vm *VM) QMP(command string) error {
	c, err := net.DialTimeout("unix", vm.qmp, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connecting to QMP: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil { // greeting
		return fmt.Errorf("reading the QMP greeting: %w", err)
	}
	for _, cmd := range []string{"qmp_capabilities", command} {
		if _, err := fmt.Fprintf(c, `{"execute":%q}`+"\n", cmd); err != nil {
			return fmt.Errorf("QMP %s: %w", cmd, err)
		}
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("QMP %s: %w", cmd, err)
		}
		if bytes.Contains(buf[:n], []byte(`"error"`)) {
			return fmt.Errorf("QMP %s: %s", cmd, bytes.TrimSpace(buf[:n]))
		}
	}
	return nil
}

// WaitExit waits for QEMU to exit by itself.
func (vm *VM) WaitExit(timeout time.Duration) error {
	select {
	case <-vm.exited:
		return vm.err
	case <-time.After(timeout):
		return fmt.Errorf("qemu still running after %s; last lines:\n%s", timeout, vm.tail(20))
	}
}

// Kill stops QEMU at once if it still runs.
func (vm *VM) Kill() {
	select {
	case <-vm.exited:
		return
	default:
	}
	_ = vm.cmd.Process.Kill()
	<-vm.exited
}

// DockerEnv is the environment for the host's docker CLI to reach the VM
// over TLS with the identity's client cert.
func (vm *VM) DockerEnv() []string {
	env := []string{
		"DOCKER_HOST=tcp://127.0.0.1:" + strconv.Itoa(vm.DockerPort),
		"DOCKER_TLS_VERIFY=1",
		"DOCKER_CONFIG=" + filepath.Join(filepath.Dir(vm.SerialLog), "docker-config"),
	}
	if vm.Identity != nil {
		env = append(env, "DOCKER_CERT_PATH="+vm.Identity.CertDir)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	return env
}

// Docker runs the host's docker CLI against the VM and returns its
// combined output.
func (vm *VM) Docker(args ...string) (string, error) {
	return vm.DockerStdin(nil, args...)
}

// DockerStdin is Docker with stdin.
func (vm *VM) DockerStdin(stdin *bytes.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = vm.DockerEnv()
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// SSH dials the guest's sshd as user, pinning the identity's host key.
func (vm *VM) SSH(user string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	hostKey := ssh.InsecureIgnoreHostKey()
	if vm.Identity != nil {
		hostKey = ssh.FixedHostKey(vm.Identity.HostKey)
	}
	return ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(vm.SSHPort), &ssh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: hostKey, Timeout: 30 * time.Second,
	})
}

// Run runs a command over SSH as user docker with the identity's key and
// returns its combined output.
func (vm *VM) Run(command string) (string, error) {
	signer, err := ssh.ParsePrivateKey(vm.Identity.SSHKey.PrivatePEM)
	if err != nil {
		return "", err
	}
	c, err := vm.SSH("docker", ssh.PublicKeys(signer))
	if err != nil {
		return "", fmt.Errorf("ssh docker@127.0.0.1:%d: %w", vm.SSHPort, err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(command)
	if err != nil {
		return string(out), fmt.Errorf("ssh %q: %w: %s", command, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}
