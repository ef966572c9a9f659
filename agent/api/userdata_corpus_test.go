package api

import (
	"archive/tar"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// entry is one tar entry of a hand-made stream.
type entry struct {
	name string
	data string
	typ  byte
}

func stream(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.data))
		if typ != tar.TypeReg {
			size = 0
		}
		hdr := &tar.Header{Name: e.name, Mode: 0o600, Size: size, Typeflag: typ, Linkname: "/etc/shadow"}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// good is a complete stream with the given entries replaced or added.
func good(t testing.TB, override ...entry) []byte {
	entries := []entry{
		{name: UserdataMagic},
		{name: AuthorizedKeysFile, data: "ssh-ed25519 AAAA test\n"},
		{name: SSHHostKeyFile, data: "-----BEGIN OPENSSH PRIVATE KEY-----\n"},
		{name: CACertFile, data: "ca"},
		{name: ServerCertFile, data: "cert"},
		{name: ServerKeyFile, data: "key"},
		{name: HostnameFile, data: "tender-default\n"},
		{name: SharesFile, data: `[{"type":"9p","tag":"share0","target":"/home/me"}]`},
	}
	for _, o := range override {
		replaced := false
		for i := range entries {
			if entries[i].name == o.name {
				entries[i], replaced = o, true
			}
		}
		if !replaced {
			entries = append(entries, o)
		}
	}
	var kept []entry
	for _, e := range entries {
		if e.data != "\x00drop" {
			kept = append(kept, e)
		}
	}
	return stream(t, kept...)
}

func drop(name string) entry { return entry{name: name, data: "\x00drop"} }

// TestBadUserdata is the data-disk part of the bad-input corpus: the guest
// reads the userdata from a disk it must not trust. Each stream is refused
// with an error naming the entry at fault, and none panics.
func TestBadUserdata(t *testing.T) {
	if _, err := ReadUserdata(bytes.NewReader(good(t))); err != nil {
		t.Fatalf("the good stream is refused: %v", err)
	}
	full := good(t)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty disk", nil, "no tender userdata"},
		{"zeros", make([]byte, 4096), "no tender userdata"},
		{"random text", []byte(strings.Repeat("not a tar ", 100)), "no tender userdata"},
		{"magic not first", stream(t, entry{name: HostnameFile, data: "x"}, entry{name: UserdataMagic}), "no tender userdata"},
		{"magic only", stream(t, entry{name: UserdataMagic}), ".ssh/authorized_keys is empty"},
		{"no authorized keys", good(t, drop(AuthorizedKeysFile)), ".ssh/authorized_keys is empty"},
		{"no host key", good(t, drop(SSHHostKeyFile)), "ssh/ssh_host_ed25519_key is empty"},
		{"no CA", good(t, drop(CACertFile)), "tls/ca.pem is empty"},
		{"no server key", good(t, drop(ServerKeyFile)), "tls/server-key.pem is empty"},
		{"no hostname", good(t, drop(HostnameFile)), "hostname is empty"},
		{"hostname adds an /etc/hosts line", good(t, entry{name: HostnameFile, data: "tender\n10.0.0.1 registry.example.com\n"}), `hostname "tender\n10.0.0.1 registry.example.com" must be`},
		{"hostname with shell", good(t, entry{name: HostnameFile, data: "$(reboot)"}), `hostname "$(reboot)" must be`},
		{"hostname too long", good(t, entry{name: HostnameFile, data: strings.Repeat("h", 65)}), "must be 1 to 64"},
		{"shares not JSON", good(t, entry{name: SharesFile, data: "{"}), "shares.json"},
		{"shares wrong type", good(t, entry{name: SharesFile, data: `{"type":"9p"}`}), "shares.json"},
		{"share relative target", good(t, entry{name: SharesFile, data: `[{"type":"9p","tag":"s","target":"../etc"}]`}), `share 0: target must be a clean absolute path`},
		{"share target climbing", good(t, entry{name: SharesFile, data: `[{"type":"9p","tag":"s","target":"/home/../etc"}]`}), `target must be a clean absolute path`},
		{"share over root", good(t, entry{name: SharesFile, data: `[{"type":"9p","tag":"s","target":"/"}]`}), `other than "/"`},
		{"share unknown type", good(t, entry{name: SharesFile, data: `[{"type":"nfs","tag":"s","target":"/x"}]`}), `type must be "9p", "virtiofs" or "vboxsf", got "nfs"`},
		{"share tag with mount options", good(t, entry{name: SharesFile, data: `[{"type":"9p","tag":"s,trans=fd","target":"/x"}]`}), `tag must be`},
		{"symlink for the CA", good(t, entry{name: CACertFile, typ: tar.TypeSymlink}), "tls/ca.pem must be a regular file"},
		{"directory for the server key", good(t, entry{name: ServerKeyFile, typ: tar.TypeDir}), "tls/server-key.pem must be a regular file"},
		{"oversized entry", good(t, entry{name: AuthorizedKeysFile, data: strings.Repeat("k", MaxUserdataEntry+1)}), "more than the 1048576 an entry may"},
		{"truncated stream", full[:len(full)/2+100], "userdata: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := ReadUserdata(bytes.NewReader(c.data))
			if err == nil {
				t.Fatalf("accepted: %+v", u)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if !reflect.DeepEqual(u, Userdata{}) {
				t.Errorf("a refused stream returned data: %+v", u)
			}
		})
	}
	if len(cases) < 20 {
		t.Fatalf("keep at least 20 bad streams, have %d", len(cases))
	}
}

// FuzzReadUserdata feeds arbitrary disks to the guest's reader: it must never
// panic, and whatever it accepts must be valid and survive Write and Read
// unchanged.
func FuzzReadUserdata(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteUserdata(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(good(f))
	f.Add([]byte{})
	f.Add(stream(f, entry{name: UserdataMagic}))
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ReadUserdata(bytes.NewReader(data))
		if err != nil {
			if errors.Is(err, ErrNoUserdata) && HasUserdataMagic(data) && len(data) >= 512 {
				// HasUserdataMagic looks at the header only; Read may still refuse.
				return
			}
			return
		}
		if err := u.Validate(); err != nil {
			t.Fatalf("Read accepted invalid userdata: %v", err)
		}
		var out bytes.Buffer
		if err := WriteUserdata(&out, u); err != nil {
			t.Fatalf("Write of what Read accepted: %v", err)
		}
		again, err := ReadUserdata(&out)
		if err != nil {
			t.Fatalf("ReadUserdata(WriteUserdata(u)): %v", err)
		}
		if len(u.Shares) == 0 {
			u.Shares = nil
		}
		if len(again.Shares) == 0 {
			again.Shares = nil
		}
		if !reflect.DeepEqual(u, again) {
			t.Fatalf("round trip changed the userdata:\n%+v\n%+v", u, again)
		}
	})
}
