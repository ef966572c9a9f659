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
	err := eachHelp(func(name, text string) {
		if name == "" {
			fmt.Fprintf(&b, "\n## tender\n\n```\n%s```\n", text)
			return
		}
		fmt.Fprintf(&b, "\n## tender %s\n\n```\n%s```\n", name, text)
	})
	return b.String(), err
}

// eachHelp calls f with the app's help (name "") and then each visible
// command's, as `tender help NAME` prints it.
func eachHelp(f func(name, text string)) error {
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
	top, err := help("--help")
	if err != nil {
		return err
	}
	f("", top)
	for _, c := range New(&Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}).Commands {
		if c.Hidden {
			continue
		}
		text, err := help("help", c.Name)
		if err != nil {
			return err
		}
		f(c.Name, text)
	}
	return nil
}

// Manpage is tender(1) in roff, from the same help text as Markdown: the
// app's help, then each command's, as preformatted sections.
func Manpage() (string, error) {
	var b strings.Builder
	b.WriteString(".\\\" Generated from tender's own help by `make docs` (scripts/gendocs); do not edit.\n")
	b.WriteString(".TH TENDER 1 \"\" \"tender\" \"User Commands\"\n")
	b.WriteString(".SH NAME\ntender \\- a Docker engine in a lightweight Linux VM\n")
	err := eachHelp(func(name, text string) {
		if name == "" {
			b.WriteString(".SH DESCRIPTION\n")
		} else {
			fmt.Fprintf(&b, ".SH \"TENDER %s\"\n", strings.ToUpper(roffEscape(name)))
		}
		b.WriteString(".nf\n")
		for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			line = roffEscape(line)
			if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
				line = "\\&" + line // not a roff request
			}
			b.WriteString(line + "\n")
		}
		b.WriteString(".fi\n")
	})
	return b.String(), err
}

// roffEscape makes text literal for roff: a backslash is \e, and a
// character beyond ASCII (…, →) its \[uXXXX] escape, which groff and
// mandoc read without a preprocessor.
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
