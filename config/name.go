package config

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest machine name.
const MaxNameLen = 64

// ValidateName checks a machine name, which becomes a directory under
// machines/ and part of the VM's name: 1 to 64 ASCII letters, digits, "-",
// "_" and ".", starting with a letter or digit, without "..". So it can
// never be a path ("a/b", "..", "C:\x") nor a hidden file or a flag.
func ValidateName(name string) error {
	ok := name != "" && len(name) <= MaxNameLen && isAlnum(name[0]) && !strings.Contains(name, "..")
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = isAlnum(c) || c == '-' || c == '_' || c == '.'
	}
	if !ok {
		return fmt.Errorf("invalid machine name %q: use 1 to %d letters, digits, \"-\", \"_\" or \".\", starting with a letter or digit, without \"..\" (like \"default\" or \"dev-2\")", name, MaxNameLen)
	}
	base, _, _ := strings.Cut(strings.ToLower(name), ".")
	if isWindowsDevice(base) {
		return fmt.Errorf("invalid machine name %q: %q is a device name on Windows, choose another", name, base)
	}
	return nil
}

// isWindowsDevice says whether base cannot be a file name on Windows,
// whatever the extension. This package's lookup tables are switches, not map
// literals: a map literal is built by package initialisation, which every
// tender command pays, `tender shellinit` in each new shell included.
func isWindowsDevice(base string) bool {
	switch base {
	case "con", "prn", "aux", "nul",
		"com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
		"lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9":
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
