package shellinit

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// certPath has what breaks naive quoting: a space, a single quote and a
// dollar sign.
const certPath = "/tmp/it's a $HOME/machines/default/certs"

func TestGolden(t *testing.T) {
	vars := DockerVars(2376, certPath, "default")
	for _, sh := range Shells() {
		for _, unset := range []bool{false, true} {
			name := string(sh)
			if unset {
				name += "-unset"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, vars, sh, Options{Unset: unset}); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./shellinit -update to create it)", err)
				}
				if got := buf.String(); got != string(want) {
					t.Errorf("Render(%s) =\n%s\nwant (%s)\n%s", name, got, path, want)
				}
			})
		}
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct {
		sh         Shell
		value, out string
	}{
		{Bash, "plain", `export K='plain'`},
		{Bash, "it's", `export K='it'\''s'`},
		{Bash, `$HOME "x" ` + "`id`" + ` \ %P% !`, `export K='$HOME "x" ` + "`id`" + ` \ %P% !'`},
		{Bash, "a\nb", "export K='a\nb'"},
		{Fish, `it's \ $x`, `set -gx K 'it\'s \\ $x';`},
		{Fish, "a\nb", `set -gx K 'a'\n'b';`},
		{PowerShell, `it's $x "y" ` + "`z`", `$Env:K = 'it''s $x "y" ` + "`z`'"},
		{PowerShell, "a\u2019b", "$Env:K = 'a\u2019\u2019b'"},
		{PowerShell, "a\nb", "$Env:K = 'a' + \"`n\" + 'b'"},
		{Cmd, `C:\Users\it's a %USERPROFILE% & "x" ^ |`, `SET K=C:\Users\it's a %USERPROFILE% & "x" ^ |`},
		{Tcsh, `it's a  $x!`, `setenv K 'it'\''s'\ 'a'\ ''\ '$x\!';`},
		{Emacs, `C:\it's "x" $y`, `(setenv "K" "C:\\it's \"x\" $y")`},
		{Emacs, "a\nb", "(setenv \"K\" \"a\nb\")"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := Render(&buf, Vars{{"K", tc.value}}, tc.sh, Options{}); err != nil {
			t.Errorf("Render(%s, %q): %v", tc.sh, tc.value, err)
			continue
		}
		if got, _, _ := strings.Cut(buf.String(), "\n"+commentOf(tc.sh)+"Run this"); got != tc.out {
			t.Errorf("Render(%s, %q) =\n%s\nwant\n%s", tc.sh, tc.value, got, tc.out)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		sh  Shell
		v   Vars
		err string
	}{
		{Tcsh, Vars{{"K", "a{b,c}"}}, "tcsh cannot take the value of K (\"a{b,c}\"): tcsh's eval `…` cannot carry a brace in a value"},
		{Tcsh, Vars{{"K", "a\tb"}}, "tcsh cannot take the value of K (\"a\\tb\"): tcsh's eval `…` cannot carry a tab in a value"},
		{Tcsh, Vars{{"K", "a\nb"}}, "tcsh cannot take the value of K (\"a\\nb\"): tcsh's eval `…` cannot carry a line break in a value"},
		{Cmd, Vars{{"K", "a\r\nb"}}, "cmd cannot take the value of K (\"a\\r\\nb\"): cmd cannot set a value with a line break"},
		{Bash, Vars{{"K", "a\x00b"}}, "the value of K contains a NUL byte, which no environment can hold"},
		{Bash, Vars{{"K-1", "x"}}, `invalid environment variable name "K-1"`},
		{Bash, Vars{{"1K", "x"}}, `invalid environment variable name "1K"`},
		{Bash, Vars{{"", "x"}}, `invalid environment variable name ""`},
		{"xonsh", Vars{{"K", "x"}}, `unknown shell "xonsh" (use one of bash, zsh, sh, fish, powershell, cmd, tcsh, emacs)`},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		err := Render(&buf, append(Vars{{"FIRST", "ok"}}, tc.v...), tc.sh, Options{})
		if err == nil || err.Error() != tc.err {
			t.Errorf("Render(%s, %q) = %v\nwant %s", tc.sh, tc.v, err, tc.err)
		}
		if buf.Len() != 0 {
			t.Errorf("Render(%s, %q) wrote %q despite failing", tc.sh, tc.v, buf.String())
		}
	}

	// A failing writer's error is returned.
	if err := Render(failingWriter{}, Vars{{"K", "v"}}, Bash, Options{}); err == nil || err.Error() != "disk full" {
		t.Errorf("Render to a failing writer = %v", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// commentOf is how shell sh starts a comment.
func commentOf(sh Shell) string {
	syn, _ := syntaxOf(sh)
	return syn.comment
}

func TestEmptyValueUnsets(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, Vars{{"A", "1"}, {"B", ""}}, Bash, Options{}); err != nil {
		t.Fatal(err)
	}
	want := "export A='1'\nunset B\n# Run this command to configure your shell:\n# eval \"$(tender shellinit)\"\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestHint(t *testing.T) {
	tests := []struct {
		sh   Shell
		opts Options
		want string
	}{
		{Bash, Options{}, `# eval "$(tender shellinit)"`},
		{Zsh, Options{Machine: "default"}, `# eval "$(tender shellinit)"`},
		{Sh, Options{Machine: "dev"}, `# eval "$(tender --vm dev shellinit)"`},
		{Bash, Options{Machine: "dev", Unset: true}, `# eval "$(tender --vm dev shellinit -u)"`},
		{Bash, Options{ShellFlag: true}, `# eval "$(tender shellinit --shell bash)"`},
		{Bash, Options{Command: "./bin/tender env"}, `# eval "$(./bin/tender env)"`},
		{Fish, Options{}, `# eval (tender shellinit)`},
		{PowerShell, Options{}, `# & tender shellinit | Invoke-Expression`},
		{Cmd, Options{Machine: "dev"}, `REM @FOR /f "tokens=*" %i IN ('tender --vm dev shellinit') DO @%i`},
		{Tcsh, Options{}, "# eval `tender shellinit`"},
		{Emacs, Options{}, `;; (with-temp-buffer (shell-command "tender shellinit --shell emacs" (current-buffer)) (eval-buffer))`},
		{Emacs, Options{Unset: true}, `;; (with-temp-buffer (shell-command "tender shellinit --shell emacs -u" (current-buffer)) (eval-buffer))`},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := Render(&buf, nil, tc.sh, tc.opts); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 2 || lines[1] != tc.want {
			t.Errorf("hint for %s %+v =\n%s\nwant last line\n%s", tc.sh, tc.opts, buf.String(), tc.want)
		}
		if want := commentOf(tc.sh) + "Run this command to configure your shell:"; lines[0] != want {
			t.Errorf("hint for %s starts %q, want %q", tc.sh, lines[0], want)
		}
	}
}

func TestNoProxy(t *testing.T) {
	getenv := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	tests := []struct {
		name string
		env  map[string]string
		sh   Shell
		opts Options
		want string // the NO_PROXY line, "" for none
	}{
		{"empty", nil, Bash, Options{}, "export NO_PROXY='127.0.0.1'"},
		{"appended", map[string]string{"NO_PROXY": "localhost,.corp"}, Bash, Options{}, "export NO_PROXY='localhost,.corp,127.0.0.1'"},
		{"trailing comma", map[string]string{"NO_PROXY": "localhost,"}, Bash, Options{}, "export NO_PROXY='localhost,127.0.0.1'"},
		{"already there", map[string]string{"NO_PROXY": "localhost, 127.0.0.1"}, Bash, Options{}, ""},
		{"similar is not the same", map[string]string{"NO_PROXY": "127.0.0.10"}, Bash, Options{}, "export NO_PROXY='127.0.0.10,127.0.0.1'"},
		{"lower case only", map[string]string{"no_proxy": "localhost"}, Bash, Options{}, "export no_proxy='localhost,127.0.0.1'"},
		{"upper case wins", map[string]string{"NO_PROXY": "a", "no_proxy": "b"}, Bash, Options{}, "export NO_PROXY='a,127.0.0.1'"},
		{"fish", map[string]string{"NO_PROXY": "localhost"}, Fish, Options{}, "set -gx NO_PROXY 'localhost,127.0.0.1';"},
		{"cmd", map[string]string{"NO_PROXY": "localhost"}, Cmd, Options{}, "SET NO_PROXY=localhost,127.0.0.1"},
		{"unset takes it out", map[string]string{"NO_PROXY": "localhost,127.0.0.1,.corp"}, Bash, Options{Unset: true}, "export NO_PROXY='localhost,.corp'"},
		{"unset the last one", map[string]string{"NO_PROXY": "127.0.0.1"}, Bash, Options{Unset: true}, "unset NO_PROXY"},
		{"unset when absent", map[string]string{"NO_PROXY": "localhost"}, Bash, Options{Unset: true}, ""},
		{"nil getenv", nil, Bash, Options{Getenv: nil}, "export NO_PROXY='127.0.0.1'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.NoProxy = "127.0.0.1"
			if tc.env != nil {
				opts.Getenv = getenv(tc.env)
			}
			var buf bytes.Buffer
			if err := Render(&buf, Vars{{"DOCKER_HOST", "tcp://127.0.0.1:2376"}}, tc.sh, opts); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(buf.String(), "\n")
			got := ""
			if len(lines) == 5 { // var, NO_PROXY, two comments, ""
				got = lines[1]
			}
			if got != tc.want {
				t.Errorf("NO_PROXY line = %q, want %q; output:\n%s", got, tc.want, buf.String())
			}
		})
	}
}

func TestParseShell(t *testing.T) {
	for in, want := range map[string]Shell{
		"bash": Bash, "BASH": Bash, "/bin/bash": Bash, "zsh": Zsh, "sh": Sh, "dash": Sh, "ksh": Sh,
		"fish": Fish, "powershell": PowerShell, "pwsh": PowerShell, "PowerShell.exe": PowerShell,
		"cmd": Cmd, `C:\Windows\System32\cmd.exe`: Cmd, "tcsh": Tcsh, "csh": Tcsh, "emacs": Emacs, "-zsh": Zsh,
	} {
		if got, err := ParseShell(in); err != nil || got != want {
			t.Errorf("ParseShell(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "nu", "xonsh", "bash5"} {
		_, err := ParseShell(bad)
		want := `unknown shell "` + bad + `" (use one of bash, zsh, sh, fish, powershell, cmd, tcsh, emacs)`
		if err == nil || err.Error() != want {
			t.Errorf("ParseShell(%q) = %v, want %s", bad, err, want)
		}
	}
	for _, sh := range Shells() {
		if got, err := ParseShell(string(sh)); err != nil || got != sh {
			t.Errorf("ParseShell(%q) = %q, %v", sh, got, err)
		}
		if _, ok := syntaxOf(sh); !ok {
			t.Errorf("no syntax for %s", sh)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		shell, goos, parent string
		want                Shell
	}{
		{"/bin/bash", "linux", "", Bash},
		{"/usr/local/bin/zsh", "darwin", "", Zsh},
		{"/bin/zsh", "darwin", "iTerm2", Zsh},
		{"/usr/bin/fish", "linux", "", Fish},
		{"/bin/tcsh", "freebsd", "", Tcsh},
		{"/bin/csh", "freebsd", "", Tcsh},
		{"/bin/dash", "linux", "", Sh},
		{"/opt/microsoft/powershell/7/pwsh", "linux", "", PowerShell},
		{"", "linux", "bash", Sh},
		{"/usr/bin/nu", "linux", "", Sh},
		{"/usr/bin/emacs", "linux", "", Sh},
		{"", "windows", "powershell.exe", PowerShell},
		{"", "windows", "pwsh.exe", PowerShell},
		{"", "windows", "cmd.exe", Cmd},
		{"", "windows", "CMD.EXE", Cmd},
		{"/usr/bin/bash", "windows", "bash.exe", Bash},
		{"", "windows", `C:\Program Files\Git\usr\bin\bash.exe`, Bash},
		{"/bin/bash", "windows", "explorer.exe", PowerShell},
		{"", "windows", "", PowerShell},
	}
	for _, tc := range tests {
		getenv := func(k string) string {
			if k == "SHELL" {
				return tc.shell
			}
			return ""
		}
		if got := Detect(getenv, tc.goos, tc.parent); got != tc.want {
			t.Errorf("Detect(SHELL=%q, %s, parent %q) = %s, want %s", tc.shell, tc.goos, tc.parent, got, tc.want)
		}
	}
}

func TestAddRemoveNoProxy(t *testing.T) {
	for _, tc := range []struct {
		list, add string
		changed   bool
	}{
		{"", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.1", false},
		{"localhost", "localhost,127.0.0.1", true},
	} {
		got, changed := AddNoProxy(tc.list, "127.0.0.1")
		if got != tc.add || changed != tc.changed {
			t.Errorf("AddNoProxy(%q) = %q, %v", tc.list, got, changed)
		}
		if back, ok := RemoveNoProxy(got, "127.0.0.1"); !ok || (tc.changed && back != tc.list) {
			t.Errorf("RemoveNoProxy(%q) = %q, %v", got, back, ok)
		}
	}
}

// --unix: DOCKER_HOST names the socket and the TLS variables are unset, so
// a shell that had them from a plain shellinit drops them.
func TestSocketVars(t *testing.T) {
	var out strings.Builder
	if err := Render(&out, SocketVars("/home/ada/.tender/machines/default/docker.sock", "default"), "bash", Options{Machine: "default"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"export DOCKER_HOST='unix:///home/ada/.tender/machines/default/docker.sock'",
		"unset DOCKER_CERT_PATH",
		"unset DOCKER_TLS_VERIFY",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
