package shellinit

import (
	"fmt"
	"strings"
)

// named returns the shell a program or --shell value is called (a program
// name without .exe: bash, pwsh, dash…). A switch, not a map, so package
// initialisation builds nothing (see syntaxOf).
func named(program string) (Shell, bool) {
	switch program {
	case "bash":
		return Bash, true
	case "zsh":
		return Zsh, true
	case "sh", "dash", "ash", "ksh", "mksh", "busybox":
		return Sh, true
	case "fish":
		return Fish, true
	case "powershell", "pwsh":
		return PowerShell, true
	case "cmd":
		return Cmd, true
	case "tcsh", "csh":
		return Tcsh, true
	case "emacs":
		return Emacs, true
	}
	return "", false
}

// ParseShell reads a --shell value. It takes the shells' names in any case,
// a path or a .exe suffix, and the relatives they stand for (pwsh, dash,
// ksh, csh).
func ParseShell(name string) (Shell, error) {
	if sh, ok := named(program(name)); ok {
		return sh, nil
	}
	valid := make([]string, 0, len(Shells()))
	for _, sh := range Shells() {
		valid = append(valid, string(sh))
	}
	return "", fmt.Errorf("unknown shell %q (use one of %s)", name, strings.Join(valid, ", "))
}

// program reduces "/usr/bin/bash", `C:\Windows\cmd.exe` or "-zsh" (a login
// shell) to the lower-case program name.
func program(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(strings.TrimSpace(name))
	name = strings.TrimSuffix(name, ".exe")
	return strings.TrimPrefix(name, "-")
}

// Detect guesses the user's shell. On Windows, from the name of the parent
// process (powershell.exe and pwsh.exe, cmd.exe, bash.exe of Git Bash…),
// falling back to PowerShell. Elsewhere from the basename of $SHELL (pwsh
// included), falling back to sh, whose syntax bash and zsh read too. It reads only what it is
// given.
func Detect(getenv func(string) string, goos string, parentProcessName string) Shell {
	if goos == "windows" {
		if sh, ok := named(program(parentProcessName)); ok {
			return sh
		}
		return PowerShell
	}
	if sh, ok := named(program(getenv("SHELL"))); ok && sh != Cmd && sh != Emacs {
		return sh
	}
	return Sh
}
