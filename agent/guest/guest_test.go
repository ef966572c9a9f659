//go:build linux

package guest

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/agent/dhcp"
)

func TestSSHDConfig(t *testing.T) {
	want := `# written by tender-agent at each boot; changes are lost
Port 22
HostKey /var/lib/tender/ssh/ssh_host_ed25519_key
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
PermitEmptyPasswords no
UsePAM no
AllowUsers docker
AuthorizedKeysFile .ssh/authorized_keys
PrintMotd no
UseDNS no
X11Forwarding no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
ClientAliveInterval 30
Subsystem sftp internal-sftp
`
	if got := renderSSHDConfig("/var/lib/tender/ssh/ssh_host_ed25519_key"); got != want {
		t.Errorf("sshd_config =\n%s\nwant\n%s", got, want)
	}
}

func TestDockerdArgs(t *testing.T) {
	want := []string{
		"--tlsverify",
		"--tlscacert=/var/lib/tender/tls/ca.pem",
		"--tlscert=/var/lib/tender/tls/server.pem",
		"--tlskey=/var/lib/tender/tls/server-key.pem",
		"-H", "tcp://0.0.0.0:2376",
		"-H", "unix:///var/run/docker.sock",
		"--config-file", "/var/lib/tender/daemon.json",
		"--containerd=/run/containerd/containerd.sock",
	}
	if got := dockerdArgs(); !reflect.DeepEqual(got, want) {
		t.Errorf("dockerd args = %q\nwant %q", got, want)
	}
}

const mountinfo = `22 1 0:21 / / rw,relatime shared:1 - overlay overlay rw,lowerdir=/run/ro,upperdir=/run/rw/upper
23 22 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw
24 22 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:3 - sysfs sysfs rw
25 22 0:5 / /dev rw,nosuid shared:4 - devtmpfs devtmpfs rw,size=1000k
26 25 0:24 / /dev/pts rw shared:5 - devpts devpts rw,gid=5
27 24 0:25 / /sys/fs/cgroup rw shared:6 - cgroup2 cgroup2 rw,nsdelegate
28 22 0:26 / /run rw shared:7 - tmpfs tmpfs rw
30 22 254:0 / /mnt/tender-data rw,noatime shared:8 - ext4 /dev/vda rw
31 22 254:0 /var/lib/docker /var/lib/docker rw,noatime shared:8 - ext4 /dev/vda rw
32 22 254:0 /home/docker /home/my\040docker rw,noatime shared:8 - ext4 /dev/vda rw
40 31 0:40 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw
`

func TestMountinfo(t *testing.T) {
	mounts := parseMountinfo(strings.NewReader(mountinfo))
	if len(mounts) != 11 {
		t.Fatalf("parsed %d mounts, want 11", len(mounts))
	}
	if got := mounts[9]; got != (mountEntry{target: "/home/my docker", fstype: "ext4", source: "/dev/vda"}) {
		t.Errorf("escaped mount = %+v", got)
	}
	want := []string{"/var/lib/docker/overlay2/abc/merged", "/home/my docker", "/var/lib/docker", "/mnt/tender-data", "/run"}
	if got := unmountOrder(mounts); !reflect.DeepEqual(got, want) {
		t.Errorf("unmount order = %q\nwant %q", got, want)
	}
}

func TestParseModules(t *testing.T) {
	in := "# deps first\nkernel/fs/overlayfs/overlay.ko\n\n  kernel/drivers/block/virtio_blk.ko  \n"
	want := []string{"kernel/fs/overlayfs/overlay.ko", "kernel/drivers/block/virtio_blk.ko"}
	if got := parseModules(strings.NewReader(in)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseModules = %q", got)
	}
}

func TestLoadModulesMissingFile(t *testing.T) {
	err := loadModules(t.TempDir(), []string{"nope.ko"}, 2, 5, nil)
	if err == nil || !strings.Contains(err.Error(), "nope.ko") {
		t.Errorf("loadModules = %v, want an error naming nope.ko", err)
	}
}

func TestAccounts(t *testing.T) {
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\ndocker:x:1000:1000:tender:/home/docker:/bin/sh\n")
	if got, ok := lookupUser(passwd, "docker"); !ok || got != (account{uid: 1000, gid: 1000, home: "/home/docker"}) {
		t.Errorf("lookupUser = %+v, %v", got, ok)
	}
	if _, ok := lookupUser(passwd, "nobody"); ok {
		t.Error("found a missing user")
	}
	shadow := []byte("root:*:19000:0:99999:7:::\ndocker:!:19000:0:99999:7:::\n")
	got, changed := unlockShadow(shadow, "docker")
	if !changed || string(got) != "root:*:19000:0:99999:7:::\ndocker:*:19000:0:99999:7:::\n" {
		t.Errorf("unlockShadow = %q, %v", got, changed)
	}
	if _, changed := unlockShadow(got, "docker"); changed {
		t.Error("unlockShadow changed an unlocked account")
	}
}

