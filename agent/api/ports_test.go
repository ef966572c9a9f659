package api

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestDiffPorts(t *testing.T) {
	old := NewPortSet([]Port{{"tcp", 80}, {"tcp", 443}, {"udp", 53}})
	cur := NewPortSet([]Port{{"tcp", 443}, {"udp", 53}, {"tcp", 8080}, {"udp", 5353}})
	got := DiffPorts(old, cur)
	want := PortEvent{Added: []Port{{"tcp", 8080}, {"udp", 5353}}, Removed: []Port{{"tcp", 80}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DiffPorts = %+v, want %+v", got, want)
	}
	if !DiffPorts(cur, cur).Empty() {
		t.Fatal("DiffPorts of a set with itself is not empty")
	}
	if got, want := cur.Sorted(), []Port{{"tcp", 443}, {"tcp", 8080}, {"udp", 53}, {"udp", 5353}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Sorted = %v, want %v", got, want)
	}
}

func TestEncodeDecodePortEvents(t *testing.T) {
	var buf bytes.Buffer
	evs := []PortEvent{{Added: []Port{{"tcp", 8080}}}, {}, {Removed: []Port{{"tcp", 8080}}}}
	for _, ev := range evs {
		if err := EncodePortEvent(&buf, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := buf.String(), "{\"added\":[{\"proto\":\"tcp\",\"port\":8080}]}\n{}\n{\"removed\":[{\"proto\":\"tcp\",\"port\":8080}]}\n"; got != want {
		t.Fatalf("stream = %q, want %q", got, want)
	}
	dec := NewPortEventDecoder(&buf)
	for i, want := range evs {
		got, err := dec.Next()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d = %+v, %v; want %+v", i, got, err, want)
		}
	}
	if _, err := dec.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want io.EOF", err)
	}
	if _, err := NewPortEventDecoder(strings.NewReader("not json\n")).Next(); err == nil {
		t.Fatal("a bad line decoded")
	}
}

func TestReserved(t *testing.T) {
	for p, want := range map[Port]bool{
		{"tcp", 22}: true, {"tcp", 2376}: true, {"udp", 68}: true,
		{"tcp", 2377}: true, {"tcp", 7946}: true, {"udp", 7946}: true, {"udp", 4789}: true,
		{"udp", 22}: false, {"tcp", 68}: false, {"tcp", 8080}: false,
		{"udp", 2377}: false, {"tcp", 4789}: false,
	} {
		if got := Reserved(p); got != want {
			t.Errorf("Reserved(%v) = %v, want %v", p, got, want)
		}
	}
}
