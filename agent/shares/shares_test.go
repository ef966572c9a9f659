//go:build linux

package shares

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

const moduleList = `# load order
kernel/drivers/virtio/virtio_pci.ko.xz
kernel/fs/netfs/netfs.ko.xz
kernel/net/9p/9pnet.ko.xz
kernel/net/9p/9pnet_virtio.ko.xz
kernel/fs/9p/9p.ko.xz
kernel/fs/fuse/fuse.ko.xz
kernel/fs/fuse/virtiofs.ko.xz
kernel/drivers/virt/vboxguest/vboxguest.ko.xz
kernel/fs/vboxsf/vboxsf.ko.xz
kernel/net/bridge/bridge.ko.xz
`

func TestModulesFor(t *testing.T) {
	list := ReadModuleList(strings.NewReader(moduleList))
	if len(list) != 10 {
		t.Fatalf("ReadModuleList kept %d lines, want 10", len(list))
	}
	got := ModulesFor(list, []string{"9p"})
	want := []string{"kernel/fs/netfs/netfs.ko.xz", "kernel/net/9p/9pnet.ko.xz", "kernel/net/9p/9pnet_virtio.ko.xz", "kernel/fs/9p/9p.ko.xz"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("9p modules = %q, want %q", got, want)
	}
	got = ModulesFor(list, []string{"vboxsf"})
	want = []string{"kernel/drivers/virt/vboxguest/vboxguest.ko.xz", "kernel/fs/vboxsf/vboxsf.ko.xz"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vboxsf modules = %q, want %q", got, want)
	}
	got = ModulesFor(list, []string{"virtiofs"})
	want = []string{"kernel/fs/fuse/fuse.ko.xz", "kernel/fs/fuse/virtiofs.ko.xz"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("virtiofs modules = %q, want %q", got, want)
	}
	if got := ModulesFor(list, nil); got != nil {
		t.Fatalf("no shares need %q", got)
	}
}

func TestOptions(t *testing.T) {
	fs, data, err := Options(api.Share{Type: "9p", Tag: "share0"})
	if err != nil || fs != "9p" || data != "trans=virtio,version=9p2000.L,msize=512000,cache=mmap,access=client" {
		t.Fatalf("9p options = %q %q %v", fs, data, err)
	}
	if fs, data, err := Options(api.Share{Type: "virtiofs", Tag: "share0"}); err != nil || fs != "virtiofs" || data != "" {
		t.Fatalf("virtiofs options = %q %q %v", fs, data, err)
	}
	if fs, _, err := Options(api.Share{Type: "vboxsf", Tag: "share0"}); err != nil || fs != "vboxsf" {
		t.Fatalf("vboxsf options = %q %v", fs, err)
	}
	if _, _, err := Options(api.Share{Type: "nfs", Tag: "x"}); err == nil {
		t.Fatal("an unknown share type was accepted")
	}
}

func TestHostTypes(t *testing.T) {
	for _, c := range []struct {
		typ     string
		devices []int
		want    []string
	}{
		{"virtiofs", []int{1, 2, 26}, []string{"virtiofs"}},
		{"virtiofs", []int{1, 2, 9}, []string{"9p"}},  // share_type changed to 9p, or no virtiofsd this time
		{"9p", []int{1, 2, 26}, []string{"virtiofs"}}, // a machine made before virtiofs
		{"9p", []int{1, 2, 9}, []string{"9p"}},
		{"9p", nil, []string{"9p"}}, // nothing known: trust the userdata
		{"virtiofs", []int{9, 26}, []string{"virtiofs", "9p"}},
		{"9p", []int{9, 26}, []string{"9p", "virtiofs"}},
		{"virtiofs", []int{1, 2}, []string{"virtiofs"}}, // neither: the mount's error says so
		{"vboxsf", []int{9}, []string{"vboxsf"}},
	} {
		if got := HostTypes(c.typ, c.devices); !reflect.DeepEqual(got, c.want) {
			t.Errorf("HostTypes(%q, %v) = %q, want %q", c.typ, c.devices, got, c.want)
		}
	}
}

