package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// TestRealQEMU boots the real qemu-system-x86_64 under TCG on an empty CD
// (the firmware finds nothing to boot and waits), to check what fakes cannot:
// -daemonize returns through the runner, the pidfile and QMP socket appear,
// State sees the real process, HMP's real words for forwards, the single
// monitor slot, and Stop(force). A few seconds; skipped with -short.
func TestRealQEMU(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("real QEMU smoke test")
	}
	prog, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	ctx := context.Background()
	s := fakeSpec(t)
	s.Name = "smoke"
	s.CPUs, s.MemoryMiB = 1, 128
	s.SSHPort, s.DockerPort = testfakes.FreeTCPPort(t), testfakes.FreeTCPPort(t)
	s.ISO = filepath.Join(s.Dir, "empty.iso")
	if xorriso, err := exec.LookPath("xorriso"); err == nil {
		empty := t.TempDir() // xorriso writes nothing for an empty tree
		os.WriteFile(filepath.Join(empty, "README"), []byte("nothing to boot\n"), 0o644)
		if out, err := exec.Command(xorriso, "-as", "mkisofs", "-quiet", "-o", s.ISO, empty).CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v: %s", err, out)
		}
	} else {
		testfakes.WriteISO(t, s.ISO, "EMPTY")
	}
	if err := os.WriteFile(s.Disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.Disk, 16<<20); err != nil {
		t.Fatal(err)
	}

	d := &Driver{
		Runner: runner.Exec{Timeout: time.Minute},
		Host:   &Host{GOOS: runtime.GOOS, GOARCH: "amd64", Accel: TCG, QEMU: prog},
	}
	t.Cleanup(func() { // never leave a QEMU behind
		if pid, err := d.runningPid(s); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	})
	if err := d.Create(ctx, s); err != nil {
		t.Fatalf("Create: %v", err)
	}

	// A busy SSH port: QEMU refuses before daemonizing, and says which port.
	busy, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.SSHPort))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Start(ctx, s)
	busy.Close()
	var pe *PortInUseError
	if !errors.As(err, &pe) || pe.Port != s.SSHPort || pe.Flag != "--sshport" {
		t.Fatalf("Start on a busy port: %v, want PortInUseError for %d", err, s.SSHPort)
	}
	if st, _ := d.State(ctx, s); st != vm.Stopped {
		t.Fatalf("State after the failed start = %q, want stopped", st)
	}

	if err := d.Start(ctx, s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	start := time.Now()
	st, err := d.State(ctx, s)
	t.Logf("State took %v", time.Since(start))
	if err != nil || st != vm.Running {
		t.Fatalf("State = %q, %v; want running", st, err)
	}
	if !exists(filepath.Join(s.Dir, QMPSocket)) {
		t.Error("no QMP socket")
	}
	if err := d.Start(ctx, s); err != nil {
		t.Errorf("Start on a running machine: %v", err)
	}

	// Forwards, with QEMU's real HMP answers.
	fwd := testfakes.FreeTCPPort(t)
	if err := d.Forward(ctx, s, "tcp", fwd, 80); err != nil {
		t.Errorf("Forward: %v", err)
	}
	if err := d.Forward(ctx, s, "tcp", fwd, 80); !errors.As(err, &pe) || pe.Port != fwd {
		t.Errorf("Forward of a taken port: %v, want PortInUseError", err)
	}
	if err := d.Unforward(ctx, s, "tcp", fwd); err != nil {
		t.Errorf("Unforward: %v", err)
	}
	if err := d.Unforward(ctx, s, "tcp", fwd); err != nil {
		t.Errorf("Unforward of a removed forward: %v", err)
	}

	// QEMU serves one monitor client at a time; a second one must time out,
	// not hang.
	holder, err := net.Dial("unix", filepath.Join(s.Dir, QMPSocket))
	if err != nil {
		t.Fatal(err)
	}
	var greeting map[string]any
	if err := json.NewDecoder(holder).Decode(&greeting); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = d.Reset(tctx, s)
	cancel()
	holder.Close()
	if err == nil {
		t.Error("Reset succeeded while another client held the monitor")
	}
	if err := d.Reset(ctx, s); err != nil {
		t.Errorf("Reset: %v", err)
	}
	if err := d.Stop(ctx, s, false); err != nil {
		t.Errorf("Stop: %v", err)
	}

	pid, _ := readPid(filepath.Join(s.Dir, PidFile))
	start = time.Now()
	if err := d.Stop(ctx, s, true); err != nil {
		t.Fatalf("Stop(force): %v", err)
	}
	t.Logf("Stop(force) took %v", time.Since(start))
	if st, _ := d.State(ctx, s); st != vm.Stopped {
		t.Errorf("State after Stop(force) = %q, want stopped", st)
	}
	if exists(filepath.Join(s.Dir, PidFile)) || exists(filepath.Join(s.Dir, QMPSocket)) {
		t.Error("runtime files left behind")
	}
	if isOurs(pid, markers(s)) {
		t.Errorf("QEMU pid %d still running", pid)
	}
}

