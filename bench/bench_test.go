package main

import (
	"reflect"
	"testing"
)

func TestTableRoundTripAndCompare(t *testing.T) {
	before := Results{"up_ready_s": 10.0, "upload_mb_s": 100.0, "iso_bytes": int64(50_000_000), "phases": map[string]float64{"agent-start": 1.5}}
	prev := ParseTable(Table(before))
	want := map[string]float64{"up_ready_s": 10, "upload_mb_s": 100, "iso_bytes": 50_000_000, "phases.agent-start": 1.5}
	if !reflect.DeepEqual(prev, want) {
		t.Fatalf("ParseTable(Table(r)) = %v, want %v", prev, want)
	}
	now := Results{"up_ready_s": 12.5, "upload_mb_s": 70.0, "iso_bytes": int64(51_000_000)}
	got := Compare(prev, now)
	wantWorse := []string{"up_ready_s: 12.5, was 10 (+25%)", "upload_mb_s: 70, was 100 (+30%)"}
	if !reflect.DeepEqual(got, wantWorse) {
		t.Fatalf("Compare = %q, want %q", got, wantWorse)
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatalf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatalf("median = %v", m)
	}
}
