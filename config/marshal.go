package config

import (
	"bytes"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Marshal writes the keys that l sets, in the documented order, as YAML that
// ParseYAML reads back to the same values: machine.yaml. Sizes are written
// with a unit ("2GiB") and durations as "5m".
func Marshal(l Layer) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, key := range keys {
		if v := l.node(key, false); v != nil {
			root.Content = append(root.Content, str(key), v)
		}
	}
	if len(root.Content) == 0 {
		return []byte("{}\n"), nil
	}
	return encode(root)
}

// Layer returns a layer that sets every key to its value in s, so that a
// machine's resolved settings can be written with Marshal and kept.
func (s Settings) Layer() Layer {
	shares := append([]Share{}, s.Shares...)
	dns := append([]string{}, s.DNS...)
	return Layer{
		Driver: &s.Driver, CPUs: &s.CPUs, MemoryMiB: &s.MemoryMiB, DiskSizeMiB: &s.DiskSizeMiB,
		ISO: &s.ISO, ISOURL: &s.ISOURL, SSHPort: &s.SSHPort, DockerPort: &s.DockerPort,
		Shares: &shares, ShareType: &s.ShareType, DNS: &dns, Arch: &s.Arch, Accel: &s.Accel, VBoxManage: &s.VBoxManage,
		BootTimeout: &s.BootTimeout, DownAction: &s.DownAction,
		SSHHost: &s.SSHHost, SSHKey: &s.SSHKey, SSHHostKey: &s.SSHHostKey,
	}
}

// YAML renders every key with its value, for `tender config`. With
// withOrigins, each key ends with a comment saying where its value came
// from ("# from env TENDER_MEMORY"). The text is valid settings YAML.
func (s Settings) YAML(withOrigins bool) []byte {
	l := s.Layer()
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, key := range keys {
		k, v := str(key), l.node(key, true)
		if withOrigins {
			origin := s.Origins[key]
			if origin == "" {
				origin = OriginDefault
			}
			// A block list takes the comment after its key; a scalar or a
			// flow list after the value.
			if v.Kind == yaml.SequenceNode && v.Style != yaml.FlowStyle {
				k.LineComment = "from " + origin
			} else {
				v.LineComment = "from " + origin
			}
		}
		root.Content = append(root.Content, k, v)
	}
	out, err := encode(root)
	if err != nil { // the nodes are built here from plain values
		panic("config: rendering settings: " + err.Error())
	}
	if withOrigins {
		out = alignComments(out)
	}
	return out
}

// node is the YAML value of key, or nil if l does not set it. With full,
// a share's read_only is written even when false.
func (l Layer) node(key string, full bool) *yaml.Node {
	switch key {
	case KeyDriver:
		return strPtr(l.Driver)
	case KeyISO:
		return strPtr(l.ISO)
	case KeyISOURL:
		return strPtr(l.ISOURL)
	case KeyArch:
		return strPtr(l.Arch)
	case KeyAccel:
		return strPtr(l.Accel)
	case KeyShareType:
		return strPtr(l.ShareType)
	case KeyDownAction:
		return strPtr(l.DownAction)
	case KeyVBoxManage:
		return strPtr(l.VBoxManage)
	case KeySSHHost:
		return strPtr(l.SSHHost)
	case KeySSHKey:
		return strPtr(l.SSHKey)
	case KeySSHHostKey:
		return strPtr(l.SSHHostKey)
	case KeyCPUs:
		return intPtr(l.CPUs)
	case KeySSHPort:
		return intPtr(l.SSHPort)
	case KeyDockerPort:
		return intPtr(l.DockerPort)
	case KeyMemory:
		return sizePtr(l.MemoryMiB)
	case KeyDiskSize:
		return sizePtr(l.DiskSizeMiB)
	case KeyBootTimeout:
		if l.BootTimeout == nil {
			return nil
		}
		return str(formatDuration(*l.BootTimeout))
	case KeyDNS:
		if l.DNS == nil {
			return nil
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, ip := range *l.DNS {
			seq.Content = append(seq.Content, str(ip))
		}
		return seq
	case KeyShares:
		if l.Shares == nil {
			return nil
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if len(*l.Shares) == 0 {
			seq.Style = yaml.FlowStyle
		}
		for _, sh := range *l.Shares {
			m := &yaml.Node{Kind: yaml.MappingNode}
			m.Content = append(m.Content, str("host"), str(sh.Host))
			if sh.Guest != "" {
				m.Content = append(m.Content, str("guest"), str(sh.Guest))
			}
			if sh.ReadOnly || full {
				m.Content = append(m.Content, str("read_only"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(sh.ReadOnly)})
			}
			seq.Content = append(seq.Content, m)
		}
		return seq
	}
	return nil
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func strPtr(p *string) *yaml.Node {
	if p == nil {
		return nil
	}
	return str(*p)
}

func intPtr(p *int) *yaml.Node {
	if p == nil {
		return nil
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(*p)}
}

func sizePtr(p *int) *yaml.Node {
	if p == nil {
		return nil
	}
	return str(FormatSize(*p))
}

func encode(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// alignComments lines up the "# from …" comments of top-level keys, in a
// column after all but the longest values.
func alignComments(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	width := 0
	split := func(line string) (string, string, bool) {
		if line == "" || line[0] == ' ' || line[0] == '-' {
			return "", "", false
		}
		i := strings.LastIndex(line, " # from ")
		if i < 0 {
			return "", "", false
		}
		return line[:i], line[i+1:], true
	}
	for _, line := range lines {
		if v, _, ok := split(line); ok && len(v) > width {
			width = len(v)
		}
	}
	width = min(width, 24)
	for i, line := range lines {
		if v, c, ok := split(line); ok {
			lines[i] = v + strings.Repeat(" ", max(width-len(v), 0)+2) + c
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// Value is the value of key in s as one line of YAML ("2GiB", "[1.1.1.1]"),
// for `tender config KEY`; "" for an unknown key.
func (s Settings) Value(key string) string {
	v := s.Layer().node(key, false)
	if v == nil {
		return ""
	}
	flow(v)
	out, err := encode(v)
	if err != nil {
		panic("config: rendering settings: " + err.Error())
	}
	return strings.TrimSuffix(string(out), "\n")
}

func flow(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = yaml.FlowStyle
	}
	for _, c := range n.Content {
		flow(c)
	}
}
