package commands

//go:generate go run ../scripts/gendocs -o ../docs/commands.md

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Markdown renders docs/commands.md: a table of the commands, then each
// command's own `tender help` text, so the page says exactly what the
// program says. It is independent of the host and of TENDER_* variables
// except TENDER_VM, which the caller should leave unset.
func Markdown() (string, error) {
	help := func(args ...string) (string, error) {
		var out bytes.Buffer
		env := &Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
		app := New(env)
		app.HelpName = "tender"
		if err := app.Run(append([]string{"tender"}, args...)); err != nil {
			return "", fmt.Errorf("tender %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimRight(out.String(), "\n") + "\n", nil
	}
	var b strings.Builder
	b.WriteString("# tender commands\n\n")
	b.WriteString("<!-- Generated from tender's own help by `make docs` (scripts/gendocs); do not edit. -->\n\n")
	b.WriteString("| command | aliases | what it does |\n|---|---|---|\n")
	app := New(&Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		aliases := make([]string, len(c.Aliases))
		for i, a := range c.Aliases {
			aliases[i] = "`" + a + "`"
		}
		usage := strings.TrimSpace(c.Name + " " + c.ArgsUsage)
		fmt.Fprintf(&b, "| [`%s`](#tender-%s) | %s | %s |\n", usage, c.Name, strings.Join(aliases, ", "), strings.ReplaceAll(c.Usage, "|", `\|`))
	}
	top, err := help("--help")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\n## tender\n\n```\n%s```\n", top)
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		text, err := help("help", c.Name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n## tender %s\n\n```\n%s```\n", c.Name, text)
	}
	return b.String(), nil
}
