package vmtest

import (
	"reflect"
	"testing"
)

func TestCmdline(t *testing.T) {
	got := Cmdline(Options{ISO: "/o/tender.iso", Disk: "/d/disk.raw", MemoryMiB: 1024, CPUs: 2},
		2222, 2376, map[int]int{9000: 19000, 8080: 18080}, "/d/serial.log", "/d/qmp.sock", false)
	want := []string{
		"-accel", "tcg,thread=single", "-m", "1024", "-smp", "2",
		"-nodefaults", "-no-user-config", "-display", "none",
		"-cdrom", "/o/tender.iso", "-boot", "d",
		"-drive", "file=/d/disk.raw,format=raw,if=virtio",
		"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:2376-:2376,hostfwd=tcp:127.0.0.1:18080-:8080,hostfwd=tcp:127.0.0.1:19000-:9000",
		"-device", "virtio-net-pci,netdev=net0",
		"-serial", "file:/d/serial.log",
		"-qmp", "unix:/d/qmp.sock,server=on,wait=off",
		"-no-reboot",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Cmdline =\n%q\nwant\n%q", got, want)
	}
	if got := Cmdline(Options{ISO: "x"}, 1, 2, nil, "s", "q", true); got[1] != "kvm" {
		t.Errorf("accel with kvm = %q", got[1])
	}
}
