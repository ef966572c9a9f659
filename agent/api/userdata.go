// Userdata: the wire format that carries a machine's identity from the
// host to the guest, a tar stream written at the very start of a fresh data
// disk.
//
// The first entry is named [UserdataMagic]. On first boot the guest agent
// finds it, reads the rest of the stream, formats the whole disk ext4 with
// the label [DataLabel] and keeps the userdata on it. A disk whose first
// bytes are neither this tar nor an ext4 filesystem labelled [DataLabel] is
// never formatted.

package api

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// UserdataMagic is the name of the first tar entry of a disk that asks to be formatted.
const UserdataMagic = "tender, please format-me"

// DataLabel is the ext4 volume label of a formatted tender data disk.
const DataLabel = "tender-data"

// Names of the entries after UserdataMagic. They are also the paths under
// /var/lib/tender/userdata where the guest keeps a copy.
const (
	AuthorizedKeysFile = ".ssh/authorized_keys"
	SSHHostKeyFile     = "ssh/ssh_host_ed25519_key"
	CACertFile         = "tls/ca.pem"
	ServerCertFile     = "tls/server.pem"
	ServerKeyFile      = "tls/server-key.pem"
	HostnameFile       = "hostname"
	SharesFile         = "shares.json"
)

// ErrNoUserdata means the stream does not start with the UserdataMagic entry: the disk
// did not ask to be formatted.
var ErrNoUserdata = errors.New("no tender userdata: the first tar entry is not " + fmt.Sprintf("%q", UserdataMagic))

// Share types: how the guest mounts a share.
const (
	Share9p       = "9p"       // QEMU virtio-9p
	ShareVirtiofs = "virtiofs" // QEMU vhost-user-fs, served by virtiofsd on the host
	ShareVboxsf   = "vboxsf"   // VirtualBox shared folder
)

// Share is a host folder the guest mounts at boot.
type Share struct {
	// Type is Share9p, ShareVirtiofs or ShareVboxsf. For a QEMU share it is
	// what the host offered at init; the guest follows the host when a
	// later boot offers the other QEMU type (see package shares).
	Type string `json:"type"`
	// Tag is the 9p or virtiofs mount tag, or the VirtualBox share name.
	Tag string `json:"tag"`
	// Target is the absolute path in the guest, usually the host path itself.
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Userdata is everything the guest needs to let in only the host that made it.
type Userdata struct {
	Hostname       string
	AuthorizedKeys []byte // OpenSSH authorized_keys lines for user docker
	SSHHostKey     []byte // OpenSSH private key (ed25519) the guest's sshd serves
	CACert         []byte // PEM: the CA that signs client certs dockerd accepts
	ServerCert     []byte // PEM: dockerd's certificate
	ServerKey      []byte // PEM: dockerd's private key
	Shares         []Share
}

// Validate reports every missing part at once.
func (u Userdata) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    []byte
	}{
		{AuthorizedKeysFile, u.AuthorizedKeys},
		{SSHHostKeyFile, u.SSHHostKey},
		{CACertFile, u.CACert},
		{ServerCertFile, u.ServerCert},
		{ServerKeyFile, u.ServerKey},
	} {
		if len(f.v) == 0 {
			errs = append(errs, fmt.Errorf("userdata: %s is empty", f.name))
		}
	}
	if u.Hostname == "" {
		errs = append(errs, errors.New("userdata: hostname is empty"))
	} else if !validHostname(u.Hostname) {
		errs = append(errs, fmt.Errorf("userdata: hostname %q must be 1 to 64 letters, digits, \"-\", \"_\" or \".\"", u.Hostname))
	}
	for i, sh := range u.Shares {
		if err := sh.validate(); err != nil {
			errs = append(errs, fmt.Errorf("userdata: %s: share %d: %w", SharesFile, i, err))
		}
	}
	return errors.Join(errs...)
}

// MaxUserdataEntry is the most an entry of the stream may hold; keys and certs
// are a few KiB. A larger entry is refused, never cut short.
const MaxUserdataEntry = 1 << 20

