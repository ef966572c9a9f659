package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/dockercontext"
	"github.com/tenderdev/tender/internal/testfakes"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/vm"
)

// harness runs tender commands with buffers, a temporary TENDER_HOME and
// DOCKER_CONFIG, and a stub driver.
type harness struct {
	t        *testing.T
	home     string
	docker   string
	driver   *testfakes.Driver // its VMs stay in the state a test sets
	env      map[string]string
	download func(ctx context.Context, url, cacheDir string) (string, error)
	verbose  bool // what the last store was built with
}

func newHarness(t *testing.T) *harness {
	dir := t.TempDir()
	h := &harness{t: t, home: filepath.Join(dir, "home"), docker: filepath.Join(dir, "docker"), driver: &testfakes.Driver{Current: vm.Stopped}}
	h.env = map[string]string{"TENDER_HOME": h.home, "DOCKER_CONFIG": h.docker}
	return h
}

func (h *harness) store(home string, verbose bool, stderr io.Writer) *machine.Store {
	h.verbose = verbose
	return &machine.Store{
		Home: home, Progress: stderr,
		Drivers:   func(config.Settings) (vm.Driver, error) { return h.driver, nil },
		LookupEnv: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
	}
}

// run runs `tender args...` and returns stdout, stderr and the error.
func (h *harness) run(args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	env := &Env{
		Stdout: &stdout, Stderr: &stderr,
		Getenv:    func(k string) string { return h.env[k] },
		LookupEnv: func(k string) (string, bool) { v, ok := h.env[k]; return v, ok },
		Version:   "0.2.0", Commit: "abc123", Date: "2030-01-02T03:04:05Z",
		NewStore: h.store,
		Args:     append([]string{"tender"}, args...),
		Download: h.download,
	}
	err := Run(context.Background(), env)
	return stdout.String(), stderr.String(), err
}

// machine creates a machine with a fake image of the given version.
func (h *harness) machine(name, version string) *machine.Machine {
	h.t.Helper()
	p := testfakes.TempISO(h.t, "tender-v"+version)
	var l config.Layer
	l.Set(config.KeyDiskSize, "1GiB")
	l.ISO = &p
	m, err := h.store(h.home, false, io.Discard).Init(context.Background(), name, l)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func TestFormats(t *testing.T) {
	h := newHarness(t)
	h.machine("default", "0.1.0")
	h.machine("dev", "0.1.0")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"status"}, "stopped\n"},
		{[]string{"status", "--format", "{{.Name}} is {{.State}}"}, "default is stopped\n"},
		{[]string{"status", "--format", "json", "dev"}, "{\n  \"name\": \"dev\",\n  \"state\": \"stopped\"\n}\n"},
		{[]string{"status", "--format", "{{.State}}", "nothing"}, "not-created\n"},
		{[]string{"ls", "--format", "{{.Name}}:{{.State}}:{{.MemoryMiB}}"}, "default:stopped:2048\ndev:stopped:2048\n"},
		{[]string{"ls", "--format", "{{json .Name}}"}, "\"default\"\n\"dev\"\n"},
		{[]string{"config", "--format", "{{.CPUs}} {{index .Origins \"cpus\"}} {{.BootTimeout}}"}, "2 machine.yaml 5m0s\n"},
		{[]string{"info", "--format", "{{.Name}} {{.Versions.CLI}} {{.Versions.Image}} {{.ISOVersion}}", "dev"}, "dev 0.2.0 0.1.0 0.1.0\n"},
	}
	for _, c := range cases {
		out, errOut, err := h.run(c.args...)
		if c.args[0] == "status" {
			err = stateOnly(err)
		}
		if err != nil || out != c.want {
			t.Errorf("tender %s:\n got %q, %v (stderr %q)\nwant %q", strings.Join(c.args, " "), out, err, errOut, c.want)
		}
	}

	out, _, err := h.run("ls", "--format", "json")
	var rows []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[1]["name"] != "dev" {
		t.Errorf("ls --format json: %v\n%s", err, out)
	}
	out, _, err = h.run("config", "--format", "json")
	var cfg map[string]any
	if err != nil || json.Unmarshal([]byte(out), &cfg) != nil || cfg["boot_timeout"] != "5m0s" || cfg["cpus"] != 2.0 {
		t.Errorf("config --format json: %v\n%s", err, out)
	}
	out, errOut, err := h.run("info", "dev")
	var info map[string]any
	if err != nil || json.Unmarshal([]byte(out), &info) != nil {
		t.Fatalf("info: %v\n%s", err, out)
	}
	if v, _ := info["versions"].(map[string]any); v["cli"] != "0.2.0" || v["image"] != "0.1.0" {
		t.Errorf("info versions: %v", info["versions"])
	}
	// The image is older than this tender: the fix is said, in the JSON and on stderr.
	wantAdvice := "machine \"dev\" runs tender image 0.1.0, older than this tender 0.2.0: run `tender upgrade dev`"
	if a, _ := info["advice"].([]any); len(a) != 1 || a[0] != wantAdvice {
		t.Errorf("info advice: %v", info["advice"])
	}
	if errOut != "tender: "+wantAdvice+"\n" {
		t.Errorf("info stderr: %q", errOut)
	}

	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"status", "--format", "yaml"}, `--format must be json, or a Go template like '{{.Name}}', got "yaml"`},
		{[]string{"ls", "--format", "csv"}, `--format must be table, json, or a Go template like '{{.Name}}', got "csv"`},
		{[]string{"config", "--format", "{{.CPUs"}, "--format is not a valid Go template: template: format:1: unclosed action"},
		{[]string{"status", "--format", "{{.Nope}}"}, "--format: template: format:1:2: executing \"format\" at <.Nope>: can't evaluate field Nope in type commands.statusInfo"},
	} {
		out, _, err := h.run(c.args...)
		if err == nil || err.Error() != c.err || out != "" {
			t.Errorf("tender %s: out %q, err %v\nwant err %s", strings.Join(c.args, " "), out, err, c.err)
		}
	}
}

