package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
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
	tmpl, err = template.New("format").Funcs(template.FuncMap{
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
