package machine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/vm"
)

// versionedISO writes a fake image with volume ID tender-vVERSION.
func versionedISO(t *testing.T, dir, version string) string {
	t.Helper()
	return testfakes.WriteISO(t, filepath.Join(dir, "tender-"+version+".iso"), "tender-v"+version)
}

// Init without an image downloads one into the cache through the injected
// downloader, from iso_url.
func TestInitDownloadsTheImageWhenNoneIsFound(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	var gotURL string
	s.Download = func(ctx context.Context, url, cacheDir string) (string, error) {
		gotURL = url
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return "", err
		}
		src := versionedISO(t, t.TempDir(), "1.2.3")
		data, _ := os.ReadFile(src)
		p := filepath.Join(cacheDir, iso.FileName)
		return p, os.WriteFile(p, data, 0o644)
	}
	var l config.Layer
	l.Set(config.KeyDiskSize, "1GiB")
	l.Set(config.KeyISOURL, "https://example.com/tender.iso")
	m, err := s.Init(context.Background(), "dev", l)
	if err != nil {
		t.Fatal(err)
	}
	if gotURL != "https://example.com/tender.iso" {
		t.Errorf("downloaded from %q", gotURL)
	}
	if want := filepath.Join(s.Home, CacheDir, iso.FileName); m.Settings.ISO != want || m.Runtime.ISOVersion != "1.2.3" {
		t.Errorf("machine ISO %q version %q, want %q 1.2.3", m.Settings.ISO, m.Runtime.ISOVersion, want)
	}
}

func TestInitSaysHowToGetAnImageWhenTheDownloadFails(t *testing.T) {
	s := newStore(t, &testfakes.Driver{})
	s.Download = func(ctx context.Context, url, cacheDir string) (string, error) {
		return "", errors.New("cannot download the tender image: example.com cannot be reached")
	}
	var l config.Layer
	l.Set(config.KeyDiskSize, "1GiB")
	_, err := s.Init(context.Background(), "dev", l)
	if err == nil || !strings.HasPrefix(err.Error(), "no tender ISO found: pass --iso PATH") ||
		!strings.HasSuffix(err.Error(), "; downloading one from "+config.DefaultISOURL+" failed: cannot download the tender image: example.com cannot be reached") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Home, MachinesDir)); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// diskPrint identifies a (sparse, large) disk's content cheaply: its size,
// modification time, the userdata at its start and what the test wrote.
func diskPrint(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	head := make([]byte, 64<<10)
	f.ReadAt(head, 0)
	mark := make([]byte, 19)
	f.ReadAt(mark, 1<<20)
	return fmt.Sprintf("%d bytes, %v, %x, %q", st.Size(), st.ModTime(), sha256.Sum256(head), mark)
}

func TestUpgradeStoppedMachineKeepsTheDisk(t *testing.T) {
	// The driver stops when asked, so Down returns at once.
	d := &testfakes.Driver{Transitions: true}
	s := &Store{Home: t.TempDir(), Progress: &bytes.Buffer{}, LookupEnv: func(string) (string, bool) { return "", false },
		Drivers: func(config.Settings) (vm.Driver, error) { return d, nil }}
	isos := t.TempDir()
	var l config.Layer
	l.Set(config.KeyDiskSize, "1GiB")
	l.Set(config.KeyMemory, "1GiB")
	old := versionedISO(t, isos, "1.0.0")
	l.ISO = &old
	m, err := s.Init(context.Background(), "dev", l)
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(m.Dir, DiskFile)
	// Something the guest wrote on its disk, past the userdata.
	f, _ := os.OpenFile(disk, os.O_WRONLY, 0)
	f.WriteAt([]byte("a container's layer"), 1<<20)
	f.Close()
	before := diskPrint(t, disk)
	d.Calls = nil

	newer := versionedISO(t, isos, "1.1.0")
	res, err := s.Upgrade(context.Background(), "dev", newer)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != "1.0.0" || res.To.Version() != "1.1.0" || res.UpToDate || res.Up != nil {
		t.Errorf("result %+v", res)
	}
	if len(d.Calls) != 0 {
		t.Errorf("a stopped machine was touched: %q", d.Calls)
	}
	if after := diskPrint(t, disk); after != before {
		t.Errorf("the data disk changed: %s, was %s", after, before)
	}
	m2, err := s.Load("dev", config.Layer{})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Settings.ISO != keptImage(t, s, newer) || m2.Runtime.ISOVersion != "1.1.0" || m2.Settings.MemoryMiB != 1024 {
		t.Errorf("after upgrade: iso %q version %q memory %d", m2.Settings.ISO, m2.Runtime.ISOVersion, m2.Settings.MemoryMiB)
	}

	// Again with the same image: nothing to do.
	res, err = s.Upgrade(context.Background(), "dev", newer)
	if err != nil || !res.UpToDate {
		t.Errorf("second upgrade: %+v, %v", res, err)
	}

	// Not a tender image: refused, nothing changed.
	other := testfakes.WriteISO(t, filepath.Join(isos, "other.iso"), "DEBIAN 13")
	if _, err := s.Upgrade(context.Background(), "dev", other); err == nil || !strings.Contains(err.Error(), `is not a tender image (its volume ID is "DEBIAN 13", not tender-vX.Y.Z); nothing was changed`) {
		t.Errorf("err = %v", err)
	}
}

