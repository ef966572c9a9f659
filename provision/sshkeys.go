package provision

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// SSHKey is an ed25519 key in the two forms OpenSSH stores it.
type SSHKey struct {
	PrivatePEM []byte // OpenSSH private key format, what sshd and ssh -i read
	Public     []byte // one authorized_keys line, newline-terminated
}

// NewSSHKey makes an ed25519 key; comment ends the public line.
func NewSSHKey(comment string) (SSHKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SSHKey{}, fmt.Errorf("generating ssh key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return SSHKey{}, fmt.Errorf("encoding ssh key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return SSHKey{}, fmt.Errorf("encoding ssh public key: %w", err)
	}
	line := ssh.MarshalAuthorizedKey(sshPub) // ends with "\n"
	if comment != "" {
		line = append(line[:len(line)-1], []byte(" "+comment+"\n")...)
	}
	return SSHKey{PrivatePEM: pem.EncodeToMemory(block), Public: line}, nil
}
