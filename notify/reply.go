package notify

import (
	"strconv"
	"strings"
	"unicode"
)

// ReplyKind is what a caregiver's SMS reply asks for.
type ReplyKind int

const (
	// ReplyUnknown is anything that is not exactly one of the replies
	// below; the caller may answer with the usage text.
	ReplyUnknown ReplyKind = iota
	// ReplyAck acknowledges an alert: "OK", optionally with the alert's
	// short code ("OK 4F7", "ok #4f7").
	ReplyAck
	// ReplyOptOut is a carrier opt-out keyword: STOP, STOPALL, UNSUBSCRIBE,
	// CANCEL, END, QUIT. Twilio blocks further messages to the number
	// itself; the caller records it so the ladder skips this contact.
	ReplyOptOut
	// ReplyOptIn is a carrier opt-in keyword: START, YES, UNSTOP.
	ReplyOptIn
	// ReplyHelp is HELP or INFO.
	ReplyHelp
	// ReplyTaken is a caregiver's word that a dose recorded as missed was
	// taken after all: "TAKEN", optionally with the missed-dose alert's
	// code ("taken 4f7"), which records the miss as disputed.
	ReplyTaken
)

func (k ReplyKind) String() string {
	switch k {
	case ReplyUnknown:
		return "unknown"
	case ReplyAck:
		return "ack"
	case ReplyOptOut:
		return "opt-out"
	case ReplyOptIn:
		return "opt-in"
	case ReplyHelp:
		return "help"
	case ReplyTaken:
		return "taken"
	}
	return "ReplyKind(" + strconv.Itoa(int(k)) + ")"
}

// Reply is a parsed SMS reply.
type Reply struct {
	Kind ReplyKind
	// Code is the alert code quoted with an acknowledgement or a TAKEN, upper-cased
	// ("4F7"); empty when none was given. It is not checked against any
	// alert: the caller looks it up.
	Code string
}

// maxReplyLen is one SMS segment. The replies we act on are a word or two,
// so a longer message is Unknown without looking at it, which also bounds
// the work an attacker can cause.
const maxReplyLen = 160

// keywords are the single-word replies. Carrier keywords follow CTIA and
// Twilio's defaults, which match the whole message, not a word inside it:
// "stop texting me at night" is not an opt-out for Twilio, and treating it
// as one here would silently drop a caregiver from the ladder.
var keywords = map[string]ReplyKind{
	"OK":          ReplyAck,
	"STOP":        ReplyOptOut,
	"STOPALL":     ReplyOptOut,
	"UNSUBSCRIBE": ReplyOptOut,
	"CANCEL":      ReplyOptOut,
	"END":         ReplyOptOut,
	"QUIT":        ReplyOptOut,
	"START":       ReplyOptIn,
	"YES":         ReplyOptIn,
	"UNSTOP":      ReplyOptIn,
	"HELP":        ReplyHelp,
	"INFO":        ReplyHelp,
	"TAKEN":       ReplyTaken,
}

// ParseReply reads an SMS reply. It ignores case, surrounding and repeated
// white space, and punctuation or symbols around words ("Ok.", "STOP!",
// "ok #4f7", "Taken 4f7."). Keywords are ASCII: a word with any other letter is not one.
func ParseReply(body string) Reply {
	if len(body) > maxReplyLen {
		return Reply{}
	}
	var words []string
	for _, w := range strings.FieldsFunc(body, isWordBreak) {
		if w = strings.TrimFunc(w, isNoise); w != "" {
			words = append(words, w)
		}
	}
	if len(words) == 0 || len(words) > 2 {
		return Reply{}
	}
	kind := keywords[asciiUpper(words[0])]
	if len(words) == 1 {
		return Reply{Kind: kind}
	}
	code := asciiUpper(words[1])
	if !takesCode(kind) || !isAlertCode(code) {
		return Reply{}
	}
	return Reply{Kind: kind, Code: code}
}

// takesCode reports whether a reply of kind may name an alert by its code.
func takesCode(kind ReplyKind) bool { return kind == ReplyAck || kind == ReplyTaken }

// isWordBreak splits words; '#' too, so "OK#4F7" reads as "OK 4F7".
func isWordBreak(r rune) bool { return unicode.IsSpace(r) || r == '#' }

// isNoise is what may surround a word: punctuation, emoji and other
// symbols, and invisible characters phones insert (zero-width space, BOM).
// Invalid UTF-8 decodes to U+FFFD, a symbol, so it is noise too.
func isNoise(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// asciiUpper upper-cases an ASCII word; it returns "" for anything else.
func asciiUpper(w string) string {
	b := []byte(w)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 0x80:
			return ""
		}
	}
	return string(b)
}

// isAlertCode reports whether w (upper-cased) has the form of the short code
// alerts carry: three or four letters or digits.
func isAlertCode(w string) bool {
	if len(w) < 3 || len(w) > 4 {
		return false
	}
	for _, c := range []byte(w) {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
