package shellinit

import (
	"fmt"
	"strings"
)

// names maps what a shell is called (a program name without .exe, or a
// --shell value) to the syntax it takes.
var names = map[string]Shell{
	"bash": Bash, "zsh": Zsh, "sh": Sh, "dash": Sh, "ash": Sh, "ksh": Sh, "mksh": Sh, "busybox": Sh,
	"fish":       Fish,
	"powershell": PowerShell, "pwsh": PowerShell,
	"cmd":  Cmd,
	"tcsh": Tcsh, "csh": Tcsh,
	"emacs": Emacs,
}

// ParseShell reads a --shell value. It takes the shells' names in any case,
// a path or a .exe suffix, and the relatives they stand for (pwsh, dash,
// ksh, csh).
func ParseShell(name string) (Shell, error) {
	if sh, ok := names[program(name)]; ok {
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
		if sh, ok := names[program(parentProcessName)]; ok {
			return sh
		}
		return PowerShell
	}
	if sh, ok := names[program(getenv("SHELL"))]; ok && sh != Cmd && sh != Emacs {
		return sh
	}
	return Sh
}