func TestCompletion(t *testing.T) {
	h := newHarness(t)
	h.machine("default", "0.1.0")
	h.machine("dev", "0.1.0")
	all := "init\nup\nset\ndown\npoweroff\nreset\nrestart\nsave\ndelete\nssh\ncp\nip\nports\nshellinit\nstatus\nls\nnetwork\nswarm\ninfo\nconfig\nlogs\nregenerate-certs\ndownload\nupgrade\ndoctor\ncompletion\nversion\nhelp\n"
	cases := []struct {
		words []string // the words before the one typed
		cur   string   // the word typed so far
		want  string
	}{
		{nil, "", all},
		{nil, "up", "up\nupgrade\n"},
		{nil, "d", "down\ndelete\ndownload\ndoctor\n"},
		{nil, "--", "--vm\n--verbose\n--help\n--version\n"},
		{nil, "-", "--vm\n--verbose\n-v\n--help\n-h\n--version\n"},
		{[]string{"--vm"}, "", "default\ndev\n"},
		{[]string{"--vm"}, "de", "default\ndev\n"},
		{[]string{"--vm", "dev"}, "st", "status\n"},
		{[]string{"up"}, "", "default\ndev\n"},
		{[]string{"start"}, "dev", "dev\n"},
		{[]string{"up", "dev"}, "", ""},
		{[]string{"up", "-m", "2GiB"}, "", "default\ndev\n"},
		{[]string{"up"}, "--act", "--activate\n"},
		{[]string{"up", "--driver"}, "", "auto\nqemu\nvirtualbox\nssh\n"},
		{[]string{"up", "--iso"}, "", ""},
		{[]string{"shellinit", "--shell"}, "f", "fish\n"},
		{[]string{"ls", "--format"}, "", "table\njson\n"},
		{[]string{"completion"}, "", "bash\nzsh\nfish\npowershell\n"},
		{[]string{"completion"}, "z", "zsh\n"},
		{[]string{"delete"}, "--f", "--force\n"},
	}
	for _, c := range cases {
		h.env["TENDER_COMPLETE_WORD"] = c.cur
		args := append(append([]string{}, c.words...), "--generate-bash-completion")
		out, errOut, err := h.run(args...)
		if err != nil || out != c.want {
			t.Errorf("tender %q, typing %q:\n got %q, %v %s\nwant %q", args, c.cur, out, err, errOut, c.want)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	h := newHarness(t)
	for _, sh := range completionShells {
		out, _, err := h.run("completion", sh)
		if err != nil || !strings.Contains(out, "--generate-bash-completion") {
			t.Errorf("completion %s: %v\n%s", sh, err, out)
		}
	}
	if _, _, err := h.run("completion", "csh"); err == nil || err.Error() != `no completion for shell "csh": use one of bash, zsh, fish, powershell` {
		t.Errorf("completion csh: %v", err)
	}
	if _, _, err := h.run("completion"); err == nil || err.Error() != "name one shell: tender completion bash|zsh|fish|powershell" {
		t.Errorf("completion: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, _, err := newHarness(t).run("version")
	if err != nil || !strings.HasPrefix(out, "tender 0.2.0\ncommit: abc123\nbuilt:  2030-01-02T03:04:05Z\ngo:     go1.") {
		t.Errorf("version: %v\n%s", err, out)
	}
}

func TestDownloadCommand(t *testing.T) {
	h := newHarness(t)
	var urls []string
	h.download = func(ctx context.Context, url, cacheDir string) (string, error) {
		urls = append(urls, url)
		os.MkdirAll(cacheDir, 0o755)
		p := filepath.Join(cacheDir, "tender.iso")
		return p, os.WriteFile(p, testfakes.ISO("tender-v0.3.0"), 0o644)
	}
	out, _, err := h.run("download")
	if want := filepath.Join(h.home, "cache", "tender.iso") + "\n"; err != nil || out != want {
		t.Errorf("download: %q, %v; want %q", out, err, want)
	}
	h.env["TENDER_ISO_URL"] = "https://mirror.example.com/tender.iso"
	h.run("download")
	h.run("download", "--iso-url", "file:///srv/tender.iso")
	if strings.Join(urls, " ") != config.DefaultISOURL+" https://mirror.example.com/tender.iso file:///srv/tender.iso" {
		t.Errorf("downloaded from %q", urls)
	}
	if _, _, err := h.run("download", "--iso-url", "ftp://x/tender.iso"); err == nil || !strings.Contains(err.Error(), "field `iso_url` must be an http, https or file URL") {
		t.Errorf("bad URL: %v", err)
	}

	// upgrade without --iso downloads from the machine's iso_url and swaps
	// the image of a stopped machine in.
	h.machine("dev", "0.2.0")
	urls = nil
	_, errOut, err := h.run("upgrade", "dev")
	if err != nil || len(urls) != 1 {
		t.Fatalf("upgrade: %v, %q", err, urls)
	}
	if !strings.Contains(errOut, `machine "dev": image 0.2.0 → 0.3.0 (`) || !strings.Contains(errOut, "it boots the new image at its next start: tender up dev") {
		t.Errorf("upgrade stderr:\n%s", errOut)
	}
	_, errOut, _ = h.run("upgrade", "dev")
	if !strings.Contains(errOut, `machine "dev" already has tender image 0.3.0`) {
		t.Errorf("second upgrade stderr:\n%s", errOut)
	}
}

func TestDockerContextFollowsTheMachine(t *testing.T) {
	h := newHarness(t)
	m := h.machine("dev", "0.1.0")
	m.Runtime.DockerPort = 2399
	var stderr bytes.Buffer
	env := &Env{Stderr: &stderr, Getenv: func(k string) string { return h.env[k] }}
	env.updateDockerContext(m, false)
	if !dockercontext.Exists(h.docker, "tender-dev") {
		t.Fatalf("no context: %s", stderr.String())
	}
	if cur, _ := dockercontext.Current(h.docker); cur != "" {
		t.Errorf("current context %q without --activate", cur)
	}
	env.updateDockerContext(m, true)
	if cur, _ := dockercontext.Current(h.docker); cur != "tender-dev" {
		t.Errorf("current context %q after --activate", cur)
	}
	if !strings.Contains(stderr.String(), `docker context "tender-dev" is now docker's current context`) {
		t.Errorf("stderr: %s", stderr.String())
	}

	_, errOut, err := h.run("delete", "-f", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if dockercontext.Exists(h.docker, "tender-dev") {
		t.Error("delete left the docker context")
	}
	if cur, _ := dockercontext.Current(h.docker); cur != "" || !strings.Contains(errOut, `docker context "tender-dev" removed; docker's current context is the default again`) {
		t.Errorf("after delete: current %q, stderr %s", cur, errOut)
	}
	if dockerContextName("default") != "tender" || dockerContextName("dev") != "tender-dev" {
		t.Error("context names")
	}
}

// --verbose works before the command (global) and after `up`.
func TestUpVerbose(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"up"}, false},
		{[]string{"--verbose", "up"}, true},
		{[]string{"up", "--verbose"}, true},
		{[]string{"up", "-v", "dev"}, true},
	} {
		h := newHarness(t)
		_, stderr, err := h.run(tc.args...)
		if err == nil || !strings.Contains(err.Error()+stderr, "does not exist") {
			t.Errorf("%q: want the does-not-exist error, got %v %s", tc.args, err, stderr)
		}
		if h.verbose != tc.want {
			t.Errorf("%q: verbose = %v, want %v", tc.args, h.verbose, tc.want)
		}
	}
}

// Advice names a machine the way the commands take it: `tender up dev`,
// `tender shellinit dev`. A --vm after the command acts as before it.
func TestAdviceNamesTheMachineAsAnArgument(t *testing.T) {
	h := newHarness(t)
	if _, _, err := h.run("shellinit", "--vm", "dev"); err == nil || !strings.Contains(err.Error(), `machine "dev" does not exist`) {
		t.Fatalf("shellinit --vm dev: %v, want it to act on dev", err)
	}
	_, _, err := h.run("shellinit", "dev")
	if err == nil || !strings.Contains(err.Error(), "tender init dev") {
		t.Fatalf("shellinit dev on a missing machine: %v, want advice `tender init dev`", err)
	}
}

func TestShellJoin(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"ls | wc -l"}, "ls | wc -l"},
		{[]string{"ls", "-l"}, `'ls' '-l'`},
		{[]string{"time", "echo", "it's"}, `'time' 'echo' 'it'\''s'`},
		{[]string{"FOO=1", "env"}, `'FOO=1' 'env'`},
	} {
		if got := shellJoin(tt.argv); got != tt.want {
			t.Errorf("shellJoin(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

// stateOnly is err unless it is only the exit status by which `tender
// status` says a state other than running.
func stateOnly(err error) error {
	var exit cli.ExitCoder
	if errors.As(err, &exit) && exit.Error() == "" && exit.ExitCode() >= 3 {
		return nil
	}
	return err
}

// status exits 0 only when the machine runs, and with one code for each
// other state, as systemctl is-active does.
func TestStatusExitCodes(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "0.1.0")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"status", "dev"}, 3},
		{[]string{"status", "--format", "json", "dev"}, 3},
		{[]string{"status", "nothing"}, 5},
	} {
		_, _, err := h.run(tc.args...)
		var exit cli.ExitCoder
		if !errors.As(err, &exit) || exit.ExitCode() != tc.code || exit.Error() != "" {
			t.Errorf("tender %s: %v, want exit status %d and no message", strings.Join(tc.args, " "), err, tc.code)
		}
	}
	seen := map[int]machine.State{}
	for _, st := range []machine.State{machine.Running, machine.Stopped, machine.Saved, machine.NotCreated, machine.Starting, machine.Aborted, machine.Unreachable} {
		code := StatusExitCode(st)
		if other, dup := seen[code]; dup {
			t.Errorf("%s and %s share exit status %d", st, other, code)
		}
		seen[code] = st
	}
	if StatusExitCode(machine.Running) != 0 || StatusExitCode(machine.Paused) != StatusExitCode(machine.Starting) {
		t.Error("running must be 0; paused is reported as starting is")
	}
}
