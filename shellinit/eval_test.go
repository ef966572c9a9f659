package shellinit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tricky values: what each shell must get back byte for byte.
var tricky = []string{
	certPath,
	`it's "double" and 'single'`,
	"$HOME $(id) `id` \\ \\\\ trailing\\",
	"%PATH% 100% ^ & | < > ; # * ? [a] ~ ~/x",
	"two  spaces   three",
	" leading and trailing ",
	"bang! !! !$ !-1",
	"unicode: é ü 日本 \u2019",
	"'",
	`\`,
	"-n",
}

// beyondTcsh are values tried where the shell can carry them: all but tcsh.
var beyondTcsh = []string{"line one\nline two", "tab\there", "{brace,expansion} ${HOME}"}

// evalIn runs script in shell (argv) with env, and returns the environment
// the evaluated output left, as read by env -0.
func evalIn(t *testing.T, argv []string, script string, env []string) map[string]string {
	t.Helper()
	cmd := exec.Command(argv[0], append(argv[1:], script)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s -c %q: %v\nstderr: %s", argv[0], script, err, stderr.String())
	}
	got := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			got[k] = v
		}
	}
	return got
}

// TestEvalInRealShells evaluates the output the way its hint says, in the
// real shells that are installed (bash and sh must be), and checks the
// variables come out exact, and that the unset output removes them.
func TestEvalInRealShells(t *testing.T) {
	shells := []struct {
		sh        Shell
		argv      []string // the shell, with options to skip rc files, ending with -c
		required  bool
		allValues bool
	}{
		{Bash, []string{"bash", "--norc", "--noprofile", "-c"}, true, true},
		{Sh, []string{"sh", "-c"}, true, true},
		{Zsh, []string{"zsh", "-f", "-c"}, false, true},
		{Fish, []string{"fish", "--no-config", "-c"}, false, true},
		{Tcsh, []string{"tcsh", "-f", "-c"}, false, false},
	}
	for _, s := range shells {
		t.Run(string(s.sh), func(t *testing.T) {
			path, err := exec.LookPath(s.argv[0])
			if err != nil {
				if s.required {
					t.Fatalf("%s is not installed: %v", s.argv[0], err)
				}
				t.Skipf("%s is not installed", s.argv[0])
			}
			argv := append([]string{path}, s.argv[1:]...)
			values := tricky
			if s.allValues {
				values = append(append([]string{}, tricky...), beyondTcsh...)
			}
			vars := DockerVars(2376, certPath, "default")
			for i, v := range values {
				vars = append(vars, Var{"TRICKY_" + string(rune('A'+i)), v})
			}
			baseEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=/home/nobody", "NO_PROXY=localhost"}

			// Set.
			got := evalIn(t, argv, script(t, s.sh, vars, Options{NoProxy: "127.0.0.1", Getenv: func(k string) string {
				if k == "NO_PROXY" {
					return "localhost"
				}
				return ""
			}}), baseEnv)
			for _, v := range vars {
				if got[v.Name] != v.Value {
					t.Errorf("%s = %q, want %q", v.Name, got[v.Name], v.Value)
				}
			}
			if got["NO_PROXY"] != "localhost,127.0.0.1" {
				t.Errorf("NO_PROXY = %q, want %q", got["NO_PROXY"], "localhost,127.0.0.1")
			}

			// Unset, starting from an environment where they are set; one is
			// missing, which must not be an error.
			env := append([]string{}, baseEnv...)
			env[2] = "NO_PROXY=localhost,127.0.0.1"
			for _, v := range vars[1:] {
				env = append(env, v.Name+"="+v.Value)
			}
			got = evalIn(t, argv, script(t, s.sh, vars, Options{Unset: true, NoProxy: "127.0.0.1", Getenv: func(k string) string {
				if k == "NO_PROXY" {
					return "localhost,127.0.0.1"
				}
				return ""
			}}), env)
			for _, v := range vars {
				if val, ok := got[v.Name]; ok {
					t.Errorf("%s is still set to %q", v.Name, val)
				}
			}
			if got["NO_PROXY"] != "localhost" {
				t.Errorf("after unset NO_PROXY = %q, want localhost", got["NO_PROXY"])
			}
		})
	}
}

// script renders vars to a file and returns a script that evaluates it as
// the output's own hint says, with `cat FILE` in place of the tender command,
// then prints the environment.
func script(t *testing.T, sh Shell, vars Vars, opts Options) string {
	t.Helper()
	var buf bytes.Buffer
	opts.Command = "TENDER_COMMAND"
	if err := Render(&buf, vars, sh, opts); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	hint := strings.TrimPrefix(lines[len(lines)-1], commentOf(sh))
	if !strings.Contains(hint, "TENDER_COMMAND") {
		t.Fatalf("hint %q does not run the command", hint)
	}
	return strings.Replace(hint, "TENDER_COMMAND", "cat "+file, 1) + "; env -0"
}
