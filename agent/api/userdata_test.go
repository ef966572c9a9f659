package api

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sample() Userdata {
	return Userdata{
		Hostname:       "tender-default",
		AuthorizedKeys: []byte("ssh-ed25519 AAAA test\n"),
		SSHHostKey:     []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n"),
		CACert:         []byte("ca"),
		ServerCert:     []byte("cert"),
		ServerKey:      []byte("key"),
		Shares:         []Share{{Type: "9p", Tag: "home", Target: "/home/me", ReadOnly: true}},
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteUserdata(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	if !HasUserdataMagic(buf.Bytes()[:512]) {
		t.Fatal("HasUserdataMagic is false for a stream written by Write")
	}
	got, err := ReadUserdata(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sample()) {
		t.Fatalf("ReadUserdata(WriteUserdata(u)) = %+v, want %+v", got, sample())
	}
}

func TestReadRejectsOtherData(t *testing.T) {
	for name, data := range map[string][]byte{
		"zeros":     make([]byte, 4096),
		"text":      bytes.Repeat([]byte("precious data "), 100),
		"empty":     nil,
		"short tar": []byte("tender, please format-me"),
	} {
		if HasUserdataMagic(padTo512(data)) {
			t.Errorf("%s: HasUserdataMagic = true", name)
		}
		if _, err := ReadUserdata(bytes.NewReader(data)); !errors.Is(err, ErrNoUserdata) {
			t.Errorf("%s: Read error = %v, want ErrNoUserdata", name, err)
		}
	}
}

func TestWriteRefusesIncompleteUserdata(t *testing.T) {
	u := sample()
	u.ServerKey = nil
	u.Hostname = ""
	err := WriteUserdata(&bytes.Buffer{}, u)
	if err == nil {
		t.Fatal("Write accepted userdata without a server key and hostname")
	}
	want := "userdata: tls/server-key.pem is empty\nuserdata: hostname is empty"
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func padTo512(b []byte) []byte {
	out := make([]byte, 512)
	copy(out, b)
	return out
}
