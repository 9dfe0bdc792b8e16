package segment

import (
	"strings"
	"testing"
	"unicode/utf16"
)

func TestCount(t *testing.T) {
	a, acute := strings.Repeat, "á" // á is not in GSM-7
	const emoji = "💊"               // U+1F48A: a surrogate pair
	tests := []struct {
		name     string
		body     string
		enc      Encoding
		units    int
		segments int
	}{
		{"empty", "", GSM7, 0, 0},
		{"one character", "a", GSM7, 1, 1},
		{"exactly 160", a("a", 160), GSM7, 160, 1},
		{"161", a("a", 161), GSM7, 161, 2},
		{"two full segments", a("a", 306), GSM7, 306, 2},
		{"307", a("a", 307), GSM7, 307, 3},
		{"extension counts double", "€", GSM7, 2, 1},
		{"158 and an extension: 160", a("a", 158) + "€", GSM7, 160, 1},
		{"159 and an extension: 161", a("a", 159) + "€", GSM7, 161, 2},
		// 152 + 2 would end segment 1 on the escape: the pair moves on, so
		// 306 septets take three segments, not two.
		{"extension at the 153 boundary", a("a", 152) + "€" + a("a", 152), GSM7, 306, 3},
		{"extension just before the boundary", a("a", 151) + "€" + a("a", 153), GSM7, 306, 2},
		{"every extension character", "\f^{}\\[~]|€", GSM7, 20, 1},
		{"GSM-7 accents", "àÄäÇÉéèìÑñòÖöØøùÜüß¿¡", GSM7, 21, 1},
		{"CR LF", "a\r\nb", GSM7, 4, 1},
		{"small c cedilla is not GSM-7", "ç", UCS2, 1, 1},
		{"exactly 70", a(acute, 70), UCS2, 70, 1},
		{"71", a(acute, 71), UCS2, 71, 2},
		{"two full UCS-2 segments", a(acute, 134), UCS2, 134, 2},
		{"one accent makes the text UCS-2", a("a", 100) + acute, UCS2, 101, 2},
		{"emoji is two units", emoji, UCS2, 2, 1},
		{"emoji ending at 70", a(acute, 68) + emoji, UCS2, 70, 1},
		{"emoji past 70", a(acute, 69) + emoji, UCS2, 71, 2},
		// An emoji at units 67-68 would straddle two segments: it moves on.
		{"emoji at the 67 boundary", a(acute, 66) + emoji + a(acute, 66), UCS2, 134, 3},
		{"emoji before the boundary", a(acute, 65) + emoji + a(acute, 67), UCS2, 134, 2},
		{"invalid UTF-8 is sent as U+FFFD", "a\xffb", UCS2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Count(tt.body)
			if want := (Info{tt.enc, tt.units, tt.segments}); got != want {
				t.Errorf("Count(%d runes) = %+v, want %+v", len([]rune(tt.body)), got, want)
			}
			if n := len(Split(tt.body)); n != tt.segments {
				t.Errorf("Split gives %d segments, want %d", n, tt.segments)
			}
		})
	}
}

func TestNonGSM(t *testing.T) {
	if got := string(NonGSM("Ça coûte 5 € à Jérôme, ça")); got != "ûôç" {
		t.Errorf("NonGSM = %q, want ûôç (Ç, €, à and é are GSM-7; ç is not)", got)
	}
	if got := NonGSM("plain"); got != nil {
		t.Errorf("NonGSM(plain) = %q, want none", got)
	}
}

// units counts a segment's septets or code units independently of Count:
// GSM-7 from the tables, UCS-2 by encoding to UTF-16.
func units(s string, e Encoding) int {
	if e == UCS2 {
		return len(utf16.Encode([]rune(s)))
	}
	n := 0
	for _, r := range s {
		if strings.ContainsRune(gsmExtension, r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{"", "a", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("á", 66) + "💊" + strings.Repeat("á", 66), "Pillbox URGENT: Margaret missed the 8:00 AM dose."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info := Count(s)
		parts := Split(s)
		if strings.Join(parts, "") != s || len(parts) != info.Segments {
			t.Fatalf("Split(%q) = %d parts joining to another text, Count says %d", s, len(parts), info.Segments)
		}
		gsm := true
		for _, r := range s {
			gsm = gsm && strings.ContainsRune(gsmBasic+gsmExtension, r) && r != 0x1b
		}
		if (info.Encoding == GSM7) != gsm {
			t.Fatalf("Count(%q) encoding %v, want GSM-7: %v", s, info.Encoding, gsm)
		}
		if u := units(s, info.Encoding); u != info.Units {
			t.Fatalf("Count(%q) units %d, want %d", s, info.Units, u)
		}
		single, multi := GSM7Single, GSM7Multi
		if info.Encoding == UCS2 {
			single, multi = UCS2Single, UCS2Multi
		}
		switch {
		case s == "":
			return
		case info.Units <= single && info.Segments != 1:
			t.Fatalf("Count(%q) = %+v: fits one segment", s, info)
		case info.Units > single:
			for _, p := range parts {
				if units(p, info.Encoding) > multi {
					t.Fatalf("segment %q of %q holds %d units, more than %d", p, s, units(p, info.Encoding), multi)
				}
			}
			// Greedy filling leaves at most one unit free per segment.
			if lo := (info.Units + multi - 1) / multi; info.Segments < lo || info.Segments > (info.Units+multi-2)/(multi-1) {
				t.Fatalf("Count(%q) = %+v: segments out of range", s, info)
			}
		}
		if more := Count(s + "a"); more.Segments < info.Segments {
			t.Fatalf("Count(%q + a) = %d segments, fewer than %d", s, more.Segments, info.Segments)
		}
	})
}
