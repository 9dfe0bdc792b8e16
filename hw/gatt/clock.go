package gatt

import "time"

// The characteristics a device's clock is read and set through: the
// Current Time Service's Current Time (0x2A2B), or a Date Time (0x2A08)
// that some blood pressure monitors and scales carry in their own service.
const (
	DateTimeChar = 0x2A08
	CurrentTime  = 0x2A2B
)

// Current Time adjust reasons (CTS 1.1, section 3.1): why the clock last
// changed. A write by the dispenser says "external reference time update":
// its own clock is set from NTP or a real-time clock it trusts.
const (
	adjustManual    = 1 << 0
	adjustExternal  = 1 << 1
	adjustZone      = 1 << 2
	adjustDST       = 1 << 3
	adjustDefined   = adjustManual | adjustExternal | adjustZone | adjustDST
	currentTimeSize = 10
)

var daysOfWeek = map[uint8]string{
	0: "unknown", 1: "Monday", 2: "Tuesday", 3: "Wednesday", 4: "Thursday", 5: "Friday", 6: "Saturday", 7: "Sunday",
}

// Clock is the value of a device's clock characteristic: a Current Time
// (0x2A2B: Exact Time 256 and an adjust reason) or a Date Time (0x2A08).
// The time is the device's local wall-clock time with no zone, like the
// time stamps of its measurements.
type Clock struct {
	Time DateTime `json:"time"`
	// DayOfWeek, Fractions256 (1/256 s) and AdjustReason are Current
	// Time's; nil for a Date Time.
	DayOfWeek    *Code  `json:"day_of_week,omitempty"`
	Fractions256 *uint8 `json:"fractions256,omitempty"`
	AdjustReason *uint8 `json:"adjust_reason,omitempty"`
}

func decodeCurrentTime(r *reader, m *Measurement) error {
	c := &Clock{Time: r.dateTime("date time")}
	c.DayOfWeek = r.code("day of week", r.u8("day of week"), daysOfWeek)
	c.Fractions256 = ptrTo(r.u8("fractions256"))
	reason := r.u8("adjust reason")
	c.AdjustReason = &reason
	r.noteReserved("adjust reason", reason, adjustDefined)
	if err := r.done(); err != nil {
		return err
	}
	m.Clock = c
	return nil
}

func decodeDateTime(r *reader, m *Measurement) error {
	c := &Clock{Time: r.dateTime("date time")}
	if err := r.done(); err != nil {
		return err
	}
	m.Clock = c
	return nil
}

// At returns the instant the clock showed, in loc (the zone the device's
// clock runs in; nil means UTC), with its fractions of a second.
func (c *Clock) At(loc *time.Location) (time.Time, error) {
	t, err := c.Time.Time(loc)
	if err != nil {
		return time.Time{}, err
	}
	if c.Fractions256 != nil {
		t = t.Add(time.Duration(*c.Fractions256) * time.Second / 256)
	}
	return t, nil
}

// dateTimeOf is t's wall-clock time as a Date Time field.
func dateTimeOf(t time.Time) []byte {
	y := t.Year()
	return []byte{byte(y), byte(y >> 8), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second())}
}

// CurrentTimeValue is the Current Time value that sets a device's clock
// to t, read in t's location (the zone the device's clock runs in), with
// the adjust reason "external reference time update".
func CurrentTimeValue(t time.Time) []byte {
	dow := byte(t.Weekday()) // Sunday 0 in Go, 7 in CTS
	if dow == 0 {
		dow = 7
	}
	frac := byte(t.Nanosecond() * 256 / int(time.Second))
	return append(dateTimeOf(t), dow, frac, adjustExternal)
}

// DateTimeValue is the Date Time value that sets a device's clock to t,
// read in t's location.
func DateTimeValue(t time.Time) []byte { return dateTimeOf(t) }

// ClockValue is the value that sets the clock characteristic char
// (CurrentTime or DateTimeChar) to t; nil for any other characteristic.
func ClockValue(char uint16, t time.Time) []byte {
	switch char {
	case CurrentTime:
		return CurrentTimeValue(t)
	case DateTimeChar:
		return DateTimeValue(t)
	}
	return nil
}