// TestRealQEMUNetworkNIC starts the real qemu-system-x86_64 with a NIC on a
// tender network, to check what the argv tests cannot: QEMU 7.2 accepts the
// dgram netdev exactly as Cmdline writes it, binds the machine's socket
// where a stale one was left, and sends the NIC's frames, from that socket
// and with the NIC's MAC, to the switch's socket. The frame is the
// firmware's network boot (iPXE's DHCP request, which it tries on net1
// after net0): ten seconds or so under TCG. Skipped with -short.
func TestRealQEMUNetworkNIC(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("real QEMU smoke test")
	}
	prog, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	ctx := context.Background()
	s := fakeSpec(t)
	s.Name = "netsmoke"
	s.CPUs, s.MemoryMiB = 1, 128
	s.SSHPort, s.DockerPort = testfakes.FreeTCPPort(t), testfakes.FreeTCPPort(t)
	s.ISO = testfakes.WriteISO(t, filepath.Join(s.Dir, "empty.iso"), "EMPTY")
	if err := os.WriteFile(s.Disk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(s.Disk, 16<<20); err != nil {
		t.Fatal(err)
	}
	netDir := filepath.Join(s.Dir, "lab,1") // a comma, which the argv escapes
	s.Network = &vm.NetworkAttachment{Name: "lab", MAC: "52:54:00:6c:61:62", Address: "192.168.127.2", Subnet: "192.168.127.0/24",
		VMSocket: filepath.Join(netDir, "vm.sock"), SwitchSocket: filepath.Join(netDir, "switch.sock")}
	if err := os.Mkdir(netDir, 0o700); err != nil {
		t.Fatal(err)
	}
	listenUnixgram(t, s.Network.VMSocket).Close() // a stale socket, as a QEMU that exited leaves it
	sw := listenUnixgram(t, s.Network.SwitchSocket)

	d := &Driver{
		Runner: runner.Exec{Timeout: time.Minute},
		Host:   &Host{GOOS: runtime.GOOS, GOARCH: "amd64", Accel: TCG, QEMU: prog},
	}
	t.Cleanup(func() { _ = d.Stop(ctx, s, true) })
	if err := d.Start(ctx, s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	out, err := d.hmp(ctx, s, "info network")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("info network:\n%s", out)
	for _, want := range []string{"macaddr=52:54:00:6c:61:62", "net1: index=0,type=dgram"} {
		if !strings.Contains(out, want) {
			t.Errorf("info network lacks %q", want)
		}
	}

	start := time.Now()
	sw.SetReadDeadline(start.Add(90 * time.Second))
	buf := make([]byte, 2048)
	n, from, err := sw.ReadFromUnix(buf)
	if err != nil {
		t.Fatalf("no frame from the NIC at the switch socket: %v", err)
	}
	t.Logf("first frame after %v: %d bytes from %s", time.Since(start).Round(100*time.Millisecond), n, from)
	if from == nil || from.Name != s.Network.VMSocket {
		t.Errorf("the frame came from %v, want %s", from, s.Network.VMSocket)
	}
	if n < 14 || net.HardwareAddr(buf[6:12]).String() != s.Network.MAC {
		t.Errorf("the frame's source MAC is %v, want %s", net.HardwareAddr(buf[6:min(n, 12)]), s.Network.MAC)
	}

	if err := d.Stop(ctx, s, true); err != nil {
		t.Fatalf("Stop(force): %v", err)
	}
	if exists(s.Network.VMSocket) {
		t.Error("the NIC's socket is left behind after Stop(force)")
	}
}
