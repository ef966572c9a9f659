package qemu

// SwitchedNetwork says that a machine's NIC on a tender network is a unix
// datagram socket to the network's switch (vm.Switched).
func (d *Driver) SwitchedNetwork() bool { return true }