func TestMountAllFollowsTheHost(t *testing.T) {
	dir := t.TempDir()
	modules := filepath.Join(dir, "modules")
	if err := os.WriteFile(modules, []byte(moduleList), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	m := &Mounter{
		ModulesFile:   modules,
		ModulesDir:    "/lib/modules/6.12",
		VirtioDevices: func() []int { return []int{1, 2, 26} },
		LoadModule: func(path string) error {
			calls = append(calls, "load "+strings.TrimPrefix(path, "/lib/modules/6.12/"))
			return nil
		},
		Mount: func(source, target, fstype string, ro bool, data string) error {
			calls = append(calls, fmt.Sprintf("mount %s %s %s ro=%v %q", source, strings.TrimPrefix(target, dir), fstype, ro, data))
			return nil
		},
		Logf: func(string, ...any) {},
	}
	shares := []api.Share{{Type: "9p", Tag: "share0", Target: filepath.Join(dir, "home")}}
	if err := m.MountAll(context.Background(), shares); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"load kernel/fs/fuse/fuse.ko.xz", "load kernel/fs/fuse/virtiofs.ko.xz",
		`mount share0 /home virtiofs ro=false ""`,
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls:\n%q\nwant\n%q", calls, want)
	}
	if shares[0].Type != "9p" {
		t.Fatal("MountAll changed its caller's shares")
	}
}

func TestMountAll(t *testing.T) {
	dir := t.TempDir()
	modules := filepath.Join(dir, "modules")
	if err := os.WriteFile(modules, []byte(moduleList), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	loaded := map[string]bool{}
	m := &Mounter{
		ModulesFile: modules,
		ModulesDir:  "/lib/modules/6.12",
		LoadModule: func(path string) error {
			// 9p needs 9pnet: the first round fails it, the second loads it.
			if strings.HasSuffix(path, "/9p.ko.xz") && !loaded["9pnet"] {
				loaded["9pnet"] = true
				return errors.New("unknown symbol")
			}
			calls = append(calls, "load "+strings.TrimPrefix(path, "/lib/modules/6.12/"))
			return nil
		},
		Mount: func(source, target, fstype string, ro bool, data string) error {
			calls = append(calls, fmt.Sprintf("mount %s %s %s ro=%v", source, strings.TrimPrefix(target, dir), fstype, ro))
			if source == "broken" {
				return errors.New("no such device")
			}
			return nil
		},
		Logf: func(string, ...any) {},
	}
	err := m.MountAll(context.Background(), []api.Share{
		{Type: "9p", Tag: "share0", Target: filepath.Join(dir, "home")},
		{Type: "9p", Tag: "share1", Target: filepath.Join(dir, "ro"), ReadOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"load kernel/fs/netfs/netfs.ko.xz", "load kernel/net/9p/9pnet.ko.xz", "load kernel/net/9p/9pnet_virtio.ko.xz",
		"load kernel/fs/9p/9p.ko.xz",
		"mount share0 /home 9p ro=false", "mount share1 /ro 9p ro=true",
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls:\n%q\nwant\n%q", calls, want)
	}
	if fi, err := os.Stat(filepath.Join(dir, "ro")); err != nil || !fi.IsDir() {
		t.Fatalf("the mount point was not made: %v", err)
	}
}

// TestMountAllTriesBoth: with both device kinds present (read-only shares
// stay on 9p), a share whose tag is on the other device still mounts.
func TestMountAllTriesBoth(t *testing.T) {
	dir := t.TempDir()
	modules := filepath.Join(dir, "modules")
	if err := os.WriteFile(modules, []byte(moduleList), 0o644); err != nil {
		t.Fatal(err)
	}
	var calls []string
	m := &Mounter{
		ModulesFile:   modules,
		ModulesDir:    "/lib/modules/6.12",
		VirtioDevices: func() []int { return []int{9, 26} },
		LoadModule:    func(path string) error { return nil },
		Mount: func(source, target, fstype string, ro bool, data string) error {
			calls = append(calls, fmt.Sprintf("mount %s %s", source, fstype))
			if source == "share0" && fstype != "virtiofs" || source == "share1" && fstype != "9p" {
				return errors.New("no such tag")
			}
			return nil
		},
		Logf: func(string, ...any) {},
	}
	err := m.MountAll(context.Background(), []api.Share{
		{Type: "9p", Tag: "share0", Target: filepath.Join(dir, "home")},
		{Type: "9p", Tag: "share1", Target: filepath.Join(dir, "ro"), ReadOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mount share0 9p", "mount share0 virtiofs", "mount share1 9p"}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls:\n%q\nwant\n%q", calls, want)
	}
}