// validHostname: the guest writes the name into /etc/hosts, so a newline or
// a space would let the disk add lines there.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validate checks a share before the guest mounts it: a known type, a tag
// that cannot carry mount options, and an absolute, clean target that is
// not the root.
func (sh Share) validate() error {
	if sh.Type != Share9p && sh.Type != ShareVirtiofs && sh.Type != ShareVboxsf {
		return fmt.Errorf("type must be %q, %q or %q, got %q", Share9p, ShareVirtiofs, ShareVboxsf, sh.Type)
	}
	if sh.Tag == "" || len(sh.Tag) > 64 || !validHostname(sh.Tag) {
		return fmt.Errorf("tag must be 1 to 64 letters, digits, \"-\", \"_\" or \".\", got %q", sh.Tag)
	}
	if !path.IsAbs(sh.Target) || path.Clean(sh.Target) != sh.Target || sh.Target == "/" || strings.ContainsAny(sh.Target, "\x00\n") {
		return fmt.Errorf("target must be a clean absolute path other than \"/\", got %q", sh.Target)
	}
	return nil
}

// WriteUserdata writes u as a tar stream whose first entry is UserdataMagic. Secrets are
// written with mode 0600.
func WriteUserdata(w io.Writer, u Userdata) error {
	if err := u.Validate(); err != nil {
		return err
	}
	shares, err := json.Marshal(u.Shares)
	if err != nil {
		return fmt.Errorf("userdata: encoding shares: %w", err)
	}
	tw := tar.NewWriter(w)
	// A fixed time keeps the stream reproducible for the same input.
	mtime := time.Unix(0, 0)
	entries := []struct {
		name string
		mode int64
		data []byte
	}{
		{UserdataMagic, 0o644, nil},
		{AuthorizedKeysFile, 0o600, u.AuthorizedKeys},
		{SSHHostKeyFile, 0o600, u.SSHHostKey},
		{CACertFile, 0o644, u.CACert},
		{ServerCertFile, 0o644, u.ServerCert},
		{ServerKeyFile, 0o600, u.ServerKey},
		{HostnameFile, 0o644, []byte(u.Hostname + "\n")},
		{SharesFile, 0o644, shares},
	}
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.data)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("userdata: writing %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("userdata: writing %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("userdata: closing tar: %w", err)
	}
	return nil
}

// HasUserdataMagic reports whether the first 512 bytes of a disk hold a tar header
// naming UserdataMagic.
func HasUserdataMagic(first512 []byte) bool {
	if len(first512) < 512 {
		return false
	}
	hdr, err := tar.NewReader(bytes.NewReader(first512[:512])).Next()
	// The reader may fail on a short body; the header is what matters.
	if hdr == nil {
		return err == nil
	}
	return hdr.Name == UserdataMagic
}

func knownUserdataEntry(name string) bool {
	switch name {
	case AuthorizedKeysFile, SSHHostKeyFile, CACertFile, ServerCertFile, ServerKeyFile, HostnameFile, SharesFile:
		return true
	}
	return false
}

// ReadUserdata parses a stream written by WriteUserdata. It returns
// ErrNoUserdata when the first entry is not UserdataMagic. Unknown entries
// are ignored so that newer hosts can add entries for newer guests.
func ReadUserdata(r io.Reader) (Userdata, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != UserdataMagic {
		return Userdata{}, ErrNoUserdata
	}
	var u Userdata
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Userdata{}, fmt.Errorf("userdata: reading tar: %w", err)
		}
		name := path.Clean(hdr.Name)
		if !knownUserdataEntry(name) {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			return Userdata{}, fmt.Errorf("userdata: %s must be a regular file, not type %q", name, hdr.Typeflag)
		}
		if hdr.Size > MaxUserdataEntry {
			return Userdata{}, fmt.Errorf("userdata: %s holds %d bytes, more than the %d an entry may", name, hdr.Size, MaxUserdataEntry)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return Userdata{}, fmt.Errorf("userdata: reading %s: %w", hdr.Name, err)
		}
		switch name {
		case AuthorizedKeysFile:
			u.AuthorizedKeys = data
		case SSHHostKeyFile:
			u.SSHHostKey = data
		case CACertFile:
			u.CACert = data
		case ServerCertFile:
			u.ServerCert = data
		case ServerKeyFile:
			u.ServerKey = data
		case HostnameFile:
			u.Hostname = string(bytes.TrimSpace(data))
		case SharesFile:
			if len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, &u.Shares); err != nil {
					return Userdata{}, fmt.Errorf("userdata: %s: %w", SharesFile, err)
				}
			}
		}
	}
	if err := u.Validate(); err != nil {
		return Userdata{}, err // nothing of a refused stream is used
	}
	return u, nil
}
