package ble

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Record Access Control Point (Glucose Profile 1.0, section 3.2.3 of the
// Glucose Service): the collector writes a request and the meter answers
// with the records as Glucose Measurement (and Context) notifications,
// then with a response code indicated on the RACP itself.
const (
	racpReportRecords  = 0x01
	racpNumberResponse = 0x05
	racpResponseCode   = 0x06

	racpOpNull        = 0x00
	racpOpAll         = 0x01
	racpOpGreaterOrEq = 0x03
	racpOpLast        = 0x06

	racpFilterSequence = 0x01

	racpSuccess        = 0x01
	racpNoRecordsFound = 0x06
)

var racpCodes = map[byte]string{
	0x01: "success", 0x02: "op code not supported", 0x03: "invalid operator",
	0x04: "operator not supported", 0x05: "invalid operand", 0x06: "no records found",
	0x07: "abort unsuccessful", 0x08: "procedure not completed", 0x09: "operand not supported",
}

// racpReportAll asks for every stored record.
func racpReportAll() []byte { return []byte{racpReportRecords, racpOpAll} }

// racpReportLast asks for the newest record only.
func racpReportLast() []byte { return []byte{racpReportRecords, racpOpLast} }

// racpReportFrom asks for the records with a sequence number >= seq.
func racpReportFrom(seq uint16) []byte {
	return binary.LittleEndian.AppendUint16([]byte{racpReportRecords, racpOpGreaterOrEq, racpFilterSequence}, seq)
}

// racpResponse is a meter's answer on the RACP.
type racpResponse struct {
	Request byte // the op code answered
	Code    byte // racpSuccess, racpNoRecordsFound, ...
}

func (r racpResponse) String() string {
	name, ok := racpCodes[r.Code]
	if !ok {
		name = "reserved"
	}
	return fmt.Sprintf("RACP op %d: %s (%d)", r.Request, name, r.Code)
}

// parseRACP reads a response code indication. Number-of-records responses
// are not asked for and are an error.
func parseRACP(b []byte) (racpResponse, error) {
	switch {
	case len(b) == 0:
		return racpResponse{}, errors.New("ble: RACP: empty indication")
	case b[0] == racpNumberResponse:
		return racpResponse{}, errors.New("ble: RACP: unexpected number-of-records response")
	case b[0] != racpResponseCode:
		return racpResponse{}, fmt.Errorf("ble: RACP: op code %d is not a response", b[0])
	case len(b) != 4:
		return racpResponse{}, fmt.Errorf("ble: RACP: response of %d bytes, want 4", len(b))
	case b[1] != racpOpNull:
		return racpResponse{}, fmt.Errorf("ble: RACP: response operator %d, want 0 (null)", b[1])
	}
	return racpResponse{Request: b[2], Code: b[3]}, nil
}

// recordTransfer decides which RACP requests read the records a meter
// stored since the last one the daemon has. With a last record it asks for
// the ones after it; if there are none, it asks for the newest one to
// notice a meter whose numbering started again (a reset or a replaced
// meter with the same address) and then reads them all. Repeats of stored
// records are harmless: the store drops them.
type recordTransfer struct {
	last    uint16
	hasLast bool
	state   int
	newest  int // sequence number of the newest record, from racpReportLast; -1 unknown
}

const (
	xferStart = iota
	xferFrom
	xferLast
	xferAll
	xferDone
)

func newRecordTransfer(last uint16, ok bool) *recordTransfer {
	return &recordTransfer{last: last, hasLast: ok, newest: -1}
}

// first returns the first request.
func (x *recordTransfer) first() []byte {
	if !x.hasLast {
		x.state = xferAll
		return racpReportAll()
	}
	if x.last == 0xFFFF { // nothing can come after it; look for a reset
		x.state = xferLast
		return racpReportLast()
	}
	x.state = xferFrom
	return racpReportFrom(x.last + 1)
}

// record notes a glucose record's sequence number as it arrives.
func (x *recordTransfer) record(seq uint16) {
	if x.state == xferLast {
		x.newest = int(seq)
	}
}

// done handles the response that ends a request and returns the next
// request, or nil when the transfer is over.
func (x *recordTransfer) done(r racpResponse) ([]byte, error) {
	if r.Code != racpSuccess && r.Code != racpNoRecordsFound {
		x.state = xferDone
		return nil, fmt.Errorf("ble: record transfer: %s", r)
	}
	switch x.state {
	case xferFrom:
		if r.Code == racpNoRecordsFound {
			x.state = xferLast
			return racpReportLast(), nil
		}
	case xferLast:
		if x.newest >= 0 && uint16(x.newest) < x.last {
			x.state = xferAll
			return racpReportAll(), nil
		}
	}
	x.state = xferDone
	return nil, nil
}
