//go:build linux || darwin

package qemu

// hasArgs reports whether argv holds every one of want as a whole element.
func hasArgs(argv []string, want []string) bool {
	for _, w := range want {
		found := false
		for _, a := range argv {
			if a == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// splitNUL splits a NUL-separated argument block, dropping the empty tail.
func splitNUL(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, string(b[start:]))
	}
	return out
}
