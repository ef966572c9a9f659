package statestream

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// A stream of zero pages, text and random bytes comes back as it was, and
// the zero pages and text take far less room.
func TestStreamRoundTrip(t *testing.T) {
	var in bytes.Buffer
	in.Write(make([]byte, 1<<20))
	for range 4096 {
		in.WriteString("dockerd heap and code pages repeat themselves; ")
	}
	random := make([]byte, 64<<10)
	rand.Read(random)
	in.Write(random)
	var packed, out bytes.Buffer
	if err := Compress(bytes.NewReader(in.Bytes()), &packed); err != nil {
		t.Fatal(err)
	}
	if err := Decompress(bytes.NewReader(packed.Bytes()), &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in.Bytes()) {
		t.Fatal("the stream changed in the round trip")
	}
	if packed.Len() > in.Len()/4 {
		t.Errorf("compressed %d bytes to %d", in.Len(), packed.Len())
	}
}

// A truncated stream is an error, so QEMU never loads half a machine
// without being told.
func TestStreamTruncated(t *testing.T) {
	in := bytes.Repeat([]byte("guest page "), 1<<16)
	rand.Read(in[:4096])
	var packed bytes.Buffer
	if err := Compress(bytes.NewReader(in), &packed); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Decompress(bytes.NewReader(packed.Bytes()[:packed.Len()/2]), &out); err == nil {
		t.Error("a truncated stream decompressed without an error")
	}
}
