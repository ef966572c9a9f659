package machine

// File and directory names under TENDER_HOME and a machine directory. They are
// part of tender's on-disk contract: users and scripts may rely on them
// (DOCKER_CERT_PATH, `ssh -F ssh_config`), so change them only with care.
const (
	ConfigFile       = "config.yaml" // TENDER_HOME/config.yaml: defaults for new machines
	CacheDir         = "cache"       // TENDER_HOME/cache: ISOs
	CADir            = "certs"       // TENDER_HOME/certs: the CA, shared by every machine
	CACertFile       = "ca.pem"
	CAKeyFile        = "ca-key.pem"
	MachinesDir      = "machines"
	LocksDir         = "locks" // TENDER_HOME/locks/NAME.lock, outside the machine dir so init and delete can hold it
	MachineFile      = "machine.yaml"
	StateFile        = "state.json"
	ClientCerts      = "certs" // machine dir/certs = DOCKER_CERT_PATH: ca.pem cert.pem key.pem
	ClientCert       = "cert.pem"
	ClientKey        = "key.pem"
	ServerCert       = "server.pem"
	ServerKey        = "server-key.pem"
	SSHKey           = "id_ed25519"
	SSHPubKey        = "id_ed25519.pub"
	GuestHostKey     = "ssh_host_ed25519_key.pub" // the guest's host key, pinned
	GuestHostPrivKey = "ssh_host_ed25519_key"     // kept to rebuild the userdata
	KnownHosts       = "known_hosts"
	SSHConfig        = "ssh_config"
	DiskFile         = "disk.raw"
	SerialLog        = "serial.log"
	HostAgentLog     = "hostagent.log"
	HostAgentPID     = "hostagent.pid"
	PortsFile        = "ports.json"  // the host agent's forwards, for `tender ports`
	DockerSocket     = "docker.sock" // the host agent's unix socket to the guest's Docker
	NetworkFile      = "network"     // the name of the network the machine is on; its lease is in TENDER_HOME/networks/NAME
	NetSocket        = "net.sock"    // the hypervisor's end of the machine's NIC on its network (QEMU)
	SwarmFile        = "swarm.json"  // the machine's place in a swarm that tender joined it to
)
