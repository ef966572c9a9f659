package shellquote

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `''`},
		{"plain", `'plain'`},
		{"it's", `'it'\''s'`},
		{"''", `''\'''\'''`},
		{"a b\tc\nd", "'a b\tc\nd'"},
		{`$HOME "x" \y ` + "`z`", `'$HOME "x" \y ` + "`z`'"},
		{"FOO=1", `'FOO=1'`},
		{"~/x", `'~/x'`},
	} {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{nil, ""},
		{[]string{"echo", "a b", "it's"}, `echo 'a b' 'it'\''s'`},
		{[]string{"qemu", "-m", "2048", "", "a$b"}, `qemu -m 2048 '' 'a$b'`},
		{[]string{"/usr/bin/qemu-system-x86_64", "-name", "tender-dev,process=tender-dev", "-drive", "file=/a/b.iso,media=cdrom"}, `/usr/bin/qemu-system-x86_64 -name tender-dev,process=tender-dev -drive file=/a/b.iso,media=cdrom`},
		{[]string{"VBoxManage", "modifyvm", "tender-dev", "--natpf1", "ssh,tcp,127.0.0.1,2022,,22"}, `VBoxManage modifyvm tender-dev --natpf1 ssh,tcp,127.0.0.1,2022,,22`},
		{[]string{"ls", "~", "*", "a;b", "é"}, `ls '~' '*' 'a;b' 'é'`},
	} {
		if got := Join(tt.argv); got != tt.want {
			t.Errorf("Join(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

// FuzzRoundTrip checks both functions against a real POSIX shell: the words
// Quote and Join write, evaluated by sh, are the words given.
func FuzzRoundTrip(f *testing.F) {
	if _, err := exec.LookPath("sh"); err != nil {
		f.Skip("sh is not installed")
	}
	for _, s := range []string{"", "plain", "it's", "a b", "''\\'", "$(id) `id` ${x:-y}", "a\nb\r\n", "~ * ? [a] {a,b} !x #c", "FOO=1", "\x01\x7f\xff"} {
		f.Add(s, "-x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a, 0) || strings.ContainsRune(b, 0) {
			t.Skip("an argument cannot hold a NUL byte")
		}
		for _, line := range []string{Quote(a) + " " + Quote(b), Join([]string{a, b})} {
			// `set --` makes every word an argument, so a first word with
			// "=" is not an assignment here.
			cmd := exec.Command("sh", "-c", `eval "set -- $1"; printf '%s\0' "$@"`, "sh", line)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("sh eval of %q: %v\n%s", line, err, stderr.String())
			}
			if want := a + "\x00" + b + "\x00"; string(got) != want {
				t.Fatalf("sh eval of %q gave %q, want %q", line, got, want)
			}
		}
	})
}
