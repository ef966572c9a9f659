package commands

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenderdev/tender/doctor"
)

// ports --format json of a machine with nothing forwarded is [], not null.
func TestPortsJSONEmpty(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	stdout, _, err := h.run("ports", "dev", "--format", "json")
	if err != nil || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("ports dev --format json = %q, %v; want []", stdout, err)
	}
}

// config --format gets the machine's Name, as ls and info do.
func TestConfigFormatName(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	stdout, _, err := h.run("config", "dev", "--format", "{{.Name}} {{.CPUs}}")
	if err != nil || strings.TrimSpace(stdout) != "dev 2" {
		t.Errorf("config dev --format '{{.Name}} {{.CPUs}}' = %q, %v; want \"dev 2\"", stdout, err)
	}
}

// docker's table directive: a header from the template's fields, aligned
// columns, \t typed in quotes as a tab; ls -q prints the names.
func TestTableFormatAndQuiet(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	h.machine("web", "1.0.0")
	stdout, _, err := h.run("ls", "--format", `table {{.Name}}\t{{.State}}\t{{.DiskSizeMiB}}`)
	want := "NAME  STATE    DISK_SIZE_MIB\ndev   stopped  1024\nweb   stopped  1024\n"
	if err != nil || stdout != want {
		t.Errorf("ls --format 'table …' = %q, %v; want %q", stdout, err, want)
	}
	stdout, _, err = h.run("ls", "--format", `{{.Name}}\t{{.CPUs}}`)
	if err != nil || stdout != "dev\t2\nweb\t2\n" {
		t.Errorf(`ls --format '{{.Name}}\t{{.CPUs}}' = %q, %v`, stdout, err)
	}
	stdout, _, err = h.run("ls", "-q")
	if err != nil || stdout != "dev\nweb\n" {
		t.Errorf("ls -q = %q, %v", stdout, err)
	}
	if _, _, err := h.run("ls", "-q", "--format", "json"); err == nil || !strings.Contains(err.Error(), "--quiet and --format") {
		t.Errorf("ls -q --format json = %v, want a refusal", err)
	}
}

func TestTableHeader(t *testing.T) {
	for row, want := range map[string]string{
		"{{.Name}}\t{{.DockerHost}}":      "NAME\tDOCKER_HOST",
		"{{.CPUs}} {{.MemoryMiB}}":        "CPUS MEMORY_MIB",
		"{{ .State }}|{{json .Machines}}": "STATE|-",
	} {
		if got := tableHeader(row); got != want {
			t.Errorf("tableHeader(%q) = %q, want %q", row, got, want)
		}
	}
}

// One spelling of each field: disk_size_mib in every JSON, DiskSizeMiB in
// every template, for ls, info and config alike.
func TestOneSpellingOfTheDiskSize(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	for _, cmd := range []string{"ls", "info", "config"} {
		out, _, err := h.run(cmd, "dev", "--format", "json")
		if cmd == "ls" {
			out, _, err = h.run(cmd, "--format", "json")
		}
		if err != nil || !strings.Contains(out, `"disk_size_mib": 1024`) {
			t.Errorf("%s --format json: %v, want disk_size_mib 1024 in:\n%s", cmd, err, out)
		}
		args := []string{cmd, "dev", "--format", "{{.DiskSizeMiB}}"}
		if cmd == "ls" {
			args = []string{cmd, "--format", "{{.DiskSizeMiB}}"}
		}
		if out, _, err := h.run(args...); err != nil || strings.TrimSpace(out) != "1024" {
			t.Errorf("%s --format '{{.DiskSizeMiB}}' = %q, %v; want 1024", cmd, out, err)
		}
	}
}

// Every command's help has an example: a line indented as the others are,
// that runs tender (or uses what it prints).
func TestEveryCommandHasAnExample(t *testing.T) {
	app := New(&Env{})
	for _, cmd := range app.Commands {
		if cmd.Hidden {
			continue
		}
		found := false
		for _, line := range strings.Split(cmd.Description, "\n") {
			if strings.HasPrefix(line, "   ") && strings.Contains(line, "tender ") {
				found = true
			}
		}
		if !found {
			t.Errorf("tender help %s has no example", cmd.Name)
		}
	}
}

// tender doctor prints a line per check and exits 1 on a problem.
func TestDoctor(t *testing.T) {
	h := newHarness(t)
	var stdout, stderr strings.Builder
	env := &Env{
		Stdout: &stdout, Stderr: &stderr,
		Getenv:    func(k string) string { return h.env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
		NewStore:  h.store,
		Args:      []string{"tender", "doctor"},
		DoctorHost: func(home string) doctor.Host {
			host := doctor.Local(home)
			host.LookPath = func(name string) (string, error) { return "", errors.New("not found") }
			return host
		},
	}
	err := Run(context.Background(), env)
	if err == nil {
		t.Fatal("doctor succeeded with no QEMU and no docker")
	}
	for _, want := range []string{"problem  QEMU", "problem  docker CLI", "fix: install the docker CLI"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("doctor printed:\n%s\nwant %q", stdout.String(), want)
		}
	}
}

// doctor checks each machine: its image there and intact, the ports it
// pins free.
func TestDoctorMachines(t *testing.T) {
	h := newHarness(t)
	gone := h.machine("gone", "0.1.0")
	if err := os.Remove(gone.Settings.ISO); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	pinned := h.machine("pinned", "0.1.1")
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	yaml := filepath.Join(pinned.Dir, "machine.yaml")
	data, _ := os.ReadFile(yaml)
	if err := os.WriteFile(yaml, []byte(strings.Replace(string(data), "ssh_port: 0", "ssh_port: "+port, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	damaged := h.machine("damaged", "0.1.2")
	f, err := os.OpenFile(damaged.Settings.ISO, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	f.Close()
	h.machine("fine", "0.1.3")
	stdout, _, err := h.run("doctor")
	if err == nil {
		t.Error("doctor succeeded")
	}
	for _, want := range []string{
		`problem  machine "gone"` + "\x20", "is gone; fix: run `tender upgrade gone`",
		`problem  machine "pinned"`, "ssh_port " + port,
		`problem  machine "damaged" image`, "is damaged: its sha256 is",
		`ok       machine "fine"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("doctor printed:\n%s\nwant %q", stdout, want)
		}
	}
}
