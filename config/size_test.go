package config

import "testing"

func TestParseSize(t *testing.T) {
	good := []struct {
		in  string
		mib int
	}{
		{"2048", 2048},
		{"0", 0},
		{"2GiB", 2048},
		{"2G", 2048},
		{"2GB", 2048},
		{"2g", 2048},
		{"2gib", 2048},
		{"2 GiB", 2048},
		{" 2GiB ", 2048},
		{"1536MiB", 1536},
		{"512M", 512},
		{"512mb", 512},
		{"1.5G", 1536},
		{"0.5GiB", 512},
		{".5G", 512},
		{"1TiB", 1024 * 1024},
		{"2T", 2 * 1024 * 1024},
		{"1048576K", 1024},
		{"1048576KiB", 1024},
		{"+4G", 4096},
	}
	for _, tc := range good {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.mib {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, nil", tc.in, got, err, tc.mib)
		}
	}

	bad := []struct{ in, err string }{
		{"", `invalid size "" (use a number of MiB or a size like "2GiB")`},
		{"lots", `invalid size "lots" (use a number of MiB or a size like "2GiB")`},
		{"GiB", `invalid size "GiB" (use a number of MiB or a size like "2GiB")`},
		{"2 GiB extra", `invalid size "2 GiB extra" (use a number of MiB or a size like "2GiB")`},
		{"2PiB", `invalid size "2PiB" (use a number of MiB or a size like "2GiB")`},
		{"2B", `invalid size "2B" (use a number of MiB or a size like "2GiB")`},
		{"1.2.3G", `invalid size "1.2.3G" (use a number of MiB or a size like "2GiB")`},
		{"1e3", `invalid size "1e3" (use a number of MiB or a size like "2GiB")`},
		{"0x10", `invalid size "0x10" (use a number of MiB or a size like "2GiB")`},
		{"-1G", `invalid size "-1G" (it must not be negative)`},
		{"-5", `invalid size "-5" (it must not be negative)`},
		{"1.3M", `invalid size "1.3M" (it must be a whole number of MiB)`},
		{"1000K", `invalid size "1000K" (it must be a whole number of MiB)`},
		{"99999999999999999999TiB", `invalid size "99999999999999999999TiB" (it is too large)`},
		{"1125899906842625", `invalid size "1125899906842625" (it is too large)`},
	}
	for _, tc := range bad {
		got, err := ParseSize(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseSize(%q) = %d, %v; want error %s", tc.in, got, err, tc.err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for mib, want := range map[int]string{
		0:               "0MiB",
		1:               "1MiB",
		512:             "512MiB",
		1536:            "1536MiB",
		2048:            "2GiB",
		20 * 1024:       "20GiB",
		1024 * 1024:     "1TiB",
		2 * 1024 * 1024: "2TiB",
		1025 * 1024:     "1025GiB",
		-1024:           "-1GiB",
	} {
		if got := FormatSize(mib); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", mib, got, want)
		}
		if mib >= 0 {
			back, err := ParseSize(want)
			if err != nil || back != mib {
				t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", mib, back, err)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]string{
		"5m": "5m", "300": "5m", "90s": "1m30s", "1h": "1h", "2h30m": "2h30m", "1500ms": "1.5s",
	} {
		d, err := parseDuration(in)
		if err != nil || formatDuration(d) != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
}
