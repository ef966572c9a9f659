// Package userdata is the wire format that carries a machine's identity from
// the host to the guest: a tar stream written at the very start of a fresh
// data disk.
//
// The first entry is named [Magic]. On first boot the guest agent finds it,
// reads the rest of the stream, formats the whole disk ext4 with the label
// [Label] and keeps the userdata on it. A disk whose first bytes are neither
// this tar nor an ext4 filesystem labelled [Label] is never formatted.
//
// This package is imported by the host (which writes it) and by the guest
// agent (which reads it), so it must stay free of host-only imports.
package userdata

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"time"
)

// Magic is the name of the first tar entry of a disk that asks to be formatted.
const Magic = "tender, please format-me"

// Label is the ext4 volume label of a formatted tender data disk.
const Label = "tender-data"

// Names of the entries after Magic. They are also the paths under
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

// ErrNoMagic means the stream does not start with the Magic entry: the disk
// did not ask to be formatted.
var ErrNoMagic = errors.New("no tender userdata: the first tar entry is not " + fmt.Sprintf("%q", Magic))

// Share is a host folder the guest mounts at boot.
type Share struct {
	// Type is "9p" (QEMU virtio-9p) or "vboxsf" (VirtualBox shared folder).
	Type string `json:"type"`
	// Tag is the 9p mount tag or the VirtualBox share name.
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
	}
	return errors.Join(errs...)
}

// Write writes u as a tar stream whose first entry is Magic. Secrets are
// written with mode 0600.
func Write(w io.Writer, u Userdata) error {
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
		{Magic, 0o644, nil},
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

// HasMagic reports whether the first 512 bytes of a disk hold a tar header
// naming Magic.
func HasMagic(first512 []byte) bool {
	if len(first512) < 512 {
		return false
	}
	hdr, err := tar.NewReader(bytes.NewReader(first512[:512])).Next()
	// The reader may fail on a short body; the header is what matters.
	if hdr == nil {
		return err == nil
	}
	return hdr.Name == Magic
}

// Read parses a stream written by Write. It returns ErrNoMagic when the first
// entry is not Magic. Unknown entries are ignored so that newer hosts can add
// entries for newer guests.
func Read(r io.Reader) (Userdata, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != Magic {
		return Userdata{}, ErrNoMagic
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
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return Userdata{}, fmt.Errorf("userdata: reading %s: %w", hdr.Name, err)
		}
		switch path.Clean(hdr.Name) {
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
	return u, u.Validate()
}
