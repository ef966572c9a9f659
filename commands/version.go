package commands

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"
)

func versionCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print tender's version, commit and build date",
		Description: `The version, commit and date are stamped at build time (make build, releases,
Homebrew); a ` + "`go install`" + ` build reports what Go recorded. ` + "`tender info`" + ` shows the
versions of a machine's image and guest agent beside this one.

   tender version`,
		Action: func(c *cli.Context) error {
			v, commit, date := env.buildInfo()
			fmt.Fprintf(env.Stdout, "tender %s\n", v)
			fmt.Fprintf(env.Stdout, "commit: %s\n", orUnknown(commit))
			fmt.Fprintf(env.Stdout, "built:  %s\n", orUnknown(date))
			fmt.Fprintf(env.Stdout, "go:     %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// version is this tender's version, as `tender version` prints it.
func (env *Env) version() string {
	v, _, _ := env.buildInfo()
	return v
}

// buildInfo is the version, commit and date stamped with -ldflags, with
// what the Go toolchain recorded filling the gaps: the module version of a
// `go install …@v1.2.3`, the VCS revision and time of a build in a clone.
func (env *Env) buildInfo() (version, commit, date string) {
	version, commit, date = env.Version, env.Commit, env.Date
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orDev(version), commit, date
	}
	if (version == "" || version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if commit == "" && len(s.Value) >= 12 {
				commit = s.Value[:12]
			}
		case "vcs.time":
			if date == "" {
				date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && commit != "" && env.Commit == "" {
		commit += "-dirty"
	}
	return orDev(version), commit, date
}

func orDev(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
