//go:build e2e

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// builtISO is the absolute path of out/NAME, which `make TARGET` builds; the
// test fails when it is missing.
func builtISO(t *testing.T, name, target string) string {
	t.Helper()
	iso, err := filepath.Abs(filepath.Join("..", "out", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(iso); err != nil {
		t.Fatalf("%s is missing: run `%s` first (make test does)", iso, target)
	}
	return iso
}

// tenderBin builds the tender CLI once for the suite.
func tenderBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tender")
	out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
	if err != nil {
		t.Fatalf("building tender: %v\n%s", err, out)
	}
	return bin
}

// cli runs tender and bash with one TENDER_HOME.
type cli struct {
	t    *testing.T
	bin  string
	home string
}

func (c *cli) env() []string {
	return append(os.Environ(), "TENDER_HOME="+c.home, "PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"))
}

// tender runs the CLI and fails the test if it fails.
func (c *cli) tender(args ...string) string {
	c.t.Helper()
	out, err := c.tenderErr(args...)
	if err != nil {
		c.t.Fatalf("tender %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cli) tenderErr(args ...string) (string, error) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// stateCodes are `tender status`'s exit statuses.
var stateCodes = map[string]int{"running": 0, "stopped": 3, "saved": 4, "not-created": 5, "starting": 6, "paused": 6, "aborted": 7, "unreachable": 8}

// status runs `tender status ARGS` and returns its output; its exit
// status must be its word's (0 only for running).
func (c *cli) status(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"status"}, args...)...)
	cmd.Env = c.env()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	if want, ok := stateCodes[strings.TrimSpace(stdout.String())]; !ok || code != want {
		c.t.Fatalf("tender status %s: %q, exit %d\n%s", strings.Join(args, " "), stdout.String(), code, stderr.String())
	}
	return stdout.String()
}

