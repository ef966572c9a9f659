package vm

// Name is what a hypervisor and docker know machine by: "tender-NAME", the
// machine name's case kept. It is the VirtualBox VM's name, the QEMU
// process's -name (State finds the process by it), and the docker context
// of a machine other than the default. Changing it, or its case, would lose
// the VMs and contexts that earlier versions made.
func Name(machine string) string { return "tender-" + machine }
