package gatt

import (
	"errors"
	"fmt"
)

// Errors a decode failure wraps; test with errors.Is.
var (
	// ErrTruncated: the payload ends before a field its flags announce.
	ErrTruncated = errors.New("truncated")
	// ErrTrailing: bytes follow the last field the flags announce.
	ErrTrailing = errors.New("trailing bytes")
	// ErrUnsupported: the characteristic is not one this package decodes.
	ErrUnsupported = errors.New("unsupported characteristic")
)

// Error is a payload that cannot be decoded. Its message names the
// characteristic and the field: "2A35: truncated: time stamp needs 7 bytes,
// 3 left". It never contains the measured values.
type Error struct {
	Char  UUID
	Field string // the field being read, or the last field read for ErrTrailing
	Err   error  // ErrTruncated, ErrTrailing or ErrUnsupported
	Msg   string // the rest of the message
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %v: %s", e.Char, e.Err, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// reader walks a payload field by field. The first failure sticks and later
// reads return zero values, so a decoder reads every announced field and
// checks r.err once, like bufio.Scanner.
type reader struct {
	char UUID
	b    []byte
	off  int
	last string // last field read, for the trailing-bytes message
	err  error
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if left := len(r.b) - r.off; left < n {
		r.err = &Error{Char: r.char, Field: field, Err: ErrTruncated,
			Msg: fmt.Sprintf("%s needs %s, %d left", field, nbytes(n), left)}
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	r.last = field
	return p
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) u8(field string) uint8 {
	p := r.take(field, 1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(field string) uint16 {
	p := r.take(field, 2)
	if p == nil {
		return 0
	}
	return uint16(p[0]) | uint16(p[1])<<8
}

func (r *reader) u24(field string) uint32 {
	p := r.take(field, 3)
	if p == nil {
		return 0
	}
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
}

func (r *reader) u32(field string) uint32 {
	p := r.take(field, 4)
	if p == nil {
		return 0
	}
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

func (r *reader) sfloat(field string) Float { return SFLOAT(r.u16(field)) }

func (r *reader) float(field string) Float { return FLOAT(r.u32(field)) }

func (r *reader) dateTime(field string) DateTime {
	p := r.take(field, 7)
	if p == nil {
		return DateTime{}
	}
	return DateTime{
		Year:  uint16(p[0]) | uint16(p[1])<<8,
		Month: p[2], Day: p[3], Hours: p[4], Minutes: p[5], Seconds: p[6],
	}
}

// finish checks that nothing follows the last announced field. When the
// flags set reserved bits, trailing bytes are taken to be the fields those
// bits announce in a later version of the specification (fields are only
// ever appended) and are skipped with a note; otherwise they are an error,
// since a payload longer than its flags say is corrupt or misread.
func (r *reader) finish(m *Measurement, reservedSet bool) error {
	if r.err != nil {
		return r.err
	}
	n := r.left()
	if n == 0 {
		return nil
	}
	if reservedSet {
		m.note("skipped %s after the known fields: announced by reserved flag bits", nbytes(n))
		return nil
	}
	return &Error{Char: r.char, Field: r.last, Err: ErrTrailing,
		Msg: fmt.Sprintf("%s after %s, the last field the flags announce", nbytes(n), r.last)}
}

func nbytes(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
