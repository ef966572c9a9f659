package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tenderdev/tender/internal/testfakes"
)

// badInput is one entry of the bad-input corpus: a command line, with
// optional environment and files put in place first, that tender must refuse
// with one line naming the field and the fix.
type badInput struct {
	name  string
	args  []string
	env   []string          // KEY=VALUE added to the environment
	files map[string]string // paths relative to TENDER_HOME (or "@work/…" for the work dir) and their contents
	want  []string          // regexps the one error line must match (the field, the fix)
}

// badInputs is the corpus. Each one also proves that nothing on disk changed
// and that no stack trace was printed.
var badInputs = []badInput{
	// Machine names: never a path, never shell syntax.
	{name: "name with shell command", args: []string{"init", "a;rm -rf ~"}, want: []string{`invalid machine name "a;rm -rf ~"`, `use 1 to 64 letters`}},
	{name: "name climbing out", args: []string{"init", "../x"}, want: []string{`invalid machine name "\.\./x"`, `like "default"`}},
	{name: "name with command substitution", args: []string{"init", "$(id)"}, want: []string{`invalid machine name "\$\(id\)"`}},
	{name: "name with backticks", args: []string{"up", "`id`"}, want: []string{"invalid machine name \"`id`\""}},
	{name: "name with slash", args: []string{"init", "a/b"}, want: []string{`invalid machine name "a/b"`}},
	{name: "name dot dot", args: []string{"init", ".."}, want: []string{`invalid machine name "\.\."`}},
	{name: "hidden name", args: []string{"init", ".hidden"}, want: []string{`invalid machine name "\.hidden"`, `starting with a letter or digit`}},
	{name: "name too long", args: []string{"init", strings.Repeat("a", 65)}, want: []string{`invalid machine name`, `1 to 64`}},
	{name: "windows device name", args: []string{"init", "con"}, want: []string{`"con" is a device name on Windows, choose another`}},
	{name: "non-ASCII name", args: []string{"init", "café"}, want: []string{`invalid machine name "café"`}},
	{name: "name with newline", args: []string{"init", "a\nb"}, want: []string{`invalid machine name "a\\nb"`}},
	{name: "name with space via --vm", args: []string{"--vm", "x y", "status"}, want: []string{`invalid machine name "x y"`}},
	{name: "absolute path as name", args: []string{"delete", "-f", "/etc"}, want: []string{`invalid machine name "/etc"`}},
	{name: "name with glob", args: []string{"logs", "*"}, want: []string{`invalid machine name "\*"`}},
	{name: "up of no machine", args: []string{"up", "nosuch"}, want: []string{`machine "nosuch" does not exist \(run ` + "`tender init nosuch`"}},
	{name: "down of no machine", args: []string{"down", "nosuch"}, want: []string{`machine "nosuch" does not exist`}},
	{name: "empty name", args: []string{"--vm", "", "up"}, want: []string{`invalid machine name ""`}},
	{name: "--vm and NAME disagree", args: []string{"--vm", "x", "status", "y"}, want: []string{"--vm x and the NAME argument y name different machines: give one of them"}},
	{name: "--vm after the command disagrees", args: []string{"up", "y", "--vm", "x"}, want: []string{"--vm x and the NAME argument y name different machines"}},

	// Flags.
	{name: "memory word", args: []string{"init", "--iso", "@work/tender.iso", "--memory", "lots"}, want: []string{"flag --memory: field `memory` must be a size like \"2GiB\", got \"lots\""}},
	{name: "memory too big", args: []string{"init", "--iso", "@work/tender.iso", "--memory", "1TiB"}, want: []string{"field `memory` must be at most 64GiB"}},
	{name: "cpus out of range", args: []string{"init", "--iso", "@work/tender.iso", "--cpus", "999"}, want: []string{"^tender: flag --cpus: field `cpus` must be between 1 and 64, got 999$"}},
	{name: "podman's --disk-size", args: []string{"init", "--iso", "@work/tender.iso", "--disk-size", "10GiB"}, want: []string{"flag provided but not defined: -disk-size; did you mean --disksize\\? \\(run `tender init --help` for the flags\\)"}},
	{name: "misspelt flag", args: []string{"up", "--activte"}, want: []string{"did you mean --activate\\?"}},
	{name: "help of no command", args: []string{"help", "nosuch"}, want: []string{"^tender: no command \"nosuch\" \\(run `tender help` to list the commands\\)$"}},
	{name: "memory zero", args: []string{"init", "--iso", "@work/tender.iso", "--memory", "0"}, want: []string{"field `memory`"}},
	{name: "cpus word", args: []string{"init", "--iso", "@work/tender.iso", "--cpus", "many"}, want: []string{"flag --cpus: field `cpus` must be a whole number, got \"many\""}},
	{name: "cpus zero", args: []string{"init", "--iso", "@work/tender.iso", "--cpus", "0"}, want: []string{"field `cpus` must be between 1 and 64, got 0"}},
	{name: "cpus absurd", args: []string{"init", "--iso", "@work/tender.iso", "-c", "100000"}, want: []string{"field `cpus` must be between 1 and 64"}},
	{name: "disksize negative", args: []string{"init", "--iso", "@work/tender.iso", "--disksize", "-5"}, want: []string{"field `disksize`"}},
	{name: "disksize tiny", args: []string{"init", "--iso", "@work/tender.iso", "--disksize", "1KiB"}, want: []string{"field `disksize`"}},
	{name: "docker port too high", args: []string{"init", "--iso", "@work/tender.iso", "--dockerport", "70000"}, want: []string{"field `docker_port`"}},
	{name: "ssh port word", args: []string{"init", "--iso", "@work/tender.iso", "--sshport", "ssh"}, want: []string{"field `ssh_port`"}},
	{name: "unknown driver", args: []string{"init", "--iso", "@work/tender.iso", "--driver", "parallels"}, want: []string{"field `driver`", "qemu"}},
	{name: "iso url scheme", args: []string{"init", "--iso", "@work/tender.iso", "--iso-url", "ftp://example.com/x.iso"}, want: []string{"field `iso_url` must be an http, https or file URL"}},
	{name: "unknown flag", args: []string{"init", "--memroy", "2GiB"}, want: []string{`flag provided but not defined: -memroy`, "tender init --help"}},
	{name: "flag without value", args: []string{"init", "--memory"}, want: []string{`flag needs an argument: -memory`, "tender init --help"}},
	{name: "too many names", args: []string{"up", "a", "b"}, want: []string{`too many arguments`, `at most a machine NAME`}},
	{name: "unknown command", args: []string{"lanch"}, want: []string{`no command "lanch"`, "tender help"}},
	{name: "bad shell", args: []string{"shellinit", "--shell", "klingon"}, want: []string{`klingon`}},

	// Environment.
	{name: "env memory", args: []string{"init", "--iso", "@work/tender.iso"}, env: []string{"TENDER_MEMORY=plenty"}, want: []string{"env TENDER_MEMORY: field `memory`"}},
	{name: "env cpus negative", args: []string{"init", "--iso", "@work/tender.iso"}, env: []string{"TENDER_CPUS=-1"}, want: []string{"TENDER_CPUS", "field `cpus`"}},
	{name: "env boot timeout", args: []string{"init", "--iso", "@work/tender.iso"}, env: []string{"TENDER_BOOT_TIMEOUT=forever"}, want: []string{"TENDER_BOOT_TIMEOUT", "field `boot_timeout`"}},
	{name: "env driver", args: []string{"init", "--iso", "@work/tender.iso"}, env: []string{"TENDER_DRIVER=hyperv"}, want: []string{"TENDER_DRIVER", "field `driver`"}},
	{name: "env accel", args: []string{"init", "--iso", "@work/tender.iso"}, env: []string{"TENDER_ACCEL=warp"}, want: []string{"field `accel`"}},

	// config.yaml.
	{name: "yaml unknown key", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "cpus: 2\nmemroy: 4GiB\n"}, want: []string{"config.yaml:2: unknown field `memroy` \\(did you mean `memory`\\?\\)"}},
	{name: "yaml wrong type", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "cpus: [1, 2]\n"}, want: []string{"config.yaml:1: field `cpus` must be a whole number"}},
	{name: "yaml absurd size", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "disksize: 900TiB\n"}, want: []string{"config.yaml:1: field `disksize` must be at most 2TiB"}},
	{name: "yaml negative memory", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "memory: -2GiB\n"}, want: []string{"config.yaml:1: field `memory`"}},
	{name: "yaml syntax", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "cpus: 2\n  memory: [\n"}, want: []string{"config.yaml"}},
	{name: "yaml two documents", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "cpus: 2\n---\ncpus: 3\n"}, want: []string{"config.yaml:2: only one YAML document is allowed"}},
	{name: "yaml list at top", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "- cpus: 2\n"}, want: []string{"config.yaml:1: settings must be a mapping"}},
	{name: "yaml key twice", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "cpus: 2\ncpus: 3\n"}, want: []string{"config.yaml:2: field `cpus` is set twice \\(first on line 1\\)"}},
	{name: "yaml port string", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "ssh_port: abc\n"}, want: []string{"config.yaml:1: field `ssh_port`"}},
	{name: "yaml relative share", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "shares: [relative/dir]\n"}, want: []string{"config.yaml:1: field `shares\\[0\\].host` must be an absolute path"}},
	{name: "yaml binary garbage", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "\x00\x01\xff\xfe garbage"}, want: []string{"config.yaml"}},
	{name: "yaml bad dns", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "dns: [not-an-ip]\n"}, want: []string{"config.yaml:1: field `dns\\[0\\]` must be an IP address"}},
	{name: "yaml bad timeout", args: []string{"init", "--iso", "@work/tender.iso"}, files: map[string]string{"config.yaml": "boot_timeout: 1ms\n"}, want: []string{"config.yaml:1: field `boot_timeout`"}},

	// ISO files.
	{name: "iso missing", args: []string{"init", "--iso", "@work/missing.iso"}, want: []string{`ISO ".*missing.iso" does not exist`, "make iso"}},
	{name: "iso is text", args: []string{"init", "--iso", "@work/notes.txt"}, want: []string{`notes.txt" is not an ISO image`, "make iso"}},
	{name: "iso is a directory", args: []string{"init", "--iso", "@work"}, want: []string{`is a directory, not an ISO image`, "make iso"}},
	{name: "iso empty", args: []string{"init", "--iso", "@work/empty.iso"}, want: []string{`empty.iso" is not an ISO image`, "make iso"}},
	{name: "iso truncated", args: []string{"init", "--iso", "@work/truncated.iso"}, want: []string{`truncated.iso" is not an ISO image`, "make iso"}},
	{name: "iso without signature", args: []string{"init", "--iso", "@work/zeros.iso"}, want: []string{`zeros.iso" is not an ISO image`, "make iso"}},

	// Existing machine, broken by hand.
	{name: "machine.yaml bad value", args: []string{"up", "good"}, files: map[string]string{"machines/good/machine.yaml": "memory: lots\n"}, want: []string{"machine.yaml:1: field `memory`"}},
}

