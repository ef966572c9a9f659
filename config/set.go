package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Set sets key from its text form, as given on the command line or in the
// environment. Numbers are decimal; sizes are as ParseSize reads them;
// boot_timeout is a duration ("90s", "5m") or whole seconds; dns is a list of
// addresses separated by commas or spaces; shares is a comma-separated list of
// HOST[:GUEST][:ro] (a Windows drive letter's colon belongs to HOST), and ""
// or "none" turns sharing off.
//
// Set checks only the form of the value; ranges are checked by Validate. An
// error is a *FieldError without Where, for the caller to fill in
// ("flag --memory").
func (l *Layer) Set(key, value string) error {
	switch key {
	case KeyDriver:
		l.Driver = &value
	case KeyISO:
		l.ISO = &value
	case KeyISOURL:
		l.ISOURL = &value
	case KeyArch:
		l.Arch = &value
	case KeyAccel:
		l.Accel = &value
	case KeyShareType:
		l.ShareType = &value
	case KeyDownAction:
		l.DownAction = &value
	case KeyVBoxManage:
		l.VBoxManage = &value
	case KeySSHHost:
		l.SSHHost = &value
	case KeySSHKey:
		l.SSHKey = &value
	case KeySSHHostKey:
		l.SSHHostKey = &value
	case KeyCPUs, KeySSHPort, KeyDockerPort:
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return &FieldError{Field: key, Problem: fmt.Sprintf("must be a whole number, got %q", value)}
		}
		l.setInt(key, n)
	case KeyMemory, KeyDiskSize:
		n, err := parseSize(value)
		if err != nil {
			return sizeError(key, fmt.Sprintf("%q", value), err)
		}
		l.setInt(key, n)
	case KeyBootTimeout:
		d, err := parseDuration(value)
		if err != nil {
			return durationError(fmt.Sprintf("%q", value), err)
		}
		l.BootTimeout = &d
	case KeyDNS:
		dns := strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		if dns == nil {
			dns = []string{}
		}
		l.DNS = &dns
	case KeyShares:
		shares, err := parseShares(value)
		if err != nil {
			return err
		}
		l.Shares = &shares
	default:
		return unknownKey(key)
	}
	return nil
}

func (l *Layer) setInt(key string, n int) {
	switch key {
	case KeyCPUs:
		l.CPUs = &n
	case KeySSHPort:
		l.SSHPort = &n
	case KeyDockerPort:
		l.DockerPort = &n
	case KeyMemory:
		l.MemoryMiB = &n
	case KeyDiskSize:
		l.DiskSizeMiB = &n
	}
}

// sizeError says what is wrong with a size; got is the value as the user
// wrote it, already quoted if it was a string.
func sizeError(key, got string, err error) *FieldError {
	problem := fmt.Sprintf("must be a size like \"2GiB\", got %s", got)
	switch {
	case errors.Is(err, errFraction):
		problem = fmt.Sprintf("must be a whole number of MiB, got %s", got)
	case errors.Is(err, errTooLarge):
		problem = fmt.Sprintf("must be at most %s, got %s", FormatSize(maxSize(key)), got)
	}
	return &FieldError{Field: key, Problem: problem}
}

func maxSize(key string) int {
	if key == KeyMemory {
		return MaxMemoryMiB
	}
	return MaxDiskSizeMiB
}

func durationError(got string, err error) *FieldError {
	if errors.Is(err, errTooLarge) {
		return &FieldError{Field: KeyBootTimeout, Problem: fmt.Sprintf("must be at most %s, got %s", formatDuration(MaxBootTimeout), got)}
	}
	return &FieldError{Field: KeyBootTimeout, Problem: fmt.Sprintf("must be a duration like \"5m\" or \"90s\", got %s", got)}
}

