package speech

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// wavHeader builds a 16-bit mono header with the given data size field,
// followed by n bytes of samples.
func wavHeader(dataSize uint32, n int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 1)     // PCM
	b = binary.LittleEndian.AppendUint16(b, 1)     // mono
	b = binary.LittleEndian.AppendUint32(b, 22050) // Hz
	b = binary.LittleEndian.AppendUint32(b, 44100) // bytes a second
	b = binary.LittleEndian.AppendUint16(b, 2)     // block
	b = binary.LittleEndian.AppendUint16(b, 16)    // bits
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, dataSize)
	return append(b, make([]byte, n)...)
}

func TestParseWAV(t *testing.T) {
	w, err := ParseWAV(wavHeader(44100, 44100))
	if err != nil || w.DataOffset != 44 || w.DataLen != 44100 || w.Duration() != time.Second {
		t.Errorf("ParseWAV(1 s) = %+v, %v (%v); want data at 44, 44100 bytes, 1s", w, err, w.Duration())
	}
	// espeak-ng --stdout does not know the length: the data runs to the end.
	streamed := wavHeader(0x7ffff000, 4410)
	w, err = ParseWAV(streamed)
	if err != nil || w.DataLen != 4410 {
		t.Fatalf("ParseWAV(streamed) = %+v, %v; want 4410 bytes of data", w, err)
	}
	fixSizes(streamed, w)
	if riff, data := binary.LittleEndian.Uint32(streamed[4:]), binary.LittleEndian.Uint32(streamed[40:]); riff != 36+4410 || data != 4410 {
		t.Errorf("fixSizes: RIFF %d, data %d; want %d, 4410", riff, data, 36+4410)
	}
	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a RIFF WAVE"},
		{"not wave", []byte("RIFF\x00\x00\x00\x00AVI LIST"), "not a RIFF WAVE"},
		{"no data", wavHeader(0, 0)[:36], "no data chunk"},
		{"not PCM", func() []byte { b := wavHeader(2, 2); b[20] = 3; return b }(), "not PCM"},
		{"no channels", func() []byte { b := wavHeader(2, 2); b[22] = 0; return b }(), "bad format"},
		{"short fmt", []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00"), "short fmt"},
		{"data first", []byte("RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00"), "data before fmt"},
	}
	for _, tt := range bad {
		if _, err := ParseWAV(tt.b); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseWAV(%s) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavHeader(4, 4))
	f.Add(wavHeader(0x7ffff000, 10))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEjunk\xff\xff\xff\x7fdata"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWAV(b)
		if err != nil {
			return
		}
		if w.DataOffset < 12 || w.DataLen < 0 || w.DataOffset+w.DataLen > len(b) || w.Duration() < 0 {
			t.Errorf("ParseWAV = %+v for %d bytes: data outside the file", w, len(b))
		}
	})
}
