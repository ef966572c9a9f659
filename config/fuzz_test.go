package config

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseYAML feeds the settings loader arbitrary files: it never panics,
// every error names the file, and whatever it accepts is written back by
// Marshal as a file that parses to the same settings.
func FuzzParseYAML(f *testing.F) {
	for _, seed := range []string{
		"",
		"cpus: 2\nmemory: 4GiB\n",
		"memory: 2048\ndisksize: 20GiB\niso: /tmp/x.iso\n",
		"shares: [/home/me, {host: /a, guest: /b, readonly: true}]\n",
		"dns: [1.1.1.1, 8.8.8.8]\nboot_timeout: 5m\n",
		"ssh_port: 2222\ndocker_port: 2376\ndriver: qemu\naccel: tcg\n",
		"a: &x 1\ncpus: *x\n",
		"cpus: [1, 2]\n",
		"- 1\n",
		"cpus: 2\n---\ncpus: 3\n",
		"memroy: 2GiB\n",
		"{cpus: 2, cpus: 3}\n",
		"\x00\xff",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseYAML("config.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config.yaml") {
					t.Fatalf("error line %q does not name the file (input %q)", line, data)
				}
			}
			return
		}
		out, err := Marshal(l)
		if err != nil {
			t.Fatalf("Marshal of accepted settings: %v (input %q)", err, data)
		}
		l2, err := ParseYAML("again.yaml", out)
		if err != nil {
			t.Fatalf("the written file does not parse: %v\ninput %q\nwritten:\n%s", err, data, out)
		}
		out2, err := Marshal(l2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the settings:\n%s\n---\n%s", out, out2)
		}
	})
}
