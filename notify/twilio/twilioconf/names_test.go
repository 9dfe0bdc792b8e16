package twilioconf

import (
	"regexp"
	"testing"
)

// The hand-written checks accept exactly what the regexps they replaced
// accepted; the regexps stay here as the reference.
var (
	hostNameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	sidRE      = map[string]*regexp.Regexp{"AC": regexp.MustCompile(`^AC[0-9a-f]{32}$`), "MG": regexp.MustCompile(`^MG[0-9a-f]{32}$`)}
)

var nameSeeds = []string{
	"", ".", "a", "-", "a-", "-a", "a-b", "pillbox.local", "pillbox.local.", ".local", "a..b", "bad_host",
	"xn--bcher-kva.example", "ÄB.example", "0.0.0.0", "a1234567890123456789012345678901234567890123456789012345678901b",
	"a12345678901234567890123456789012345678901234567890123456789012b", "AC0123456789abcdef0123456789abcdef",
	"AC0123456789ABCDEF0123456789ABCDEF", "MG0123456789abcdef0123456789abcdef", "AC0123456789abcdef0123456789abcde",
	"AC0123456789abcdef0123456789abcdef0", "AC0123456789abcdef0123456789abcdeg", "MG0123456789abcdef0123456789abcdef\n",
}

func TestNamesMatchTheRegexps(t *testing.T) {
	for _, s := range nameSeeds {
		checkNames(t, s)
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(checkNames)
}

func checkNames(t *testing.T, s string) {
	if got, want := isHostName(s), hostNameRE.MatchString(s); got != want {
		t.Errorf("isHostName(%q) = %v, want %v", s, got, want)
	}
	for prefix, re := range sidRE {
		if got, want := isSID(s, prefix), re.MatchString(s); got != want {
			t.Errorf("isSID(%q, %q) = %v, want %v", s, prefix, got, want)
		}
	}
}