// A running machine is shut down, gets the new image and is started again
// with it; when it does not come up the error says how to go back.
func TestUpgradeRunningMachineRestartsIt(t *testing.T) {
	d := &testfakes.Driver{Transitions: true}
	s := &Store{Home: t.TempDir(), Progress: &bytes.Buffer{}, LookupEnv: func(string) (string, bool) { return "", false },
		Drivers: func(config.Settings) (vm.Driver, error) { return d, nil }}
	isos := t.TempDir()
	var l config.Layer
	l.Set(config.KeyDiskSize, "1GiB")
	l.Set(config.KeyBootTimeout, "1s")
	old := versionedISO(t, isos, "1.0.0")
	l.ISO = &old
	if _, err := s.Init(context.Background(), "dev", l); err != nil {
		t.Fatal(err)
	}
	d.Calls, d.Current = nil, vm.Running
	newer := versionedISO(t, isos, "1.1.0")
	_, err := s.Upgrade(context.Background(), "dev", newer)
	// No guest answers SSH here, so the restart fails after boot_timeout.
	newer, old = keptImage(t, s, newer), keptImage(t, s, old)
	if err == nil || !strings.Contains(err.Error(), `machine "dev" now boots `+newer+" but did not come up") ||
		!strings.Contains(err.Error(), "run `tender upgrade --iso "+old+" dev`") {
		t.Fatalf("err = %v", err)
	}
	if got := strings.Join(d.Calls, ","); !strings.HasPrefix(got, "stop,start "+newer) {
		t.Errorf("driver calls %q, want stop then start with the new image", got)
	}
}

func TestUpgradeRefusesASavedMachine(t *testing.T) {
	d := &testfakes.Driver{Transitions: true}
	s := &Store{Home: t.TempDir(), Progress: &bytes.Buffer{}, LookupEnv: func(string) (string, bool) { return "", false },
		Drivers: func(config.Settings) (vm.Driver, error) { return d, nil }}
	l := small(t)
	if _, err := s.Init(context.Background(), "dev", l); err != nil {
		t.Fatal(err)
	}
	d.Current = vm.Saved
	_, err := s.Upgrade(context.Background(), "dev", versionedISO(t, t.TempDir(), "2.0.0"))
	if err == nil || !strings.Contains(err.Error(), `machine "dev" is saved`) {
		t.Fatalf("err = %v", err)
	}
}

func TestVersionsAdvice(t *testing.T) {
	cases := []struct {
		v    Versions
		want []string
	}{
		{Versions{CLI: "0.1.0", Image: "0.1.0", Agent: "0.1.0"}, nil},
		{Versions{CLI: "0.1.3", Image: "0.1.0"}, nil}, // patch only
		{Versions{CLI: "dev", Image: "0.1.0"}, nil},
		{Versions{CLI: "c327183-dirty", Image: "0.1.0"}, nil},
		{Versions{CLI: "v0.2.0", Image: "0.1.0"}, []string{"machine \"default\" runs tender image 0.1.0, older than this tender v0.2.0: run `tender upgrade`"}},
		{Versions{CLI: "1.0.0", Image: "1.1.0-rc1"}, []string{"machine \"default\" runs tender image 1.1.0-rc1, newer than this tender 1.0.0: update tender (`brew upgrade tender`, or `go install github.com/tenderdev/tender@latest`)"}},
		{Versions{CLI: "0.2.0", Image: "0.2.0", Agent: "0.1.0"}, []string{
			"machine \"default\" runs tender image 0.1.0 but is set to boot 0.2.0: restart it with `tender restart`",
			"machine \"default\" runs tender image 0.1.0, older than this tender 0.2.0: run `tender upgrade`",
		}},
	}
	for _, c := range cases {
		got := c.v.Advice("default")
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%+v:\n got %q\nwant %q", c.v, got, c.want)
		}
	}
	if got := (Versions{CLI: "0.2.0", Image: "0.1.0"}).Advice("dev"); len(got) != 1 || !strings.HasSuffix(got[0], "run `tender upgrade dev`") {
		t.Errorf("named machine: %q", got)
	}
}

func TestAgentVersionFromLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "serial.log")
	os.WriteFile(p, []byte("[    0.0] Linux version 6.12\n"+api.Stage1Line("0.1.0")+"\n...\n"+api.Stage1Line("0.2.0")+"\n"+api.ReadyLine+"\n"), 0o644)
	if v := AgentVersionFromLog(p); v != "0.2.0" {
		t.Errorf("got %q, want the last boot's 0.2.0", v)
	}
	if v := AgentVersionFromLog(filepath.Join(t.TempDir(), "none")); v != "" {
		t.Errorf("missing log: %q", v)
	}
}

// keptImage is where the store keeps its copy of the image at path.
func keptImage(t *testing.T, s *Store, path string) string {
	t.Helper()
	img, err := iso.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = iso.Keep(img, filepath.Join(s.Home, CacheDir)); err != nil {
		t.Fatal(err)
	}
	return img.Path
}
