// Package segment counts the SMS segments a text costs, as carriers and
// Twilio bill them (3GPP TS 23.038 for the alphabets, 3GPP TS 23.040 for
// concatenation, Twilio's published segment rules):
//
//   - A text whose every character is in the GSM-7 default alphabet or its
//     extension table is sent in GSM-7: 160 septets in one segment, 153 a
//     segment when split (the user data header takes the rest). The
//     extension characters (^ { } \ [ ~ ] | € and form feed) are an escape
//     and a character: 2 septets, never split across two segments.
//   - Any other character (á, ç, ê, an emoji) makes the whole text UCS-2:
//     70 UTF-16 code units in one segment, 67 a segment when split. A
//     character outside the Basic Multilingual Plane (most emoji) takes two
//     code units, a surrogate pair, never split across two segments.
//
// The count is for the text as sent. Twilio's Smart Encoding, when a
// messaging service turns it on, swaps some Unicode signs (curly quotes,
// long dashes) for GSM-7 ones before sending: it can only lower the count.
//
// It is a package of its own, not part of notify, so that the Twilio
// stand-in (notify/twiliotest) can count with it too: notify's tests
// import the stand-in.
package segment

import "unicode/utf8"

// Encoding is how a text is sent.
type Encoding int

const (
	GSM7 Encoding = iota
	UCS2
)

func (e Encoding) String() string {
	if e == UCS2 {
		return "UCS-2"
	}
	return "GSM-7"
}

// Limits of one segment.
const (
	GSM7Single = 160 // septets in a text of one segment
	GSM7Multi  = 153 // septets in each segment of a longer text
	UCS2Single = 70  // UTF-16 code units in a text of one segment
	UCS2Multi  = 67  // code units in each segment of a longer text
)

// Info is what a text costs.
type Info struct {
	Encoding Encoding
	Units    int // septets (GSM-7) or UTF-16 code units (UCS-2)
	Segments int // 0 for an empty text
}

// gsmBasic is the GSM-7 default alphabet (TS 23.038 6.2.1) in code order;
// 0x1B is the escape to the extension table, not a character.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the extension table (TS 23.038 6.2.1.1).
const gsmExtension = "\f^{}\\[~]|€"

var septets = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		if r != 0x1b {
			m[r] = 1
		}
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// IsGSM reports whether r can be sent in GSM-7.
func IsGSM(r rune) bool { return septets[r] > 0 }

// NonGSM lists the characters of s that make it UCS-2, each once, in the
// order they appear.
func NonGSM(s string) []rune {
	var out []rune
	seen := map[rune]bool{}
	for _, r := range s {
		if !IsGSM(r) && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// Count returns the encoding, size and segments of body.
func Count(body string) Info {
	info := Info{Encoding: GSM7}
	for _, r := range body {
		if !IsGSM(r) {
			info.Encoding = UCS2
			break
		}
	}
	single, multi := GSM7Single, GSM7Multi
	if info.Encoding == UCS2 {
		single, multi = UCS2Single, UCS2Multi
	}
	cur := 0
	for _, r := range body {
		n := cost(r, info.Encoding)
		info.Units += n
		if cur+n > multi {
			info.Segments++
			cur = 0
		}
		cur += n
	}
	switch {
	case info.Units == 0:
	case info.Units <= single:
		info.Segments = 1
	default:
		info.Segments++ // the last, partly filled segment
	}
	return info
}

// Split returns the texts of body's segments, in order; nil for an empty
// body. Their concatenation is body.
func Split(body string) []string {
	info := Count(body)
	if info.Segments <= 1 {
		if body == "" {
			return nil
		}
		return []string{body}
	}
	multi := GSM7Multi
	if info.Encoding == UCS2 {
		multi = UCS2Multi
	}
	var out []string
	start, cur := 0, 0
	for i, r := range body {
		n := cost(r, info.Encoding)
		if cur+n > multi {
			out, start, cur = append(out, body[start:i]), i, 0
		}
		cur += n
	}
	return append(out, body[start:])
}

// cost is the septets or code units r takes in encoding e.
func cost(r rune, e Encoding) int {
	if e == GSM7 {
		return septets[r]
	}
	if r > 0xFFFF && r <= utf8.MaxRune {
		return 2 // a surrogate pair
	}
	return 1
}
