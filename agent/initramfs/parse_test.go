package initramfs

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

func TestParseModuleList(t *testing.T) {
	in := `# load order, dependencies first
kernel/drivers/cdrom/cdrom.ko

  kernel/drivers/scsi/sr_mod.ko  
kernel/fs/isofs/isofs.ko
`
	got, err := ParseModuleList(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kernel/drivers/cdrom/cdrom.ko", "kernel/drivers/scsi/sr_mod.ko", "kernel/fs/isofs/isofs.ko"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestParseModuleListRejects(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"/lib/modules/x/kernel/a.ko\n", `line 1: want a relative path to a .ko file, got "/lib/modules/x/kernel/a.ko"`},
		{"# c\n../../etc/a.ko\n", `line 2: want a relative path to a .ko file, got "../../etc/a.ko"`},
		{"kernel/fs/isofs/isofs.ko.xz\n", `line 1: want a relative path to a .ko file, got "kernel/fs/isofs/isofs.ko.xz"`},
		{"kernel//fs/a.ko\n", `line 1: want a relative path to a .ko file, got "kernel//fs/a.ko"`},
	} {
		_, err := ParseModuleList(strings.NewReader(tc.in))
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseModuleList(%q) error = %v, want %q", tc.in, err, tc.err)
		}
	}
}

// iso9660Image returns the first ProbeSize bytes of an iso9660 filesystem.
func iso9660Image(volumeID string) []byte {
	buf := make([]byte, ProbeSize)
	testfakes.StampISO(buf, volumeID)
	return buf
}

// extImage returns the first ProbeSize bytes of an ext filesystem.
func extImage(label string) []byte {
	buf := make([]byte, ProbeSize)
	binary.LittleEndian.PutUint16(buf[1024+56:], 0xEF53)
	copy(buf[1024+120:], label)
	return buf
}

func TestDetectFS(t *testing.T) {
	hybrid := iso9660Image("tender-v0.1.0")
	copy(hybrid, []byte{0xeb, 0x63, 0x90}) // isohybrid MBR code in front
	for _, tc := range []struct {
		name        string
		buf         []byte
		fsType, lbl string
	}{
		{"iso9660", iso9660Image("tender-v0.1.0"), FSISO9660, "tender-v0.1.0"},
		{"isohybrid", hybrid, FSISO9660, "tender-v0.1.0"},
		{"iso9660 full-length label", iso9660Image("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"), FSISO9660, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"},
		{"ext4 data disk", extImage("tender-data"), FSExt, "tender-data"},
		{"ext without label", extImage(""), FSExt, ""},
		{"zeros", make([]byte, ProbeSize), FSUnknown, ""},
		{"tar userdata", append([]byte("tender, please format-me"), make([]byte, ProbeSize)...), FSUnknown, ""},
		{"short read", iso9660Image("x")[:16*2048+10], FSUnknown, ""},
		{"empty", nil, FSUnknown, ""},
	} {
		fsType, lbl := DetectFS(tc.buf)
		if fsType != tc.fsType || lbl != tc.lbl {
			t.Errorf("%s: DetectFS = %q, %q; want %q, %q", tc.name, fsType, lbl, tc.fsType, tc.lbl)
		}
	}
}

func TestIsCandidate(t *testing.T) {
	for name, want := range map[string]bool{
		"sr0": true, "sr1": true, "sda": true, "sdb": true, "vda": true,
		"loop0": false, "ram0": false, "nvme0n1": false, "zram0": false, "sd": false, "md0": false,
	} {
		if got := IsCandidate(name); got != want {
			t.Errorf("IsCandidate(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseUptime(t *testing.T) {
	got, err := ParseUptime("4.73 7.91\n")
	if err != nil || got != "4.73" {
		t.Errorf("ParseUptime = %q, %v; want 4.73", got, err)
	}
	if _, err := ParseUptime(""); err == nil {
		t.Error("ParseUptime(\"\") succeeded, want an error")
	}
}

func TestOverlayOptions(t *testing.T) {
	got := OverlayOptions("/lower", "/rw/upper", "/rw/work")
	if want := "lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
