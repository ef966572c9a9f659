package machine

import "os"

// LogCap is the size past which a machine's serial.log or hostagent.log
// is moved to NAME.1 (the one before it is dropped) when the machine boots
// or its host agent starts, so that a machine up and down for months does
// not fill the disk with logs. One run's logs are kept whole.
const LogCap = 4 << 20

// rotateLog moves path to path.1 when it is larger than max.
func rotateLog(path string, max int64) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > max {
		_ = os.Rename(path, path+".1")
	}
}
