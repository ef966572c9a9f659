//go:build e2e

package test

import (
	"bufio"
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

	"github.com/tenderdev/tender/agent/portwatch"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/vm/qemu"
)

// TestPortsSharesClock checks on one VM what issue [ports] promises:
// published ports on 127.0.0.1 (TCP and UDP) that follow containers within
// 2 s, a taken host port skipped and reported, host folders in containers
// with host ownership and read-only shares, a guest clock put right within
// 15 s, the NAT DNS, and a killed host agent brought back by `up`.
func TestPortsSharesClock(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	home := t.TempDir()
	share, ro := t.TempDir(), t.TempDir()
	config := fmt.Sprintf("shares:\n  - %s\n  - {host: %s, guest: %s, read_only: true}\n", share, ro, ro)
	if err := os.WriteFile(filepath.Join(home, "config.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: tenderBin(t), home: home}
	mdir := filepath.Join(home, "machines", "default")
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"hostagent.log", "serial.log"} {
				b, _ := os.ReadFile(filepath.Join(mdir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
		_, _ = c.tenderErr("poweroff")
	})
	c.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
	c.tender("up")
	docker := func(script string) string {
		t.Helper()
		return c.bash(`eval "$(tender shellinit)"` + "\n" + script)
	}
	docker("./scripts/busybox-image.sh >/dev/null")

	// DNS: the hypervisor's NAT resolver from DHCP.
	if out := c.tender("ssh", "--", "cat /etc/resolv.conf"); !strings.Contains(out, "nameserver 10.0.2.3") {
		t.Errorf("resolv.conf = %q, want the NAT DNS 10.0.2.3", out)
	}

	// 1. A TCP port appears on 127.0.0.1 within 2 s, bound to 127.0.0.1 only.
	p1 := testfakes.FreeTCPPort(t)
	docker(fmt.Sprintf(`docker run -d --name web -p %d:80 busybox sh -c 'mkdir /w; echo hello > /w/index.html; exec httpd -f -p 80 -h /w' >/dev/null`, p1))
	took := waitUntil(t, 2*time.Second, fmt.Sprintf("127.0.0.1:%d to answer", p1), func() bool { return httpGet(p1) == "hello\n" })
	t.Logf("PASS tcp forward answered %s after docker run returned", took.Round(time.Millisecond))
	assertLoopbackOnly(t, p1)
	if out := c.tender("ports"); !strings.Contains(out, fmt.Sprintf("tcp    127.0.0.1:%d", p1)) || !strings.Contains(out, "forwarded") {
		t.Errorf("tender ports =\n%s\nwant tcp 127.0.0.1:%d forwarded", out, p1)
	}

	// 2. It closes within 2 s of the container going.
	docker("docker rm -f web >/dev/null")
	took = waitUntil(t, 2*time.Second, fmt.Sprintf("127.0.0.1:%d to close", p1), func() bool { return !tcpOpen(p1) })
	t.Logf("PASS tcp forward closed %s after docker rm -f returned", took.Round(time.Millisecond))

	// 3. UDP, with an echo server (busybox's nc has no UDP).
	bin := filepath.Join(t.TempDir(), "udpecho")
	build := exec.Command("go", "build", "-o", bin, "./testdata/udpecho")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // static: the image has nothing else
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building udpecho: %v\n%s", err, out)
	}
	pu := testfakes.FreeUDPPort(t)
	docker(fmt.Sprintf(`tar -C %q -c udpecho | docker import -c 'ENTRYPOINT ["/udpecho"]' - udpecho >/dev/null
docker run -d --name udp -p %d:5353/udp udpecho >/dev/null`, filepath.Dir(bin), pu))
	// docker-proxy listens before the container's program does: start
	// the clock when the echo server says it listens.
	waitUntil(t, 30*time.Second, "udpecho to listen", func() bool {
		out, err := c.tenderErr("ssh", "--", "docker logs udp 2>&1")
		return err == nil && strings.Contains(out, "listening on udp")
	})
	took = waitUntil(t, 2*time.Second, fmt.Sprintf("udp 127.0.0.1:%d to echo", pu), func() bool { return udpEcho(pu, "ping") == "echo: ping" })
	t.Logf("PASS udp forward echoed %s after the server listened", took.Round(time.Millisecond))
	assertLoopbackOnly(t, pu)

	// 4. A host port already taken is skipped and reported, then taken up
	// once it is free.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p2 := held.Addr().(*net.TCPAddr).Port
	docker(fmt.Sprintf(`docker run -d --name taken -p %d:80 busybox httpd -f -p 80 >/dev/null`, p2))
	waitUntil(t, 2*time.Second, "the taken port to be reported", func() bool {
		out, _ := c.tenderErr("ports")
		return strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", p2)) && strings.Contains(out, "skipped: 127.0.0.1:"+strconv.Itoa(p2)+"/tcp is in use by another program on the host")
	})
	if log, _ := os.ReadFile(filepath.Join(mdir, "hostagent.log")); !strings.Contains(string(log), fmt.Sprintf("guest port tcp/%d: skipped", p2)) {
		t.Errorf("hostagent.log does not report the skipped port %d", p2)
	}
	held.Close()
	waitUntil(t, 8*time.Second, "the freed port to be forwarded", func() bool { return tcpOpen(p2) })
	t.Log("PASS taken host port skipped, reported, and forwarded once free")

	// 5. Shares: host → container, container → host with host ownership,
	// symlinks both ways.
	if err := os.WriteFile(filepath.Join(share, "from-host.txt"), []byte("written on the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("from-host.txt", filepath.Join(share, "host-link")); err != nil {
		t.Fatal(err)
	}
	out := docker(fmt.Sprintf(`docker run --rm -v %q:/src busybox sh -c 'cat /src/from-host.txt /src/host-link; echo made in a container > /src/from-container.txt; ln -s from-container.txt /src/container-link'`, share))
	if out != "written on the host\nwritten on the host\n" {
		t.Errorf("the container read %q through the share", out)
	}
	data, err := os.ReadFile(filepath.Join(share, "container-link"))
	if err != nil || string(data) != "made in a container\n" {
		t.Errorf("the host reads the container's file through its symlink: %q, %v", data, err)
	}
	if target, err := os.Readlink(filepath.Join(share, "container-link")); err != nil || target != "from-container.txt" {
		t.Errorf("the container's symlink reads %q, %v on the host", target, err)
	}
	if fi, err := os.Stat(filepath.Join(share, "from-container.txt")); err == nil {
		uid := fi.Sys().(*syscall.Stat_t).Uid
		if int(uid) != os.Getuid() {
			t.Errorf("the container's file is owned by uid %d on the host, want the host user's %d", uid, os.Getuid())
		}
	}
	t.Log("PASS share read and written both ways, host ownership, symlinks")
	shareConfined(t, c, share)

	// 5b. The writable share is virtiofs where the host can serve it (share_type
	// auto: virtiofsd found, tender run as root), the read-only one 9p (QEMU
	// refuses its writes on the host). A file the host rewrites reads right
	// within ~1 s (virtiofsd's cache=auto keeps attributes 1 s), and a
	// program on the share runs (exec maps it).
	mounts := c.tender("ssh", "--", "cat /proc/mounts")
	wantType := "9p"
	if qemu.FindVirtiofsd("") != nil && os.Geteuid() == 0 {
		wantType = "virtiofs"
	}
	if !strings.Contains(mounts, " "+share+" "+wantType+" ") || !strings.Contains(mounts, " "+ro+" 9p ") {
		t.Errorf("want %s on %s and 9p on %s; /proc/mounts:\n%s", wantType, share, ro, mounts)
	}
	took = hostEditSeen(t, c, filepath.Join(share, "from-host.txt"), "rewritten on the host, longer\n")
	// virtiofsd's cache=auto lets the guest keep attributes 1 s; one more
	// poll (a cat under TCG takes 0.1–0.3 s) on top.
	if took > 2*time.Second {
		t.Errorf("the guest read the host's edit only after %s, want within ~1 s", took.Round(time.Millisecond))
	}
	out = docker(fmt.Sprintf(`docker run --rm -v %q:/src busybox sh -c 'cat /src/from-host.txt; cp /bin/busybox /src/echo && /src/echo ran from the share'`, share))
	if out != "rewritten on the host, longer\nran from the share\n" {
		t.Errorf("after the host's edit a container read and ran %q", out)
	}
	t.Logf("PASS %s share: a host edit read right after %s; a program on the share runs", wantType, took.Round(time.Millisecond))

	// 6. A read-only share refuses writes and still reads.
	if err := os.WriteFile(filepath.Join(ro, "hello.txt"), []byte("read me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = docker(fmt.Sprintf(`docker run --rm -v %q:/ro busybox sh -c 'cat /ro/hello.txt; if echo x > /ro/new.txt; then echo WROTE; fi' 2>&1`, ro))
	if !strings.Contains(out, "read me") || strings.Contains(out, "WROTE") || !strings.Contains(out, "Read-only file system") {
		t.Errorf("read-only share: %q", out)
	}
	if _, err := os.Stat(filepath.Join(ro, "new.txt")); err == nil {
		t.Error("a write reached the host through a read-only share")
	}
	t.Log("PASS read-only share refuses writes")

	// 7. The clock set an hour back, as a person would (GNU date is in the
	// guest), is put right within 15 s.
	out = c.tender("ssh", "--", `sudo date -s '-1 hour' >/dev/null && date +%s`)
	if g, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil || time.Now().Unix()-g < 3500 {
		t.Fatalf("sudo date -s '-1 hour' did not set the guest clock back: %q %v", out, err)
	}
	took = waitUntil(t, 15*time.Second, "the guest clock to be corrected", func() bool {
		out, err := c.tenderErr("ssh", "--", "date +%s")
		g, perr := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		d := time.Now().Unix() - g
		return err == nil && perr == nil && d <= 1 && d >= -1
	})
	t.Logf("PASS guest clock corrected within %s", took.Round(time.Millisecond))

	// 8. A host agent killed with -9 is restarted by `up`, and the ports
	// it missed come back.
	pidBytes, err := os.ReadFile(filepath.Join(mdir, "hostagent.pid"))
	if err != nil {
		t.Fatal(err)
	}
	oldPID, _ := strconv.Atoi(strings.TrimSpace(string(pidBytes)))
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p3 := testfakes.FreeTCPPort(t)
	docker(fmt.Sprintf(`docker run -d --name late -p %d:80 busybox sh -c 'mkdir /w; echo late > /w/index.html; exec httpd -f -p 80 -h /w' >/dev/null`, p3))
	time.Sleep(2 * time.Second)
	if httpGet(p3) != "" {
		t.Fatal("a port opened while the host agent was dead was forwarded anyway")
	}
	c.tender("up")
	newPID, _ := os.ReadFile(filepath.Join(mdir, "hostagent.pid"))
	if strings.TrimSpace(string(newPID)) == strconv.Itoa(oldPID) {
		t.Fatal("up did not start a new host agent")
	}
	waitUntil(t, 10*time.Second, "the forwards to come back", func() bool {
		return httpGet(p3) == "late\n" && udpEcho(pu, "again") == "echo: again" && tcpOpen(p2)
	})
	t.Log("PASS host agent killed with -9 restarted by up; forwards back")

	// 9. down stops the host agent and forgets the forwards.
	c.tender("down")
	if alive(oldPID) || alive(atoi(string(newPID))) {
		t.Error("a host agent still runs after down")
	}
	if _, err := os.Stat(filepath.Join(mdir, "ports.json")); err == nil {
		t.Error("ports.json is still there after down")
	}
	waitUntil(t, 5*time.Second, "virtiofsd to exit after down", func() bool { return len(processesWith(mdir)) == 0 })

	// 10. A QEMU killed with -9 takes its virtiofsd along.
	if wantType == "virtiofs" {
		c.tender("up")
		if len(processesWith(filepath.Join(mdir, "virtiofs0.sock"))) == 0 {
			t.Fatal("no virtiofsd runs for the share")
		}
		qpid := atoi(readFile(t, filepath.Join(mdir, "qemu.pid")))
		if err := syscall.Kill(qpid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		took := waitUntil(t, 5*time.Second, "virtiofsd to exit after QEMU was killed", func() bool { return len(processesWith(mdir)) == 0 })
		t.Logf("PASS virtiofsd gone %s after kill -9 of QEMU", took.Round(time.Millisecond))
	}
}

// hostEditSeen has the guest read path every 50 ms (the first read caches
// it), rewrites it on the host with content, and returns how long the guest
// went on reading the old text: one ssh session, so no connection setup is
// counted.
func hostEditSeen(t *testing.T, c *cli, path, content string) time.Duration {
	t.Helper()
	cmd := exec.Command(c.bin, "ssh", "--", fmt.Sprintf(`cat %[1]q; echo READY; end=$(( $(date +%%s) + 10 )); while [ $(date +%%s) -lt $end ]; do cat %[1]q; sleep 0.05; done`, path))
	cmd.Env = c.env()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "READY" {
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	wrote := time.Now()
	want := strings.TrimSuffix(content, "\n")
	for sc.Scan() {
		if sc.Text() == want {
			return time.Since(wrote)
		}
	}
	t.Fatalf("the guest never read the host's edit of %s", path)
	return 0
}

// processesWith lists the live processes (not zombies) whose argv mentions s.
func processesWith(s string) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			pids = append(pids, atoi(filepath.Base(d)))
		}
	}
	return pids
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func atoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// waitUntil polls cond every 50 ms until it holds or limit passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("FAIL waited %s for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tcpOpen(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// httpGet fetches / with a raw request (busybox httpd speaks HTTP/1.0) and
// returns the body, or "" on any failure.
func httpGet(port int) string {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 300*time.Millisecond)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprint(c, "GET /index.html HTTP/1.0\r\n\r\n")
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	_, body, ok := strings.Cut(b.String(), "\r\n\r\n")
	if !ok || !strings.HasPrefix(b.String(), "HTTP/1.") || !strings.Contains(strings.SplitN(b.String(), "\r\n", 2)[0], " 200 ") {
		return ""
	}
	return body
}

func udpEcho(port int, msg string) string {
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte(msg)); err != nil {
		return ""
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// assertLoopbackOnly checks, in the host's socket tables, that whatever
// listens on port listens on 127.0.0.1 only.
func assertLoopbackOnly(t *testing.T, port int) {
	t.Helper()
	found := false
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		socks, err := portwatch.ParseProcNet(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range socks {
			if s.LocalPort != port || s.RemotePort != 0 {
				continue
			}
			found = true
			if !s.Local.Equal(net.IPv4(127, 0, 0, 1)) {
				t.Errorf("%s: port %d listens on %s, not only 127.0.0.1", table, port, s.Local)
			}
		}
	}
	if !found {
		t.Errorf("nothing listens on host port %d", port)
	}
}

// shareConfined checks that what the guest reaches through the share at
// share (mounted at the same path in the guest) is the folder and nothing
// beside it on the host: a symlink pointing out, absolute or up, and ".."
// from the share's root resolve in the guest, never on the host; and root
// in the guest cannot make a device node the host would open.
func shareConfined(t *testing.T, c *cli, share string) {
	t.Helper()
	shareType := "unmounted"
	for _, line := range strings.Split(c.tender("ssh", "--", "cat /proc/mounts"), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[1] == share {
			shareType = f[2]
		}
	}
	if shareType == "unmounted" {
		t.Fatalf("%s is not mounted in the guest", share)
	}
	outside := filepath.Join(filepath.Dir(share), "outside-"+filepath.Base(share)+".txt")
	secret := "host secret " + filepath.Base(share)
	if err := os.WriteFile(outside, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outside)
	for name, target := range map[string]string{"abs-link": outside, "up-link": filepath.Join("..", filepath.Base(outside))} {
		if err := os.Symlink(target, filepath.Join(share, name)); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(share, name))
	}
	for _, path := range []string{"abs-link", "up-link", "../" + filepath.Base(outside)} {
		out, _ := c.tenderErr("ssh", "--", "cat "+shellQuote(share+"/"+path)+" 2>&1")
		if strings.Contains(out, secret) {
			t.Errorf("%s: the guest read the host file beside the share through %s", shareType, path)
		}
	}
	node := filepath.Join(share, "made-null")
	defer os.Remove(node)
	out, _ := c.tenderErr("ssh", "--", "sudo mknod "+shellQuote(node)+" c 1 3 2>&1; ls -l "+shellQuote(node)+" 2>&1")
	if fi, err := os.Lstat(node); err == nil && fi.Mode()&os.ModeDevice != 0 {
		t.Errorf("%s: root in the guest made a device node on the host (%s): %s", shareType, fi.Mode(), out)
	}
	t.Logf("PASS %s share confined: links out and .. resolve in the guest; mknod: %s", shareType, strings.TrimSpace(out))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
