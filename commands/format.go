package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/urfave/cli/v2"
)

// formatFlag is --format: one of the command's named formats, json, or a Go
// template such as '{{.State}}' (as docker's --format).
func formatFlag(named ...string) cli.Flag {
	return &cli.StringFlag{Name: "format", Usage: formatUsage(named)}
}

func formatUsage(named []string) string {
	return strings.Join(append(named, "json"), ", ") + ", or a Go template like '{{.Name}}'"
}

// isTemplate tells a Go template from a format's name.
func isTemplate(format string) bool { return strings.Contains(format, "{{") }

// parseFormat checks --format against the command's named formats and
// parses a template; tmpl is nil for a named format.
func parseFormat(format string, named ...string) (tmpl *template.Template, err error) {
	if !isTemplate(format) {
		for _, n := range append(named, "json", "") {
			if format == n {
				return nil, nil
			}
		}
		return nil, fmt.Errorf("--format must be %s, got %q", formatUsage(named), format)
	}
	// As docker's: a \t or \n typed in the shell's quotes is a tab or newline.
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	name := "format"
	if rest, ok := strings.CutPrefix(format, "table "); ok {
		// docker's table directive: the template of each row, under a
		// header made from its fields, in aligned columns.
		name, format = tableTemplate, rest
	}
	tmpl, err = template.New(name).Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"join":  strings.Join,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
	}).Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format is not a valid Go template: %w", err)
	}
	return tmpl, nil
}

// tableTemplate names a template parsed from "table ROW".
const tableTemplate = "table"

// writeRows applies tmpl to each row, a line each; a table template gets
// its header first and aligned columns (tabs in the template separate them).
func writeRows[T any](w io.Writer, tmpl *template.Template, rows []T) error {
	out := w
	var tw *tabwriter.Writer
	if tmpl.Name() == tableTemplate {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		out = tw
		if _, err := io.WriteString(tw, tableHeader(tmpl.Root.String())+"\n"); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := writeTemplate(out, tmpl, r); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// tableHeader turns a row template into its header: each {{.Field}} becomes
// FIELD (DockerHost: DOCKER_HOST), other actions "-", text as it is.
func tableHeader(row string) string {
	var b strings.Builder
	for {
		start := strings.Index(row, "{{")
		if start < 0 {
			b.WriteString(row)
			return b.String()
		}
		end := strings.Index(row[start:], "}}")
		if end < 0 {
			b.WriteString(row)
			return b.String()
		}
		b.WriteString(row[:start])
		action := strings.TrimSpace(strings.Trim(row[start+2:start+end], "- "))
		if f, ok := strings.CutPrefix(action, "."); ok && f != "" && !strings.ContainsAny(f, " .|(") {
			b.WriteString(upperSnake(f))
		} else {
			b.WriteString("-")
		}
		row = row[start+end+2:]
	}
}

// upperSnake: DockerHost → DOCKER_HOST, CPUs → CPUS, DiskSizeMiB →
// DISK_SIZE_MIB: a word starts at a capital after a small letter.
func upperSnake(s string) string {
	s = strings.ReplaceAll(s, "MiB", "Mib")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// writeTemplate executes tmpl with v and ends the output with a newline,
// printing nothing if it fails half-way.
func writeTemplate(w io.Writer, tmpl *template.Template, v any) error {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
