package gatt

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateTime is the 7-byte Date Time field (GSS "Date Time"): the device's
// local wall-clock time with no zone. Zero in Year, Month or Day means the
// device does not know it; values past a field's range are reserved and
// kept as sent so nothing is silently normalised.
type DateTime struct {
	Year    uint16 // 1582..9999, 0 = unknown
	Month   uint8  // 1..12, 0 = unknown
	Day     uint8  // 1..31, 0 = unknown
	Hours   uint8  // 0..23
	Minutes uint8  // 0..59
	Seconds uint8  // 0..59
}

// Time returns the instant the fields name in loc (the zone the device's
// clock runs in; nil means UTC). It fails when a part is unknown, reserved,
// or names a day that does not exist (30 February), because time.Date would
// quietly move such a date to another day.
func (d DateTime) Time(loc *time.Location) (time.Time, error) {
	switch {
	case d.Year == 0 || d.Month == 0 || d.Day == 0:
		return time.Time{}, fmt.Errorf("date time %s: date not known to the device", d)
	case d.Year < 1582 || d.Year > 9999 || d.Month > 12 || d.Day > 31 ||
		d.Hours > 23 || d.Minutes > 59 || d.Seconds > 59:
		return time.Time{}, fmt.Errorf("date time %s: field out of range", d)
	}
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(int(d.Year), time.Month(d.Month), int(d.Day),
		int(d.Hours), int(d.Minutes), int(d.Seconds), 0, loc)
	if t.Day() != int(d.Day) {
		return time.Time{}, fmt.Errorf("date time %s: no such day", d)
	}
	return t, nil
}

// String formats the fields as "2024-03-05T14:07:09", with "?" digits for
// unknown date parts so an unknown year is never mistaken for year 0.
func (d DateTime) String() string {
	part := func(v, width int) string {
		if v == 0 {
			return strings.Repeat("?", width)
		}
		return fmt.Sprintf("%0*d", width, v)
	}
	return part(int(d.Year), 4) + "-" + part(int(d.Month), 2) + "-" + part(int(d.Day), 2) +
		fmt.Sprintf("T%02d:%02d:%02d", d.Hours, d.Minutes, d.Seconds)
}

// MarshalJSON writes the String form: the device's local time, no zone.
func (d DateTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(d.String())), nil
}
