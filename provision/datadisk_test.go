package provision

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

func testUserdata() api.Userdata {
	return api.Userdata{
		Hostname:       "dev",
		AuthorizedKeys: []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA docker@host\n"),
		SSHHostKey:     []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nhost\n-----END OPENSSH PRIVATE KEY-----\n"),
		CACert:         []byte("-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n"),
		ServerCert:     []byte("-----BEGIN CERTIFICATE-----\nserver\n-----END CERTIFICATE-----\n"),
		ServerKey:      []byte("-----BEGIN EC PRIVATE KEY-----\nkey\n-----END EC PRIVATE KEY-----\n"),
		Shares:         []api.Share{{Type: "9p", Tag: "home", Target: "/Users/me"}},
	}
}

func TestCreateDataDisk(t *testing.T) {
	const size = 4 << 30 // 4 GiB, nearly all of it a hole
	dir := t.TempDir()
	p := filepath.Join(dir, "disk.raw")
	u := testUserdata()
	if err := CreateDataDisk(p, size, u); err != nil {
		t.Fatalf("CreateDataDisk: %v", err)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != size {
		t.Errorf("disk size = %d, want %d", info.Size(), size)
	}
	if runtime.GOOS != "windows" {
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("disk mode = %v, want 0600", perm)
		}
	}
	if used, ok := allocatedBytes(info); ok {
		if used > 1<<20 {
			t.Errorf("disk uses %d bytes on the host, want it sparse (under 1 MiB)", used)
		}
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	first := make([]byte, 512)
	if _, err := io.ReadFull(f, first); err != nil {
		t.Fatal(err)
	}
	if !api.HasUserdataMagic(first) {
		t.Errorf("the disk does not start with the %q entry", api.UserdataMagic)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := api.ReadUserdata(f)
	if err != nil {
		t.Fatalf("reading the userdata back: %v", err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("userdata read back = %+v, want %+v", got, u)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want only the disk (no temporary file left)", len(entries))
	}
}

func TestCreateDataDiskRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(existing, []byte("the user's docker images"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		size       int64
		u          api.Userdata
		want       string
	}{
		{"existing disk", existing, 1 << 20, testUserdata(), "already exists"},
		{"odd size", filepath.Join(dir, "a"), 1<<20 + 1, testUserdata(), "multiple of 512"},
		{"zero size", filepath.Join(dir, "b"), 0, testUserdata(), "multiple of 512"},
		{"too small", filepath.Join(dir, "c"), 1024, testUserdata(), "too small"},
		{"incomplete userdata", filepath.Join(dir, "d"), 1 << 20, api.Userdata{Hostname: "x"}, "is empty"},
		{"missing directory", filepath.Join(dir, "nope", "disk.raw"), 1 << 20, testUserdata(), "creating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CreateDataDisk(tt.path, tt.size, tt.u)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CreateDataDisk = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if data, _ := os.ReadFile(existing); string(data) != "the user's docker images" {
		t.Errorf("the existing disk was changed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("failed calls left %d entries behind, want only the existing disk", len(entries))
	}
}

func TestUserdataStream(t *testing.T) {
	const size = 8 << 20
	u := testUserdata()
	r, err := UserdataStream(u, size)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != size {
		t.Fatalf("stream length = %d, want %d", len(data), size)
	}
	var tarball bytes.Buffer
	if err := api.WriteUserdata(&tarball, u); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[:tarball.Len()], tarball.Bytes()) {
		t.Error("the stream does not start with the userdata tar")
	}
	if bytes.ContainsFunc(data[tarball.Len():], func(r rune) bool { return r != 0 }) {
		t.Error("the stream is not zeros after the tar")
	}
	got, err := api.ReadUserdata(bytes.NewReader(data))
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("reading the stream back = %+v, %v", got, err)
	}
	if _, err := UserdataStream(u, 1000); err == nil {
		t.Error("UserdataStream accepted a size that is not a multiple of 512")
	}
}