// parseDuration reads a Go duration ("5m", "1m30s") or whole seconds ("300").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1<<32 || n < -1<<32 {
			return 0, errTooLarge
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// formatDuration writes d as ParseDuration reads it, without the zero units
// that time.Duration.String adds: 5m, 1h, 1m30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// parseShares reads HOST[:GUEST][:ro],… as described on Set.
func parseShares(s string) ([]Share, error) {
	shares := []Share{}
	if t := strings.TrimSpace(s); t == "" || t == "none" {
		return shares, nil
	}
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		var sh Share
		if rest, ok := strings.CutSuffix(item, ":ro"); ok {
			item, sh.ReadOnly = rest, true
		} else if rest, ok := strings.CutSuffix(item, ":rw"); ok {
			item = rest
		}
		// A drive letter ("C:\Users", "c:/src") keeps its colon.
		skip := 0
		if isDrivePath(item) {
			skip = 2
		}
		if j := strings.Index(item[skip:], ":"); j >= 0 {
			sh.Host, sh.Guest = item[:skip+j], item[skip+j+1:]
		} else {
			sh.Host = item
		}
		if sh.Host == "" {
			return nil, &FieldError{Field: fmt.Sprintf("%s[%d]", KeyShares, i),
				Problem: fmt.Sprintf("must be HOST[:GUEST][:ro], like \"/Users\" or \"/src:/src:ro\", got %q", item)}
		}
		shares = append(shares, sh)
	}
	return shares, nil
}

// isDrivePath reports whether p starts with a Windows drive letter and colon.
func isDrivePath(p string) bool {
	return len(p) >= 2 && p[1] == ':' && ('a' <= p[0] && p[0] <= 'z' || 'A' <= p[0] && p[0] <= 'Z')
}

// FromEnv reads the TENDER_* variables of every key (see EnvVar) through
// lookup, usually os.LookupEnv. A variable set to the empty string counts as
// unset. Every malformed variable is reported, each error naming it.
func FromEnv(lookup func(string) (string, bool)) (Layer, error) {
	var l Layer
	var errs []error
	for _, key := range keys {
		name := EnvVar(key)
		v, ok := lookup(name)
		if !ok || v == "" {
			continue
		}
		where := "env " + name
		if err := l.Set(key, v); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				fe.Where = where
			}
			errs = append(errs, err)
			continue
		}
		l.mark(key, mark{where: where, origin: where})
	}
	return l, errors.Join(errs...)
}

// unknownKey says that key is not a setting, suggesting the nearest one.
func unknownKey(key string) error {
	return &unknownFieldError{key: key}
}

type unknownFieldError struct {
	where string
	key   string
}

func (e *unknownFieldError) Error() string {
	msg := fmt.Sprintf("unknown field `%s`", e.key)
	if s := suggest(e.key, keys); s != "" {
		msg += fmt.Sprintf(" (did you mean `%s`?)", s)
	} else {
		msg += " (the fields are " + strings.Join(keys, ", ") + ")"
	}
	if e.where != "" {
		msg = e.where + ": " + msg
	}
	return msg
}

// alias is the key meant by a name people bring from other tools.
func alias(name string) (key string, ok bool) {
	switch name {
	case "mem", "ram":
		return KeyMemory, true
	case "cpu":
		return KeyCPUs, true
	case "disk":
		return KeyDiskSize, true
	case "vboxmanage":
		return KeyVBoxManage, true
	case "timeout":
		return KeyBootTimeout, true
	case "nameservers":
		return KeyDNS, true
	case "mounts":
		return KeyShares, true
	}
	return "", false
}

// suggest returns the candidate nearest to key, or "" if none is close.
func suggest(key string, candidates []string) string {
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("-", "", "_", "", ".", "").Replace(s))
	}
	k := norm(key)
	if a, ok := alias(k); ok && contains(candidates, a) {
		return a
	}
	best, bestDist := "", 3 // at most two edits away
	for _, c := range candidates {
		d := editDistance(k, norm(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// editDistance is the Damerau–Levenshtein distance (with adjacent swaps).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