// bash runs a script in bash with tender on PATH, the way a user's shell
// would, and returns its stdout.
func (c *cli) bash(script string) string {
	c.t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = c.env()
	cmd.Dir = ".."
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("bash: %v\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", err, script, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestCLIEndToEnd walks a user through the whole life of a machine with the
// real CLI, a real VM under QEMU and the real docker CLI. TENDER_HOME holds
// a space, a single quote and a dollar sign, so every path tender prints
// for a shell is quoted right or the test fails.
func TestCLIEndToEnd(t *testing.T) {
	iso := builtISO(t, "tender.iso", "make iso")
	c := &cli{t: t, bin: tenderBin(t), home: filepath.Join(t.TempDir(), `it's a $HOME`)}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(c.home, "machines", "default", "serial.log"))
			t.Logf("serial.log:\n%s", log)
		}
		_, _ = c.tenderErr("poweroff")
	})

	// 1. init and up.
	c.tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB")
	c.tender("up")

	// 2. In bash, eval shellinit, then docker run prints hello world.
	out := c.bash(`eval "$(tender shellinit)"
./scripts/busybox-image.sh
docker run --name greeter busybox echo "hello world"`)
	if out != "hello world\n" {
		t.Fatalf("docker run printed %q, want %q", out, "hello world\n")
	}

	// 3. docker ps -a lists the container.
	if out := c.bash(`eval "$(tender shellinit)"; docker ps -a --format '{{.Names}}'`); !strings.Contains(out, "greeter") {
		t.Fatalf("docker ps -a = %q, want it to list greeter", out)
	}

	// 3b. The host agent's docker.sock ([dist]): shellinit --unix points
	// DOCKER_HOST at it, with no TLS variables, and an attached container's
	// stdin (ended by a half-close) goes through.
	sock := filepath.Join(c.home, "machines", "default", "docker.sock")
	waitFile(t, sock, 30*time.Second)
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("docker.sock: %v %v, want a 0600 socket", fi, err)
	}
	out = c.bash(`eval "$(tender shellinit --unix)"
test -z "${DOCKER_CERT_PATH:-}${DOCKER_TLS_VERIFY:-}" || echo "TLS variables still set"
echo "$DOCKER_HOST"
echo through the socket | docker run -i --rm busybox cat`)
	if want := "unix://" + sock + "\nthrough the socket\n"; out != want {
		t.Fatalf("docker over shellinit --unix printed %q, want %q", out, want)
	}

	// 4. status and ssh.
	if got := c.status(); got != "running\n" {
		t.Fatalf("status = %q, want running", got)
	}
	if got := c.tender("ssh", "--", "uname", "-a"); !strings.HasPrefix(got, "Linux tender-default ") {
		t.Fatalf("ssh -- uname -a = %q", got)
	}
	if _, err := c.tenderErr("ssh", "--", "exit 3"); err == nil || err.(*exec.ExitError).ExitCode() != 3 {
		t.Fatalf("ssh -- 'exit 3' returned %v, want exit status 3", err)
	}

	// 5. cp in and out.
	local := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(local, []byte("carried over\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.tender("cp", local, "default:/tmp/in.txt")
	if got := c.tender("ssh", "--", "cat /tmp/in.txt"); got != "carried over\n" {
		t.Fatalf("file copied in reads %q", got)
	}
	back := filepath.Join(t.TempDir(), "back.txt")
	c.tender("cp", "default:/tmp/in.txt", back)
	if data, _ := os.ReadFile(back); string(data) != "carried over\n" {
		t.Fatalf("file copied out reads %q", data)
	}

	// 6. down → stopped; on the way, a file on the data disk to find after
	// the disk grows.
	c.tender("ssh", "--", "echo kept > ~/kept.txt && sync")
	c.tender("down")
	if got := c.status(); got != "stopped\n" {
		t.Fatalf("status after down = %q, want stopped", got)
	}
	if _, err := c.tenderErr("shellinit"); err == nil {
		t.Fatal("shellinit succeeded on a stopped machine")
	}

	// 6b. set --disksize: shrinking is refused; a larger size is kept in
	// machine.yaml and applied at the next boot, which grows the disk and
	// its filesystem.
	if out, err := c.tenderErr("set", "--disksize", "2GiB"); err == nil || !strings.Contains(out, "would shrink the data disk") {
		t.Errorf("set --disksize 2GiB on a 4GiB disk: %v %q", err, out)
	}
	c.tender("set", "--disksize", "6GiB", "--cpus", "1")
	if got := c.tender("info", "--format", "{{.DiskSizeMiB}} {{.CPUs}}"); got != "4096 1\n" {
		t.Errorf("info before the boot = %q, want the disk it has (4096) and the new cpus", got)
	}

	// 7. up again: the image, the container and the file are still there,
	// on a disk and a filesystem of the new size.
	c.tender("up")
	out = c.bash(`eval "$(tender shellinit)"; docker image ls --format '{{.Repository}}'; docker ps -a --format '{{.Names}}'`)
	if !strings.Contains(out, "busybox") || !strings.Contains(out, "greeter") {
		t.Fatalf("after a reboot, images and containers are %q; want busybox and greeter", out)
	}
	if got := c.tender("ssh", "--", "cat ~/kept.txt"); got != "kept\n" {
		t.Errorf("after the disk grew, ~/kept.txt reads %q", got)
	}
	df := strings.Fields(c.tender("ssh", "--", "df -m /mnt/tender-data | tail -1"))
	if len(df) < 2 || atoi(df[1]) < 5600 || atoi(df[1]) > 6144 {
		t.Errorf("df of the data disk after set --disksize 6GiB: %q, want about 6144 MiB", df)
	}
	if got := c.tender("ssh", "--", "nproc"); got != "1\n" {
		t.Errorf("nproc after set --cpus 1 = %q", got)
	}
	if got := c.tender("info", "--format", "{{.DiskSizeMiB}}"); got != "6144\n" {
		t.Errorf("info after the boot = %q, want 6144", got)
	}

	// 8. delete -f → not-created, directory gone.
	c.tender("delete", "-f")
	if got := c.status(); got != "not-created\n" {
		t.Fatalf("status after delete = %q, want not-created", got)
	}
	if _, err := os.Stat(filepath.Join(c.home, "machines", "default")); !os.IsNotExist(err) {
		t.Fatalf("machine directory still there after delete: %v", err)
	}
}
