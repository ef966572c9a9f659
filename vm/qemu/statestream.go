package qemu

// QEMU pipes a saved machine's stream through StreamFilter (tender itself,
// see package statestream), so a host needs no zstd program. The format is
// recorded in StateMetaFile, and a stream saved raw loads as before.

// Stream formats, as StateMetaFile records them.
const (
	StreamRaw  = ""
	StreamZstd = "zstd"
)
