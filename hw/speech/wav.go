package speech

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// WAV is the layout of a PCM WAV file's audio, as its header gives it.
type WAV struct {
	Channels      int
	SampleRate    int // samples a second
	BitsPerSample int
	DataOffset    int // where the samples start
	DataLen       int // bytes of samples
}

// Duration is how long the samples play.
func (w WAV) Duration() time.Duration {
	frame := w.Channels * w.BitsPerSample / 8
	if frame == 0 || w.SampleRate == 0 {
		return 0
	}
	return time.Duration(w.DataLen/frame) * time.Second / time.Duration(w.SampleRate)
}

// ParseWAV reads the header of a RIFF WAVE file of PCM samples. A data
// chunk longer than the file (espeak-ng --stdout writes 0x7ffff000, not
// knowing the length when it starts) is taken to run to the end.
func ParseWAV(b []byte) (WAV, error) {
	var w WAV
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, errors.New("wav: not a RIFF WAVE file")
	}
	haveFmt := false
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return w, errors.New("wav: short fmt chunk")
			}
			if f := binary.LittleEndian.Uint16(b[body:]); f != 1 {
				return w, fmt.Errorf("wav: format %d is not PCM", f)
			}
			w.Channels = int(binary.LittleEndian.Uint16(b[body+2:]))
			w.SampleRate = int(binary.LittleEndian.Uint32(b[body+4:]))
			w.BitsPerSample = int(binary.LittleEndian.Uint16(b[body+14:]))
			if w.Channels == 0 || w.SampleRate == 0 || w.BitsPerSample%8 != 0 || w.BitsPerSample == 0 {
				return w, fmt.Errorf("wav: bad format: %d channels, %d Hz, %d bits", w.Channels, w.SampleRate, w.BitsPerSample)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return w, errors.New("wav: data before fmt")
			}
			w.DataOffset, w.DataLen = body, min(size, len(b)-body)
			return w, nil
		}
		if size > len(b)-body {
			break
		}
		off = body + size + size%2 // chunks are padded to an even length
	}
	return w, errors.New("wav: no data chunk")
}

// fixSizes writes the true RIFF and data sizes into a WAV whose data
// chunk runs to the end of b, so that a browser can play it too.
func fixSizes(b []byte, w WAV) {
	w.DataLen = len(b) - w.DataOffset
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	binary.LittleEndian.PutUint32(b[w.DataOffset-4:], uint32(w.DataLen))
}
