// Package shellquote writes words for a POSIX shell (sh, bash, zsh, the
// guest's busybox ash): the one place tender single-quotes for one (tcsh's
// form, in shellinit, differs). It imports only the standard library, so
// shellinit stays pure and the guest agent may use it too.
package shellquote

import "strings"

// Quote single-quotes s: inside '…' every byte is literal, and a single
// quote is written as a close, an escaped quote and a reopen:
//
//	it's  ->  'it'\''s'
//
// The result is exactly one word holding s in any position, including an
// empty s, a newline, or a word the shell would otherwise read as an
// assignment or a reserved word.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join renders argv as a command line for people to read (tender --verbose)
// and paste: a word made only of letters, digits and - _ . / : = , stays
// bare, any other word is Quoted. Pasted, each word comes back as it was,
// except that a bare first word with "=" reads as an assignment; where the
// line is run rather than read, Quote every word.
func Join(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if bare(a) {
			out[i] = a
			continue
		}
		out[i] = Quote(a)
	}
	return strings.Join(out, " ")
}

func bare(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '=' || r == ',' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0
}
