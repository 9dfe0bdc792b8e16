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

// reader walks a payload field by field, the one place the decoders'
// common steps live: the flags byte that opens every health measurement,
// the fields its bits announce, enumerations and status bit fields with
// their reserved values noted on the measurement, and the check that
// nothing follows the last field. The first failure sticks and later reads
// return zero values, so a decoder reads every announced field and checks
// the error once, at done, like bufio.Scanner.
type reader struct {
	char UUID
	m    *Measurement // where notes about reserved bits and values go
	b    []byte
	off  int
	last string // last field read, for the trailing-bytes message
	err  error

	flags   uint8 // the flags byte, once read
	defined uint8 // the flag bits the specification defines
	// reserved is set when a reserved bit was found set elsewhere than in
	// the flags byte (the glucose context's extended flags).
	reserved bool
}

func newReader(m *Measurement, payload []byte) *reader {
	return &reader{char: m.Char, m: m, b: payload}
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

// readFlags reads the flags byte that opens the value; defined are the
// bits the specification assigns (the others are noted at done).
func (r *reader) readFlags(defined uint8) uint8 {
	r.flags, r.defined = r.u8("flags"), defined
	return r.flags
}

// has reports whether the flags set bit.
func (r *reader) has(bit uint8) bool { return r.flags&bit != 0 }

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

// optional reads field with read when the flags set bit, else returns nil
// and reads nothing.
func optional[T any](r *reader, bit uint8, field string, read func(string) T) *T {
	if !r.has(bit) {
		return nil
	}
	v := read(field)
	return &v
}

// code looks v up in a table of names indexed by value; what is missing or
// empty is reserved, and noted. It returns nil once a read has failed, so
// that nothing is noted about a value that was not read.
func (r *reader) code(field string, v uint8, table map[uint8]string) *Code {
	if r.err != nil {
		return nil
	}
	if n, ok := table[v]; ok {
		return &Code{Value: v, Name: n}
	}
	r.m.note("%s value %d is reserved for future use", field, v)
	return &Code{Value: v, Name: fmt.Sprintf("reserved (%d)", v)}
}

// status reads a status or annunciation bit field of width bits (16 or
// 24) when the flags set bit, names the conditions of table its set bits
// report and notes set bits that table does not name (reserved).
func (r *reader) status(bit uint8, field string, width uint, table []statusBit) *Status {
	if !r.has(bit) {
		return nil
	}
	var raw uint32
	if width == 24 {
		raw = r.u24(field)
	} else {
		raw = uint32(r.u16(field))
	}
	s := Status{Raw: raw}
	var known uint32
	for _, b := range table {
		known |= 1 << b.bit
		if raw&(1<<b.bit) != 0 {
			s.Conditions = append(s.Conditions, b.name)
		}
	}
	for bit := uint(0); bit < width; bit++ {
		if raw&^known&(1<<bit) != 0 {
			r.m.note("%s bit %d is reserved for future use; ignored", field, bit)
		}
	}
	return &s
}

// noteReserved notes the set bits of an 8-bit field that the
// specification reserves and remembers that one was set.
func (r *reader) noteReserved(field string, v, defined uint8) {
	for bit := 0; bit < 8; bit++ {
		if v&^defined&(1<<bit) != 0 {
			r.m.note("%s bit %d is reserved for future use; ignored", field, bit)
			r.reserved = true
		}
	}
}

// done ends the walk: it notes reserved flag bits and checks that nothing
// follows the last announced field. When a reserved bit is set, trailing
// bytes are taken to be the fields it announces in a later version of the
// specification (fields are only ever appended) and are skipped with a
// note; otherwise they are an error, since a payload longer than its flags
// say is corrupt or misread.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	r.noteReserved("flags", r.flags, r.defined)
	n := r.left()
	if n == 0 {
		return nil
	}
	if r.reserved {
		r.m.note("skipped %s after the known fields: announced by reserved flag bits", nbytes(n))
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

func ptrTo[T any](v T) *T { return &v }
