package main

import (
	"reflect"
	"runtime/debug"
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

func TestHelloBuildArgs(t *testing.T) {
	info := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "-buildmode", Value: "exe"},
		{Key: "-tags", Value: "urfave_cli_no_docs"},
		{Key: "-trimpath", Value: "true"},
		{Key: "CGO_ENABLED", Value: "0"},
		{Key: "GOARCH", Value: "amd64"},
		{Key: "GOOS", Value: "linux"},
		{Key: "GOAMD64", Value: "v1"},
	}}
	envs, args := helloBuildArgs(info, true)
	if want := []string{"CGO_ENABLED=0", "GOARCH=amd64", "GOOS=linux", "GOAMD64=v1"}; !reflect.DeepEqual(envs, want) {
		t.Errorf("envs = %q, want %q", envs, want)
	}
	if want := []string{"-tags", "urfave_cli_no_docs", "-trimpath", "-ldflags", "-s -w"}; !reflect.DeepEqual(args, want) {
		t.Errorf("args = %q, want %q", args, want)
	}
	if _, args := helloBuildArgs(&debug.BuildInfo{}, false); len(args) != 0 {
		t.Errorf("args of an unstripped default build = %q, want none", args)
	}
}
