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
	if windowsDevices[base] {
		return fmt.Errorf("invalid machine name %q: %q is a device name on Windows, choose another", name, base)
	}
	return nil
}

// windowsDevices cannot be file names on Windows, whatever the extension.
var windowsDevices = map[string]bool{
	"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true,
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
