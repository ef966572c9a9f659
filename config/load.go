package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML settings file at path (config.yaml or machine.yaml). A
// missing file is an empty Layer and no error. Errors name the file and line,
// as ParseYAML's do.
func Load(path string) (Layer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Layer{}, nil
	}
	if err != nil {
		return Layer{}, fmt.Errorf("reading settings: %w", err)
	}
	return ParseYAML(path, data)
}

// ParseYAML parses a settings file; name is used in messages
// ("config.yaml:3: …"). It is strict: an unknown key, a key set twice or a
// value of the wrong type is an error, each on one line with the line number
// and the field. Every such problem is reported (errors.Join). Ranges are not
// checked here but by Validate, which also gives the line.
func ParseYAML(name string, data []byte) (Layer, error) {
	var l Layer
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return l, nil // empty, or only comments
		}
		return l, syntaxError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return l, syntaxError(name, err)
		}
		return l, fmt.Errorf("%s:%d: only one YAML document is allowed (remove the second \"---\")", name, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return l, nil
	}
	if root.Kind != yaml.MappingNode {
		return l, fmt.Errorf("%s:%d: settings must be a mapping of fields like \"memory: 2GiB\", got %s", name, root.Line, describe(root))
	}

	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolveAlias(root.Content[i+1])
		where := name + ":" + strconv.Itoa(k.Line)
		key := k.Value
		if !contains(keys, key) {
			errs = append(errs, &unknownFieldError{where: where, key: key})
			continue
		}
		if line, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: field `%s` is set twice (first on line %d)", where, key, line))
			continue
		}
		seen[key] = k.Line
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			continue // "memory:" or "memory: ~" leaves it unset
		}
		if err := l.setNode(name, key, v); err != nil {
			errs = append(errs, err)
			continue
		}
		l.mark(key, mark{where: where})
	}
	return l, errors.Join(errs...)
}