// TestBadInput runs the corpus through the real binary (testscript.Main puts
// `tender` on PATH). Each input must exit non-zero with exactly one line on
// stderr, "tender: …", matching want; print nothing on stdout and no stack
// trace; and leave TENDER_HOME exactly as it was.
func TestBadInput(t *testing.T) {
	if len(badInputs) < 40 {
		t.Fatalf("the corpus has %d inputs; keep at least 40", len(badInputs))
	}
	tender, err := exec.LookPath("tender")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	home := filepath.Join(work, "home")
	testfakes.WriteISO(t, filepath.Join(work, "tender.iso"), "tender-v0.0.0")
	for name, data := range map[string]string{"notes.txt": "just some notes, not an ISO\n", "empty.iso": "", "truncated.iso": strings.Repeat("x", 100), "zeros.iso": string(make([]byte, 40000))} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var baseEnv []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENDER_") {
			baseEnv = append(baseEnv, kv)
		}
	}
	baseEnv = append(baseEnv, "TENDER_HOME="+home, "HOME="+work, "TENDER_ISO_URL=http://127.0.0.1:9/tender.iso", "DOCKER_CONFIG="+filepath.Join(work, ".docker"))
	run := func(env []string, args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(tender, args...)
		cmd.Env = env
		var o, e strings.Builder
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	// One good machine, so the corpus also runs against an existing one.
	if out, errOut, code := run(baseEnv, "init", "--iso", filepath.Join(work, "tender.iso"), "--disksize", "1GiB", "good"); code != 0 {
		t.Fatalf("init good: %s%s", out, errOut)
	}

	for _, in := range badInputs {
		t.Run(in.name, func(t *testing.T) {
			// Put the case's files in place; the snapshot is taken after,
			// and they are restored after.
			var restore []func()
			for rel, data := range in.files {
				p := filepath.Join(home, rel)
				old, err := os.ReadFile(p)
				if err == nil {
					restore = append(restore, func() { os.WriteFile(p, old, 0o600) })
				} else {
					restore = append(restore, func() { os.Remove(p) })
				}
				if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			defer func() {
				for _, r := range restore {
					r()
				}
			}()
			args := make([]string, len(in.args))
			for i, a := range in.args {
				args[i] = strings.Replace(a, "@work", work, 1)
			}
			before := snapshot(t, home)
			stdout, stderr, code := run(append(append([]string(nil), baseEnv...), in.env...), args...)
			after := snapshot(t, home)

			if code == 0 {
				t.Fatalf("tender %q succeeded; stdout %q stderr %q", args, stdout, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic:") {
				t.Fatalf("stack trace:\n%s", stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "tender: ") {
				t.Fatalf("stderr is not one line \"tender: …\":\n%s", stderr)
			}
			for _, w := range in.want {
				if !regexp.MustCompile(w).MatchString(lines[0]) {
					t.Errorf("error %q does not match %q", lines[0], w)
				}
			}
			if d := diffSnapshots(before, after); d != "" {
				t.Errorf("TENDER_HOME changed:\n%s", d)
			}
		})
	}
}

// snapshot describes every file under root: type, mode, size and, for
// files up to 1 MiB, a content hash (a data disk is compared by size and
// modification time).
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		desc := fmt.Sprintf("%v %d", info.Mode(), info.Size())
		if info.Mode().IsRegular() {
			if info.Size() <= 1<<20 {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				desc += fmt.Sprintf(" %x", sha256.Sum256(data))
			} else {
				desc += " " + info.ModTime().String()
			}
		}
		snap[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func diffSnapshots(a, b map[string]string) string {
	var lines []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			lines = append(lines, "removed "+k)
		} else if v != w {
			lines = append(lines, "changed "+k+": "+v+" → "+w)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			lines = append(lines, "added "+k)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
