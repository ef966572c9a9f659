package shellinit

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// FuzzPOSIXQuoting is the round trip of shellinit's quoting: whatever the
// value (a TENDER_HOME path can hold anything but NUL), `eval` of the bash
// output in a real bash gives back exactly that value.
func FuzzPOSIXQuoting(f *testing.F) {
	if _, err := exec.LookPath("bash"); err != nil {
		f.Skip("bash is not installed")
	}
	for _, v := range append(append([]string(nil), tricky...), beyondTcsh...) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, value string) {
		var out bytes.Buffer
		err := Render(&out, Vars{{Name: "DOCKER_CERT_PATH", Value: value}}, Bash, Options{})
		if strings.ContainsRune(value, 0) {
			if err == nil {
				t.Fatal("a value with a NUL byte was rendered")
			}
			return
		}
		if err != nil {
			t.Fatalf("Render(%q): %v", value, err)
		}
		script := `eval "$(cat)"; if [ -n "${DOCKER_CERT_PATH+set}" ]; then printf 'set:%s' "$DOCKER_CERT_PATH"; fi`
		cmd := exec.Command("bash", "--norc", "--noprofile", "-c", script)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		cmd.Stdin = &out
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		got, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("bash eval of the output for %q: %v\n%s", value, err, stderr.String())
		}
		want := "set:" + value
		if value == "" {
			want = "" // an empty value is unset
		}
		if string(got) != want {
			t.Fatalf("eval gave %q, want %q", got, want)
		}
	})
}