// syntaxError rewrites yaml.v3's "yaml: line 3: …" as "name:3: …".
func syntaxError(name string, err error) error {
	if line, msg, ok := yamlLine(err.Error()); ok {
		return fmt.Errorf("%s:%s: %s (is this valid YAML?)", name, line, msg)
	}
	if msg, ok := strings.CutPrefix(err.Error(), "yaml: "); ok {
		return fmt.Errorf("%s: %s (is this valid YAML?)", name, msg)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// yamlLine splits a one-line "yaml: line 3: …" into "3" and the rest. (Not
// a regexp: a package-level one is compiled by package initialisation, which
// every tender command pays.)
func yamlLine(s string) (line, msg string, ok bool) {
	rest, ok := strings.CutPrefix(s, "yaml: line ")
	if !ok || strings.Contains(rest, "\n") {
		return "", "", false
	}
	line, msg, ok = strings.Cut(rest, ": ")
	if !ok || line == "" || strings.Trim(line, "0123456789") != "" {
		return "", "", false
	}
	return line, msg, true
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// describe says what a node holds, for "got …": strings quoted, other
// scalars as written, collections by kind.
func describe(n *yaml.Node) string {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "nothing"
}

func at(name string, n *yaml.Node) string { return name + ":" + strconv.Itoa(n.Line) }

// setNode sets key from a YAML value node.
func (l *Layer) setNode(name, key string, v *yaml.Node) error {
	wrong := func(problem string) error {
		return &FieldError{Where: at(name, v), Field: key, Problem: problem + ", got " + describe(v)}
	}
	switch key {
	case KeyDriver, KeyISO, KeyISOURL, KeyShareType, KeyArch, KeyAccel, KeyVBoxManage, KeyDownAction, KeySSHHost, KeySSHKey, KeySSHHostKey:
		if v.Kind != yaml.ScalarNode {
			return wrong("must be a string")
		}
		return l.Set(key, v.Value)

	case KeyCPUs, KeySSHPort, KeyDockerPort:
		n, ok := nodeInt(v)
		if !ok {
			return wrong("must be a whole number")
		}
		l.setInt(key, n)

	case KeyMemory, KeyDiskSize:
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!str" && v.Tag != "!!float") {
			return wrong(`must be a size like "2GiB"`)
		}
		var n int
		var err error
		if v.Tag == "!!int" {
			var ok bool
			if n, ok = nodeInt(v); !ok {
				err = errTooLarge
			} else if n > maxParsedMiB || n < -maxParsedMiB {
				err = errTooLarge
			}
		} else {
			n, err = parseSize(v.Value)
		}
		if err != nil {
			fe := sizeError(key, describe(v), err)
			fe.Where = at(name, v)
			return fe
		}
		l.setInt(key, n)

	case KeyBootTimeout:
		if v.Kind != yaml.ScalarNode || (v.Tag != "!!int" && v.Tag != "!!str") {
			return wrong(`must be a duration like "5m" or "90s"`)
		}
		d, err := parseDuration(v.Value)
		if v.Tag == "!!int" {
			if n, ok := nodeInt(v); ok && n <= 1<<32 && n >= -1<<32 {
				d, err = time.Duration(n)*time.Second, nil
			} else {
				err = errTooLarge
			}
		}
		if err != nil {
			fe := durationError(describe(v), err)
			fe.Where = at(name, v)
			return fe
		}
		l.BootTimeout = &d

	case KeyDNS:
		if v.Kind != yaml.SequenceNode {
			return wrong(`must be a list of IP addresses like ["1.1.1.1"]`)
		}
		dns := []string{}
		var errs []error
		for i, item := range v.Content {
			item = resolveAlias(item)
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				errs = append(errs, &FieldError{Where: at(name, item), Field: fmt.Sprintf("%s[%d]", key, i),
					Problem: `must be an IP address like "1.1.1.1", got ` + describe(item)})
				continue
			}
			l.mark(fmt.Sprintf("%s[%d]", key, i), mark{where: at(name, item)})
			dns = append(dns, item.Value)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		l.DNS = &dns

	case KeyShares:
		shares, err := l.sharesNode(name, v)
		if err != nil {
			return err
		}
		l.Shares = &shares
	}
	return nil
}

// nodeInt reads a whole number: a YAML integer (also 0x1F, 1_000) or a
// string holding a decimal one ("2").
func nodeInt(v *yaml.Node) (int, bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch v.Tag {
	case "!!int":
		var n int64
		if err := v.Decode(&n); err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, false
		}
		return int(n), true
	case "!!str":
		n, err := strconv.Atoi(v.Value)
		return n, err == nil
	}
	return 0, false
}

var shareFields = []string{"host", "guest", "read_only"}

// sharesNode reads a list whose items are a host path or a mapping of
// host, guest and read_only.
func (l *Layer) sharesNode(name string, v *yaml.Node) ([]Share, error) {
	const form = "must be a list of shares like [{host: /Users, guest: /Users}]"
	if v.Kind != yaml.SequenceNode {
		return nil, &FieldError{Where: at(name, v), Field: KeyShares, Problem: form + ", got " + describe(v)}
	}
	shares := []Share{}
	var errs []error
	for i, item := range v.Content {
		item = resolveAlias(item)
		field := fmt.Sprintf("%s[%d]", KeyShares, i)
		bad := func(field, problem string, n *yaml.Node) {
			errs = append(errs, &FieldError{Where: at(name, n), Field: field, Problem: problem + ", got " + describe(n)})
		}
		var sh Share
		switch {
		case item.Kind == yaml.ScalarNode && item.Tag == "!!str":
			sh.Host = item.Value
		case item.Kind == yaml.MappingNode:
			seen := map[string]bool{}
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, fv := item.Content[j], resolveAlias(item.Content[j+1])
				sub := field + "." + k.Value
				if !contains(shareFields, k.Value) {
					msg := fmt.Sprintf("%s: unknown field `%s`", at(name, k), sub)
					if s := suggest(k.Value, shareFields); s != "" {
						msg += fmt.Sprintf(" (did you mean `%s.%s`?)", field, s)
					} else {
						msg += " (a share has host, guest and read_only)"
					}
					errs = append(errs, errors.New(msg))
					continue
				}
				if seen[k.Value] {
					errs = append(errs, fmt.Errorf("%s: field `%s` is set twice", at(name, k), sub))
					continue
				}
				seen[k.Value] = true
				l.mark(sub, mark{where: at(name, k)})
				switch k.Value {
				case "host", "guest":
					if fv.Kind != yaml.ScalarNode || fv.Tag == "!!null" {
						bad(sub, "must be a path", fv)
						continue
					}
					if k.Value == "host" {
						sh.Host = fv.Value
					} else {
						sh.Guest = fv.Value
					}
				case "read_only":
					if fv.Kind != yaml.ScalarNode || fv.Tag != "!!bool" {
						bad(sub, "must be true or false", fv)
						continue
					}
					if err := fv.Decode(&sh.ReadOnly); err != nil {
						bad(sub, "must be true or false", fv)
					}
				}
			}
		default:
			bad(field, "must be a host path or a mapping like {host: /Users, guest: /Users}", item)
			continue
		}
		l.mark(field, mark{where: at(name, item)})
		shares = append(shares, sh)
	}
	return shares, errors.Join(errs...)
}
