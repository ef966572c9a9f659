package qemu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm"
)

// TestMain doubles as a stand-in QEMU: with TENDER_QEMU_TEST_FAKE=1 the test
// binary just sleeps, its argv carrying whatever markers the test gave it.
func TestMain(m *testing.M) {
	if os.Getenv("TENDER_QEMU_TEST_FAKE") == "1" {
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startFake runs the stand-in with args; it is killed when the test ends.
func startFake(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), "TENDER_QEMU_TEST_FAKE=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	waitArgv(cmd.Process.Pid)
	return cmd
}

// waitArgv waits until a just-started process shows its argv: Linux wakes a
// vfork parent before exec records the new argv, so /proc/PID/cmdline can
// read empty for a moment after Start returns. (QEMU writes its pidfile long
// after that.)
func waitArgv(pid int) {
	path := "/proc/" + strconv.Itoa(pid) + "/cmdline"
	for i := 0; i < 200; i++ {
		if b, err := os.ReadFile(path); err != nil || len(b) > 0 {
			return // not Linux, or argv is there
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fakeSpec is a machine in a fresh directory (short, for the unix socket).
func fakeSpec(t *testing.T) vm.Spec {
	dir, err := os.MkdirTemp("", "tq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := testSpec()
	s.Name = "t1"
	s.Dir = dir
	s.Disk = filepath.Join(dir, DiskFile)
	s.SerialLog = filepath.Join(dir, "serial.log")
	return s
}

// startFakeQEMU starts a stand-in whose argv looks like this machine's QEMU
// and writes its pidfile.
func startFakeQEMU(t *testing.T, s vm.Spec) *exec.Cmd {
	t.Helper()
	cmd := startFake(t, "-name", "tender-"+s.Name+",process=tender-"+s.Name, "-pidfile", filepath.Join(s.Dir, PidFile))
	writePid(t, s, cmd.Process.Pid)
	return cmd
}

func writePid(t *testing.T, s vm.Spec, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.Dir, PidFile), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestState(t *testing.T) {
	ctx := context.Background()
	d := &Driver{}

	t.Run("no pidfile: stopped", func(t *testing.T) {
		s := fakeSpec(t)
		if st, err := d.State(ctx, s); err != nil || st != vm.Stopped {
			t.Errorf("State = %q, %v; want stopped", st, err)
		}
	})
	t.Run("our live QEMU: running", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		if st, err := d.State(ctx, s); err != nil || st != vm.Running {
			t.Errorf("State = %q, %v; want running", st, err)
		}
	})
	t.Run("another machine's QEMU: aborted", func(t *testing.T) {
		s := fakeSpec(t)
		other := s
		other.Name = "other"
		cmd := startFakeQEMU(t, other)
		writePid(t, s, cmd.Process.Pid)
		if st, err := d.State(ctx, s); err != nil || st != vm.Aborted {
			t.Errorf("State = %q, %v; want aborted", st, err)
		}
	})
	t.Run("dead pid: aborted", func(t *testing.T) {
		s := fakeSpec(t)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		writePid(t, s, cmd.Process.Pid)
		if st, err := d.State(ctx, s); err != nil || st != vm.Aborted {
			t.Errorf("State = %q, %v; want aborted", st, err)
		}
	})
	t.Run("live pid of another program (reused): aborted", func(t *testing.T) {
		s := fakeSpec(t)
		cmd := startFake(t, "not", "qemu")
		writePid(t, s, cmd.Process.Pid)
		if st, err := d.State(ctx, s); err != nil || st != vm.Aborted {
			t.Errorf("State = %q, %v; want aborted", st, err)
		}
		writePid(t, s, os.Getpid())
		if st, err := d.State(ctx, s); err != nil || st != vm.Aborted {
			t.Errorf("State with the test's own pid = %q, %v; want aborted", st, err)
		}
	})
	t.Run("torn pidfile: aborted", func(t *testing.T) {
		s := fakeSpec(t)
		os.WriteFile(filepath.Join(s.Dir, PidFile), []byte("12a"), 0o644)
		if st, err := d.State(ctx, s); err != nil || st != vm.Aborted {
			t.Errorf("State = %q, %v; want aborted", st, err)
		}
	})
}

// fakeQMP is a QMP monitor on a unix socket that records the commands it
// gets and answers with reply (or {"return": {}}).
type fakeQMP struct {
	mu    sync.Mutex
	got   []string // "execute arguments-json"
	reply func(execute string) []string
}

func (f *fakeQMP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func serveQMP(t *testing.T, path string, reply func(execute string) []string) *fakeQMP {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &fakeQMP{reply: reply}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeQMP) serve(c net.Conn) {
	defer c.Close()
	c.Write([]byte(`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}` + "\r\n"))
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var cmd struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return
		}
		f.mu.Lock()
		f.got = append(f.got, strings.TrimSpace(cmd.Execute+" "+string(cmd.Arguments)))
		f.mu.Unlock()
		lines := []string{`{"return": {}}`}
		if f.reply != nil && cmd.Execute != "qmp_capabilities" {
			if r := f.reply(cmd.Execute); r != nil {
				lines = r
			}
		}
		for _, l := range lines {
			c.Write([]byte(l + "\r\n"))
		}
	}
}

func TestQMPCommands(t *testing.T) {
	ctx := context.Background()
	d := &Driver{}
	tests := []struct {
		name  string
		call  func(s vm.Spec) error
		reply []string
		want  []string
	}{
		{"Stop presses the power button", func(s vm.Spec) error { return d.Stop(ctx, s, false) }, nil,
			[]string{"qmp_capabilities", "system_powerdown"}},
		{"Reset", func(s vm.Spec) error { return d.Reset(ctx, s) },
			[]string{`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET", "data": {"guest": false}}`, `{"return": {}}`},
			[]string{"qmp_capabilities", "system_reset"}},
		{"Forward", func(s vm.Spec) error { return d.Forward(ctx, s, "tcp", 8080, 80) }, []string{`{"return": ""}`},
			[]string{"qmp_capabilities", `human-monitor-command {"command-line":"hostfwd_add net0 tcp:127.0.0.1:8080-:80"}`}},
		{"Unforward", func(s vm.Spec) error { return d.Unforward(ctx, s, "udp", 5353) },
			[]string{`{"return": "host forwarding rule for udp:127.0.0.1:5353 removed\r\n"}`},
			[]string{"qmp_capabilities", `human-monitor-command {"command-line":"hostfwd_remove net0 udp:127.0.0.1:5353"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeSpec(t)
			startFakeQEMU(t, s)
			f := serveQMP(t, filepath.Join(s.Dir, QMPSocket), func(string) []string { return tt.reply })
			if err := tt.call(s); err != nil {
				t.Fatal(err)
			}
			if got := f.commands(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("commands\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestQMPErrors(t *testing.T) {
	ctx := context.Background()
	d := &Driver{}

	t.Run("forward of a busy port", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		serveQMP(t, filepath.Join(s.Dir, QMPSocket), func(string) []string {
			return []string{`{"return": "Could not set up host forwarding rule 'tcp:127.0.0.1:8080-:80'\r\n"}`}
		})
		err := d.Forward(ctx, s, "tcp", 8080, 80)
		var pe *PortInUseError
		if !errors.As(err, &pe) || pe.Port != 8080 {
			t.Errorf("Forward error = %v, want PortInUseError for 8080", err)
		}
	})
	t.Run("qmp error reply", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		serveQMP(t, filepath.Join(s.Dir, QMPSocket), func(string) []string {
			return []string{`{"error": {"class": "GenericError", "desc": "nope"}}`}
		})
		if err := d.Reset(ctx, s); err == nil || err.Error() != "qmp system_reset: GenericError: nope" {
			t.Errorf("Reset error = %v", err)
		}
	})
	t.Run("a silent monitor times out", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		l, err := net.Listen("unix", filepath.Join(s.Dir, QMPSocket))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // accepts into the backlog, never greets: like QEMU with another client
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := d.Reset(ctx, s); err == nil || !strings.Contains(err.Error(), "greeting") {
			t.Errorf("Reset error = %v, want a greeting timeout", err)
		}
	})
	t.Run("not running", func(t *testing.T) {
		s := fakeSpec(t)
		for name, err := range map[string]error{
			"Stop":    d.Stop(ctx, s, false),
			"Reset":   d.Reset(ctx, s),
			"Forward": d.Forward(ctx, s, "tcp", 1, 2),
		} {
			if !errors.Is(err, vm.ErrNotRunning) {
				t.Errorf("%s error = %v, want ErrNotRunning", name, err)
			}
		}
	})
	t.Run("bad protocol", func(t *testing.T) {
		if err := d.Forward(ctx, fakeSpec(t), "sctp", 1, 2); err == nil || !strings.Contains(err.Error(), `got "sctp"`) {
			t.Errorf("Forward error = %v", err)
		}
	})
}

func TestStopForce(t *testing.T) {
	ctx := context.Background()
	d := &Driver{}

	t.Run("quit over QMP", func(t *testing.T) {
		s := fakeSpec(t)
		cmd := startFakeQEMU(t, s)
		f := serveQMP(t, filepath.Join(s.Dir, QMPSocket), func(execute string) []string {
			if execute == "quit" {
				cmd.Process.Kill() // QEMU exits after answering
			}
			return nil
		})
		if err := d.Stop(ctx, s, true); err != nil {
			t.Fatal(err)
		}
		if got, want := f.commands(), []string{"qmp_capabilities", "quit"}; !reflect.DeepEqual(got, want) {
			t.Errorf("commands %q, want %q", got, want)
		}
		if exists(filepath.Join(s.Dir, PidFile)) || exists(filepath.Join(s.Dir, QMPSocket)) {
			t.Error("runtime files left behind")
		}
		if st, _ := d.State(ctx, s); st != vm.Stopped {
			t.Errorf("State = %q, want stopped", st)
		}
	})
	t.Run("kill when the monitor is gone", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		if err := d.Stop(ctx, s, true); err != nil {
			t.Fatal(err)
		}
		if st, _ := d.State(ctx, s); st != vm.Stopped {
			t.Errorf("State = %q, want stopped", st)
		}
	})
	t.Run("aborted becomes stopped, a reused pid is not killed", func(t *testing.T) {
		s := fakeSpec(t)
		other := startFake(t, "not", "qemu")
		writePid(t, s, other.Process.Pid)
		os.WriteFile(filepath.Join(s.Dir, QMPSocket), nil, 0o600)
		if err := d.Stop(ctx, s, true); err != nil {
			t.Fatal(err)
		}
		if exists(filepath.Join(s.Dir, PidFile)) || exists(filepath.Join(s.Dir, QMPSocket)) {
			t.Error("stale runtime files left behind")
		}
		if !isOurs(other.Process.Pid, []string{"not", "qemu"}) {
			t.Error("the unrelated process was killed")
		}
	})
	t.Run("Delete keeps the machine's own files", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		os.WriteFile(s.Disk, nil, 0o600)
		os.WriteFile(s.SerialLog, nil, 0o600)
		if err := d.Delete(ctx, s); err != nil {
			t.Fatal(err)
		}
		if !exists(s.Dir) || !exists(s.Disk) || !exists(s.SerialLog) || exists(filepath.Join(s.Dir, PidFile)) {
			t.Error("Delete removed the wrong files")
		}
	})
}

// recorder is a runner.Runner that records calls and returns err.
type recorder struct {
	calls [][]string
	err   error
}

func (r *recorder) Run(_ context.Context, name string, args ...string) (string, error) {
	r.calls = append(r.calls, append([]string{name}, args...))
	return "", r.err
}

func TestStart(t *testing.T) {
	ctx := context.Background()
	host := &Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM, QEMU: "/usr/bin/qemu-system-x86_64"}

	t.Run("runs the cmdline after removing stale files", func(t *testing.T) {
		s := fakeSpec(t)
		dead := exec.Command(os.Args[0], "-test.run=^$")
		dead.Run()
		writePid(t, s, dead.Process.Pid)
		os.WriteFile(filepath.Join(s.Dir, QMPSocket), nil, 0o600)
		r := &recorder{}
		d := &Driver{Runner: r, Host: host, Accel: TCG}
		if err := d.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		tcgHost := *host
		tcgHost.Accel = TCG
		want, _ := Cmdline(s, tcgHost, nil)
		if !reflect.DeepEqual(r.calls, [][]string{want}) {
			t.Errorf("calls\n got %q\nwant %q", r.calls, [][]string{want})
		}
		if exists(filepath.Join(s.Dir, PidFile)) || exists(filepath.Join(s.Dir, QMPSocket)) {
			t.Error("stale runtime files left for QEMU")
		}
	})
	t.Run("on a tender network: a stale socket of the NIC is removed first", func(t *testing.T) {
		s := fakeSpec(t)
		s.Network = &vm.NetworkAttachment{Name: "lab", MAC: "52:54:00:6c:61:62", Address: "192.168.127.2", Subnet: "192.168.127.0/24",
			VMSocket: filepath.Join(s.Dir, "net", "vm.sock"), SwitchSocket: filepath.Join(s.Dir, "net", "switch.sock")}
		os.Mkdir(filepath.Join(s.Dir, "net"), 0o700)
		stale := listenUnixgram(t, s.Network.VMSocket)
		stale.Close() // the socket file stays, as QEMU leaves it when it exits
		if !exists(s.Network.VMSocket) {
			t.Fatal("the stale socket is not there to begin with")
		}
		r := &recorder{}
		if err := (&Driver{Runner: r, Host: host}).Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		if len(r.calls) != 1 {
			t.Fatalf("calls %q", r.calls)
		}
		if exists(s.Network.VMSocket) {
			t.Error("the stale socket is still there for QEMU to trip on")
		}
	})
	t.Run("on a tender network: a file that is not a socket is left alone, and QEMU not run", func(t *testing.T) {
		s := fakeSpec(t)
		s.Network = &vm.NetworkAttachment{Name: "lab", MAC: "52:54:00:6c:61:62", Address: "192.168.127.2", Subnet: "192.168.127.0/24",
			VMSocket: filepath.Join(s.Dir, "vm.sock"), SwitchSocket: filepath.Join(s.Dir, "switch.sock")}
		os.WriteFile(s.Network.VMSocket, []byte("notes"), 0o600)
		r := &recorder{}
		err := (&Driver{Runner: r, Host: host}).Start(ctx, s)
		want := `network "lab": ` + s.Network.VMSocket + ` is in the way of the NIC's socket and is not a socket; move it away`
		if err == nil || err.Error() != want || len(r.calls) != 0 {
			t.Fatalf("Start = %v with calls %q; want %s", err, r.calls, want)
		}
		if b, _ := os.ReadFile(s.Network.VMSocket); string(b) != "notes" {
			t.Error("the file was touched")
		}
	})
	t.Run("on a tender network: a socket path too long is refused in one line naming it", func(t *testing.T) {
		s := fakeSpec(t)
		long := filepath.Join(s.Dir, strings.Repeat("s", 110))
		s.Network = &vm.NetworkAttachment{Name: "lab", MAC: "52:54:00:6c:61:62", Address: "192.168.127.2", Subnet: "192.168.127.0/24",
			VMSocket: long, SwitchSocket: filepath.Join(s.Dir, "switch.sock")}
		r := &recorder{}
		err := (&Driver{Runner: r, Host: host}).Start(ctx, s)
		want := `network "lab": the machine's socket path "` + long + `" is longer than 103 bytes (use a shorter TENDER_HOME)`
		if err == nil || err.Error() != want || len(r.calls) != 0 {
			t.Fatalf("Start = %v with calls %q; want %s", err, r.calls, want)
		}
	})
	t.Run("running: nothing to do", func(t *testing.T) {
		s := fakeSpec(t)
		startFakeQEMU(t, s)
		r := &recorder{}
		if err := (&Driver{Runner: r, Host: host}).Start(ctx, s); err != nil || len(r.calls) != 0 {
			t.Errorf("Start = %v with calls %q", err, r.calls)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		s := fakeSpec(t)
		r := &recorder{err: errors.New("running qemu-system-x86_64 -machine: exit status 1: qemu-system-x86_64: -netdev user,id=net0,hostfwd=tcp:127.0.0.1:2022-:22,hostfwd=tcp:127.0.0.1:2376-:2376: Could not set up host forwarding rule 'tcp:127.0.0.1:2376-:2376'")}
		err := (&Driver{Runner: r, Host: host}).Start(ctx, s)
		if err == nil || err.Error() != "port 2376 on 127.0.0.1 is already in use (choose another with --dockerport)" {
			t.Errorf("Start error = %v", err)
		}
	})
	t.Run("other failures keep QEMU's words", func(t *testing.T) {
		s := fakeSpec(t)
		r := &recorder{err: errors.New(`running qemu-system-x86_64 -machine: exit status 1: Failed to get "write" lock`)}
		err := (&Driver{Runner: r, Host: host}).Start(ctx, s)
		if err == nil || err.Error() != `starting QEMU for "t1": running qemu-system-x86_64 -machine: exit status 1: Failed to get "write" lock` {
			t.Errorf("Start error = %v", err)
		}
	})
}

// listenUnixgram binds a unix datagram socket at path, closed when the test
// ends.
func listenUnixgram(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := &Driver{Host: &Host{GOOS: "linux", GOARCH: "amd64"}}
	iso := testfakes.WriteISO(t, filepath.Join(dir, "good.iso"), "tender-v0.1.0")
	notISO := filepath.Join(dir, "bad.iso")
	os.WriteFile(notISO, []byte("hello"), 0o644)

	s := testSpec()
	for path, want := range map[string]string{
		iso:                               "",
		notISO:                            `"` + notISO + `" is not an ISO image`,
		filepath.Join(dir, "missing.iso"): `ISO "` + filepath.Join(dir, "missing.iso") + `" does not exist`,
	} {
		s.ISO = path
		err := d.Create(ctx, s)
		if (err == nil && want != "") || (err != nil && err.Error() != want) {
			t.Errorf("Create with %s: %v, want %q", filepath.Base(path), err, want)
		}
	}
}

// BenchmarkState measures the check shellinit and status make on every call
// (target: well under 5 ms).
func BenchmarkState(b *testing.B) {
	dir := b.TempDir()
	s := testSpec()
	s.Name, s.Dir = "bench", dir
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-name", "tender-bench,process=tender-bench", "-pidfile", filepath.Join(dir, PidFile))
	cmd.Env = append(os.Environ(), "TENDER_QEMU_TEST_FAKE=1")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitArgv(cmd.Process.Pid)
	os.WriteFile(filepath.Join(dir, PidFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	d := &Driver{}
	for b.Loop() {
		if st, _ := d.State(context.Background(), s); st != vm.Running {
			b.Fatalf("State = %q", st)
		}
	}
}

func TestAccelFor(t *testing.T) {
	tests := []struct {
		host     Host
		override Accel
		arch     string
		want     Accel
	}{
		{Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM}, "", "amd64", KVM},
		{Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM}, Auto, "", KVM},
		{Host{GOOS: "linux", GOARCH: "amd64", Accel: KVM}, TCG, "amd64", TCG},
		{Host{GOOS: "linux", GOARCH: "amd64", Accel: TCG}, "", "amd64", TCG},
		{Host{GOOS: "darwin", GOARCH: "arm64", Accel: HVF}, "", "amd64", TCG},
		{Host{GOOS: "darwin", GOARCH: "arm64", Accel: HVF}, "", "arm64", HVF},
	}
	for _, tt := range tests {
		s := testSpec()
		s.Arch = tt.arch
		d := &Driver{Host: &tt.host, Accel: tt.override}
		if got, err := d.AccelFor(s); err != nil || got != tt.want {
			t.Errorf("AccelFor(%+v, override %q, arch %q) = %q, %v; want %q", tt.host, tt.override, tt.arch, got, err, tt.want)
		}
	}
}
