//go:build linux

package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

func superblock(label string) []byte {
	head := make([]byte, HeadSize)
	binary.LittleEndian.PutUint16(head[superblockOffset+sbMagicOffset:], extMagic)
	copy(head[superblockOffset+sbLabelOffset:], label)
	return head
}

func tarHead(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	u := api.Userdata{Hostname: "h", AuthorizedKeys: []byte("k"), SSHHostKey: []byte("k"), CACert: []byte("c"), ServerCert: []byte("c"), ServerKey: []byte("k")}
	if err := api.WriteUserdata(&buf, u); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, HeadSize)
	copy(head, buf.Bytes())
	return head
}

func TestClassify(t *testing.T) {
	random := bytes.Repeat([]byte("precious"), HeadSize/8)
	// A tar whose stale bytes survived formatting: the label must win.
	formattedOverTar := tarHead(t)
	copy(formattedOverTar[superblockOffset:], superblock(api.DataLabel)[superblockOffset:])
	for _, tc := range []struct {
		name   string
		head   []byte
		kind   Kind
		reason string
	}{
		{"labelled", superblock("tender-data"), Formatted, ""},
		{"label over old tar", formattedOverTar, Formatted, ""},
		{"fresh", tarHead(t), Fresh, ""},
		{"other label", superblock("home"), Foreign, `it holds an ext filesystem labelled "home", not "tender-data"`},
		{"longer label", superblock("tender-data-old"), Foreign, `it holds an ext filesystem labelled "tender-data-old", not "tender-data"`},
		{"blank", make([]byte, HeadSize), Foreign, `it is blank: no "tender, please format-me" tar and no ext filesystem labelled "tender-data"`},
		{"random", random, Foreign, `it holds unknown data: no "tender, please format-me" tar and no ext filesystem labelled "tender-data"`},
		{"tiny", []byte("x"), Foreign, `it holds unknown data: no "tender, please format-me" tar and no ext filesystem labelled "tender-data"`},
	} {
		kind, reason := Classify(tc.head)
		if kind != tc.kind || reason != tc.reason {
			t.Errorf("%s: Classify = %v, %q; want %v, %q", tc.name, kind, reason, tc.kind, tc.reason)
		}
	}
}

// TestExtLabelFromMkfs checks the parser against a real mkfs.ext4 when the
// machine has one.
func TestExtLabelFromMkfs(t *testing.T) {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", "-L", api.DataLabel, img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	head, err := ReadHead(img)
	if err != nil {
		t.Fatal(err)
	}
	if label, ok := ExtLabel(head); !ok || label != api.DataLabel {
		t.Errorf("ExtLabel = %q, %v", label, ok)
	}
	if !ExtClean(head) {
		t.Error("a fresh filesystem is not clean")
	}
	if size, ok := ExtSize(head); !ok || size != 8<<20 {
		t.Errorf("ExtSize = %d, %v; want the 8 MiB it was made on", size, ok)
	}
	// With the 64bit feature (mkfs.ext4's default for ext4), the high half
	// of the block count counts too.
	if out, err := exec.Command(mkfs, "-q", "-F", "-O", "64bit", "-b", "4096", "-L", api.DataLabel, img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	big, err := ReadHead(img)
	if err != nil {
		t.Fatal(err)
	}
	if size, ok := ExtSize(big); !ok || size != 8<<20 {
		t.Errorf("ExtSize (64bit, 4 KiB blocks) = %d, %v", size, ok)
	}
	big[superblockOffset+sbBlocksHiOffset] = 1
	if size, _ := ExtSize(big); size != 8<<20+(1<<32)*4096 {
		t.Errorf("ExtSize with the high half set = %d", size)
	}
	if _, ok := ExtSize(make([]byte, HeadSize)); ok {
		t.Error("ExtSize of a blank disk")
	}
	head[superblockOffset+sbStateOffset] = stateValid | stateError
	if ExtClean(head) {
		t.Error("a filesystem with errors is clean")
	}
	head[superblockOffset+sbStateOffset] = 0
	if ExtClean(head) {
		t.Error("a filesystem left mounted is clean")
	}
	// ext4 with a journal keeps the valid bit while mounted; a crash
	// leaves the journal marked for recovery (seen after kill -9 of QEMU
	// in test/faults_e2e_test.go).
	head[superblockOffset+sbStateOffset] = stateValid
	head[superblockOffset+sbIncompatOffset] |= incompatRecover
	if ExtClean(head) {
		t.Error("a filesystem whose journal needs recovery is clean")
	}
	if ExtClean(make([]byte, HeadSize)) {
		t.Error("a blank disk is clean")
	}
}

func TestCandidates(t *testing.T) {
	sys := t.TempDir()
	for name, size := range map[string]string{"vda": "4194304", "sda": "100", "sr0": "100", "loop0": "100", "vdb": "0", "nvme0n1": "8", "dm-0": "9"} {
		if err := os.MkdirAll(filepath.Join(sys, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, name, "size"), []byte(size+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Candidates(sys)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"nvme0n1", "sda", "vda"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Candidates = %v, want %v", got, want)
	}
	if !strings.Contains(Fresh.String()+Formatted.String()+Foreign.String(), "freshformattedforeign") {
		t.Error("Kind names changed")
	}
}