func TestMergeAuthorizedKeys(t *testing.T) {
	for _, tc := range []struct{ existing, keys, want string }{
		{"", "ssh-ed25519 AAA host\n", "ssh-ed25519 AAA host\n"},
		{"ssh-ed25519 AAA host\n", "ssh-ed25519 AAA host\n", "ssh-ed25519 AAA host\n"},
		{"ssh-rsa BBB mine", "ssh-ed25519 AAA host\n", "ssh-rsa BBB mine\nssh-ed25519 AAA host\n"},
	} {
		if got := string(mergeAuthorizedKeys([]byte(tc.existing), []byte(tc.keys))); got != tc.want {
			t.Errorf("merge(%q, %q) = %q, want %q", tc.existing, tc.keys, got, tc.want)
		}
	}
}

func TestRenderHosts(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1\tlocalhost\n", "127.0.0.1\tlocalhost\n127.0.1.1\tdev\n"},
		{"127.0.0.1 localhost\n127.0.1.1 old\n::1 localhost\n", "127.0.0.1 localhost\n127.0.1.1\tdev\n::1 localhost\n"},
		{"", "127.0.0.1\tlocalhost\n127.0.1.1\tdev\n"},
	} {
		if got := renderHosts(tc.in, "dev"); got != tc.want {
			t.Errorf("renderHosts(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolvConf(t *testing.T) {
	got := renderResolvConf([]dhcp.Lease{{DNS: []net.IP{net.IPv4(10, 0, 2, 3)}, Domain: "example.org"}})
	want := "# written by tender-agent from DHCP\nsearch example.org\nnameserver 10.0.2.3\n"
	if got != want {
		t.Errorf("resolv.conf = %q, want %q", got, want)
	}
}

// A machine on a tender network: the private NIC's lease (eth1, the
// switch's DNS and search domain) comes first, whatever order the leases
// came in, then the NAT NIC's; each server and domain once.
func TestResolvConfWithAPrivateNetwork(t *testing.T) {
	r := &resolvState{order: []string{"eth0", "eth1"}}
	var conf string
	write := func(c string) error { conf = c; return nil }
	nat := dhcp.Lease{DNS: []net.IP{net.IPv4(10, 0, 2, 3)}, Domain: "example.org"}
	private := dhcp.Lease{DNS: []net.IP{net.IPv4(192, 168, 127, 1)}, Search: []string{"tender.internal", "example.org"}}
	if err := r.set("eth0", nat, write); err != nil {
		t.Fatal(err)
	}
	if want := "# written by tender-agent from DHCP\nsearch example.org\nnameserver 10.0.2.3\n"; conf != want {
		t.Errorf("with eth0 only: %q, want %q", conf, want)
	}
	if err := r.set("eth1", private, write); err != nil {
		t.Fatal(err)
	}
	want := "# written by tender-agent from DHCP\nsearch tender.internal example.org\nnameserver 192.168.127.1\nnameserver 10.0.2.3\n"
	if conf != want {
		t.Errorf("with both: %q, want %q", conf, want)
	}
	if err := r.set("eth0", nat, write); err != nil { // a renewal keeps the order
		t.Fatal(err)
	}
	if conf != want {
		t.Errorf("after eth0 renewed: %q, want %q", conf, want)
	}
}

// nics orders NICs by their device, so that the NAT NIC (the first PCI
// slot) is the primary one even when a virtio NIC was named eth0 first.
func TestNICsInDeviceOrder(t *testing.T) {
	root := t.TempDir()
	sysNet := filepath.Join(root, "class", "net")
	for name, dev := range map[string]string{
		"eth0": "devices/pci0000:00/0000:00:08.0/virtio0", // VirtualBox's NIC 2, virtio
		"eth1": "devices/pci0000:00/0000:00:03.0",         // NIC 1, the e1000 NAT NIC
		"lo":   "",
		"br0":  "",
	} {
		if err := os.MkdirAll(filepath.Join(sysNet, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if dev == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Join(root, dev), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, dev), filepath.Join(sysNet, name, "device")); err != nil {
			t.Fatal(err)
		}
	}
	if got := nics(sysNet); !reflect.DeepEqual(got, []string{"eth1", "eth0"}) {
		t.Errorf("nics = %q, want [eth1 eth0]", got)
	}
}

func TestPowerPress(t *testing.T) {
	ev := func(typ, code uint16, value int32) []byte {
		b := make([]byte, inputEventSize)
		binary.LittleEndian.PutUint16(b[16:], typ)
		binary.LittleEndian.PutUint16(b[18:], code)
		binary.LittleEndian.PutUint32(b[20:], uint32(value))
		return b
	}
	if !isPowerPress(ev(evKey, keyPower, 1)) {
		t.Error("power key press not recognised")
	}
	for _, b := range [][]byte{ev(evKey, keyPower, 0), ev(evKey, 28, 1), ev(0, keyPower, 1), ev(evKey, keyPower, 1)[:20]} {
		if isPowerPress(b) {
			t.Errorf("%x taken for a power key press", b)
		}
	}
}

func TestUptimeAndPhase(t *testing.T) {
	v, err := parseUptime("12.34 40.00\n")
	if err != nil || v != 12.34 {
		t.Errorf("parseUptime = %v, %v", v, err)
	}
	if _, err := parseUptime(""); err == nil {
		t.Error("empty uptime parsed")
	}
	if got := api.PhaseLine(api.PhaseDockerdReady, 9.876); got != "tender-agent: phase dockerd-ready 9.88" {
		t.Errorf("PhaseLine = %q", got)
	}
}

func TestUserdataKeptOnDisk(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown")
	}
	u := api.Userdata{Hostname: "dev", AuthorizedKeys: []byte("ssh-ed25519 AAA\n"), SSHHostKey: []byte("key"),
		CACert: []byte("ca"), ServerCert: []byte("cert"), ServerKey: []byte("skey"),
		Shares: []api.Share{{Type: "9p", Tag: "home", Target: "/Users"}}}
	dir := t.TempDir()
	if err := saveUserdata(dir, u); err != nil {
		t.Fatal(err)
	}
	got, err := loadUserdata(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("loaded %+v\nwant %+v", got, u)
	}
	fi, err := os.Stat(dir + "/" + api.ServerKeyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("server key mode = %v, %v", fi.Mode(), err)
	}
	if err := os.Remove(dir + "/" + api.CACertFile); err != nil {
		t.Fatal(err)
	}
	if _, err := loadUserdata(dir); err == nil {
		t.Error("userdata without its CA loaded")
	}
}

func TestExitError(t *testing.T) {
	e := &exitError{name: "mkfs.ext4", status: 1 << 8, output: "mke2fs 1.47\n/dev/vda is apparently in use\n"}
	if got := e.Error(); got != "running mkfs.ext4: exit status 1: /dev/vda is apparently in use" {
		t.Errorf("Error() = %q", got)
	}
}

func TestSplitModules(t *testing.T) {
	list := []string{
		"kernel/drivers/virtio/virtio.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/virtio_net.ko",
		"kernel/lib/crc16.ko", "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko",
		"kernel/net/netfilter/nf_tables.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/crypto/crc32c_generic.ko",
		"kernel/net/bridge/bridge.ko", "kernel/net/9p/9pnet.ko", "kernel/fs/9p/9p.ko", "kernel/fs/vboxsf/vboxsf.ko",
	}
	want := [3][]string{
		{"kernel/drivers/virtio/virtio.ko", "kernel/net/core/failover.ko", "kernel/drivers/net/virtio_net.ko",
			"kernel/lib/crc16.ko", "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/ext4/ext4.ko", "kernel/crypto/crc32c_generic.ko"},
		{"kernel/net/netfilter/nf_tables.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/net/bridge/bridge.ko"},
		{"kernel/net/9p/9pnet.ko", "kernel/fs/9p/9p.ko", "kernel/fs/vboxsf/vboxsf.ko"},
	}
	if got := splitModules(list); !reflect.DeepEqual(got, want) {
		t.Errorf("split = %q\nwant %q", got, want)
	}
}

func TestMinFree(t *testing.T) {
	for total, want := range map[int]int{990300: 3980, 0: 0, 100: 128, 1 << 40: 262144} {
		if got := minFreeKiB(total); got != want {
			t.Errorf("minFreeKiB(%d) = %d, want %d", total, got, want)
		}
	}
}

func TestMkfsArgs(t *testing.T) {
	want := []string{"-F", "-q", "-L", "tender-data", "-m", "1", "-U", "u-1",
		"-E", "lazy_itable_init=1,lazy_journal_init=1,hash_seed=h-2", "/dev/vda"}
	if got := mkfsArgs("/dev/vda", "u-1", "h-2"); !reflect.DeepEqual(got, want) {
		t.Errorf("mkfsArgs = %q", got)
	}
	u := randomUUID()
	if len(u) != 36 || u[14] != '4' || !strings.ContainsAny(u[19:20], "89ab") || u == randomUUID() {
		t.Errorf("randomUUID = %q", u)
	}
}

func TestNoDMAReserve(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"256\t256\t32\t0\t0\n", "0 256 32 0 0", true},
		{"0 256 32 0 0\n", "", false},
		{"", "", false},
	} {
		got, ok := noDMAReserve(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("noDMAReserve(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
