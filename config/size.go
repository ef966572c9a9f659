package config

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Why a size did not parse; fieldSize turns these into field messages.
var (
	errNotSize  = errors.New("not a size")
	errFraction = errors.New("not a whole number of MiB")
	errTooLarge = errors.New("too large")
)

// maxParsedMiB bounds what parseSize returns, far above any limit, so
// arithmetic on the result cannot overflow.
const maxParsedMiB = 1 << 50

// unitMiB is the size in MiB of a lower-cased unit, as a fraction. Every
// unit is binary, as in boot2docker and Docker: "2G", "2GB" and "2GiB" are all
// 2048 MiB. A bare number is MiB, as in boot2docker's `-m 2048`. (A switch,
// not a map: see isWindowsDevice.)
func unitMiB(unit string) (*big.Rat, bool) {
	switch unit {
	case "":
		return big.NewRat(1, 1), true
	case "k", "kb", "kib":
		return big.NewRat(1, 1024), true
	case "m", "mb", "mib":
		return big.NewRat(1, 1), true
	case "g", "gb", "gib":
		return big.NewRat(1024, 1), true
	case "t", "tb", "tib":
		return big.NewRat(1024*1024, 1), true
	}
	return nil, false
}

// ParseSize parses a size for the memory and disksize settings and returns it
// in MiB. It accepts a whole number of MiB ("2048", as boot2docker's -m) or a
// number with a binary unit, in any case, with or without a space: "2GiB",
// "2G", "2GB", "1536MiB", "512M", "1.5G", "1TiB". The result must be a whole
// number of MiB and not negative. Whether it is in range is for Validate.
func ParseSize(s string) (mib int, err error) {
	mib, err = parseSize(s)
	switch {
	case errors.Is(err, errNotSize):
		return 0, fmt.Errorf("invalid size %q (use a number of MiB or a size like \"2GiB\")", s)
	case errors.Is(err, errFraction):
		return 0, fmt.Errorf("invalid size %q (it must be a whole number of MiB)", s)
	case errors.Is(err, errTooLarge):
		return 0, fmt.Errorf("invalid size %q (it is too large)", s)
	case mib < 0:
		return 0, fmt.Errorf("invalid size %q (it must not be negative)", s)
	}
	return mib, nil
}

// parseSize is ParseSize allowing negative sizes, so that Validate can say
// what the minimum is.
func parseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	// Split the number from the unit.
	i := 0
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		i++
	}
	digits := 0
	for i < len(t) && ('0' <= t[i] && t[i] <= '9' || t[i] == '.') {
		if t[i] != '.' {
			digits++
		}
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if digits == 0 || strings.Count(num, ".") > 1 {
		return 0, errNotSize
	}
	mul, ok := unitMiB(unit)
	if !ok {
		return 0, errNotSize
	}
	if len(num) > 40 {
		return 0, errTooLarge
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errNotSize
	}
	r.Mul(r, mul)
	if !r.IsInt() {
		return 0, errFraction
	}
	n := r.Num()
	if n.CmpAbs(big.NewInt(maxParsedMiB)) > 0 {
		return 0, errTooLarge
	}
	return int(n.Int64()), nil
}

// FormatSize writes a size in MiB the way ParseSize reads it, in the largest
// binary unit that divides it: 2048 → "2GiB", 1536 → "1536MiB".
func FormatSize(mib int) string {
	switch {
	case mib != 0 && mib%(1024*1024) == 0:
		return strconv.Itoa(mib/(1024*1024)) + "TiB"
	case mib != 0 && mib%1024 == 0:
		return strconv.Itoa(mib/1024) + "GiB"
	}
	return strconv.Itoa(mib) + "MiB"
}
