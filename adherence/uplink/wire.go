package uplink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
)

// Version is the batch format this package writes and reads. A server
// answers a batch of another version with 400.
const Version = 1

// Limits of one batch. The server rejects a batch over them (413 for
// bytes, 400 for counts); the Pusher stays well under them.
const (
	MaxBatchBytes = 2 << 20
	MaxEvents     = 1000
	MaxReadings   = 1000
)

// Path is where the server takes batches, below its base URL.
const Path = "/api/v1/sync"

// Batch is one push from a device.
type Batch struct {
	Version int `json:"version"`
	// Device is the clinic's id of the dispenser (pillctl printed it when
	// the device was registered); the server checks that the token is this
	// device's.
	Device string `json:"device"`
	// Log is the id of the device's event log (adherence.Store.DeviceID).
	// A device whose database was recreated starts a new log at seq 1.
	Log       string    `json:"log"`
	Heartbeat Heartbeat `json:"heartbeat"`
	Events    []Event   `json:"events"`
	Readings  []Reading `json:"readings"`
	// SetAside are the items DecodeBatch took out of the batch because
	// they are malformed: the rest of the batch is stored without them.
	// They never travel (a device never sends a malformed item on
	// purpose).
	SetAside []SetAside `json:"-"`
}

// SetAside is one part of a batch the server cannot store as sent (an
// event or reading with a field out of its limits, a profile that does not
// read). The server keeps it apart with the reason, takes the rest of the
// batch, and counts an item that has a usable sequence number as received,
// so that the device moves past it instead of sending it for ever.
type SetAside struct {
	What  string // "event", "reading" or "profile"
	Index int    // its position in the batch's list
	// Seq is its sequence number when it holds a place in the log (a
	// number after the previous item's); 0 when it has none.
	Seq    int64
	ID     string // its id, when the id itself is well formed
	Reason string // what is wrong, as in "seq: 2 after 2"; never its content
	Raw    []byte // the item as sent, cut to MaxSetAsideBytes
}

// MaxSetAsideBytes is how much of a set-aside item the server keeps.
const MaxSetAsideBytes = 4096

// Heartbeat says the device is alive and how far its log goes.
type Heartbeat struct {
	Time          time.Time `json:"time"` // the device's wall clock when it sent the batch
	UptimeSeconds int64     `json:"uptime_s"`
	// LastSeq is the newest event this request brings or, in a heartbeat
	// alone, the newest the server acknowledged: how far the device's log
	// has reached the server.
	LastSeq        int64  `json:"last_seq"`
	LastReadingSeq int64  `json:"last_reading_seq"`
	Software       string `json:"software"`
	// Profile is the dispenser's configuration as the clinic's reports
	// need it (medications, regimens, zone, meters); optional, so that a
	// device that sends none still syncs. The server stores the latest.
	Profile *Profile `json:"profile,omitempty"`
}

// Event is a dispenser.Event on the wire.
type Event struct {
	Seq         int64     `json:"seq"`
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	DoseID      string    `json:"dose_id,omitempty"`
	Scheduled   time.Time `json:"scheduled,omitzero"`
	Medication  string    `json:"medication,omitempty"`
	Compartment int       `json:"compartment,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	// ClockUntrusted says the device logged the event before it trusted
	// its wall clock (no NTP, no sane RTC yet): Time is what the clock
	// read, perhaps 1970. The server stores such an event and shows it as
	// such; it never moves the server's idea of now. Omitted when false,
	// so that older servers still take every other event.
	ClockUntrusted bool `json:"clock_untrusted,omitempty"`
}

// Reading is a vital.Reading on the wire.
type Reading struct {
	Seq        int64             `json:"seq"`
	ID         string            `json:"id"`
	Device     string            `json:"device,omitempty"`
	Quantity   string            `json:"quantity"`
	Value      float64           `json:"value"`
	Unit       string            `json:"unit"`
	Original   string            `json:"original,omitempty"`
	Time       time.Time         `json:"time"`
	DeviceTime bool              `json:"device_time"`
	Absent     string            `json:"absent,omitempty"`
	Unreliable []string          `json:"unreliable,omitempty"`
	Context    map[string]string `json:"context,omitempty"`
	// Quality is what the dispenser's quality step found (flags, the
	// device's own time stamp when the time was corrected, repeats);
	// omitted when it found nothing, so that a clinic older than the part
	// still takes every unflagged reading.
	Quality *ReadingQuality `json:"quality,omitempty"`
}

// QualityVersion is the version of ReadingQuality this package writes.
const QualityVersion = 1

// ReadingQuality is a reading's data quality on the wire. Like the
// profile's thresholds it is read leniently and versioned on its own:
// fields it does not know are ignored, and a part of another version is
// kept as one finding, "quality_unread", which (as every flag code this
// version does not know) keeps the reading out of the patient's values.
// A newer dispenser's quality never makes the clinic set a reading aside,
// and never lets a value it doubted count.
type ReadingQuality struct {
	Version int          `json:"version"`
	Flags   []vital.Flag `json:"flags,omitempty"`
	// DeviceClock is the time stamp the device gave, when the reading's
	// time was corrected from it.
	DeviceClock time.Time `json:"device_clock,omitzero"`
	// Repeats counts the times the device sent the reading again before
	// it was pushed (a repeat after that stays on the dispenser).
	Repeats int `json:"repeats,omitempty"`
}

// QualityUnread is the flag code of a quality part of another version.
const QualityUnread vital.FlagCode = "quality_unread"

// UnmarshalJSON reads the part leniently (see ReadingQuality).
func (q *ReadingQuality) UnmarshalJSON(data []byte) error {
	if b := bytes.TrimSpace(data); len(b) == 0 || b[0] != '{' {
		return errors.New("quality: wrong type (want an object)")
	}
	var v struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("quality: %w", jsonError(err))
	}
	if v.Version != QualityVersion {
		*q = ReadingQuality{Version: v.Version, Flags: []vital.Flag{{Code: QualityUnread,
			Reason: fmt.Sprintf("the dispenser judged it with data quality version %d, which this version cannot read", v.Version)}}}
		return nil
	}
	type plain ReadingQuality // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("quality: %w", jsonError(err))
	}
	*q = ReadingQuality(p)
	return nil
}

func (q *ReadingQuality) validate() error {
	if q == nil {
		return nil
	}
	if len(q.Flags) > maxListLen {
		return fmt.Errorf("quality: at most %d flags", maxListLen)
	}
	if q.Repeats < 0 {
		return errors.New("quality: repeats must not be negative")
	}
	if !q.DeviceClock.IsZero() {
		if err := checkTime(q.DeviceClock); err != nil {
			return fmt.Errorf("quality: device_clock: %w", err)
		}
	}
	for _, f := range q.Flags {
		if len(f.Code) > maxID || !isKind(string(f.Code)) {
			return errors.New("quality: flag code: want lower-case letters, digits and _, starting with a letter")
		}
		if err := checkText("quality: flag reason", f.Reason, maxText); err != nil {
			return err
		}
	}
	return nil
}

// Ack is the server's answer to an accepted batch.
type Ack struct {
	Version int `json:"version"`
	// AckedSeq is the highest seq up to which the server holds every event
	// of this log; the device sends from AckedSeq+1 next.
	AckedSeq        int64 `json:"acked_seq"`
	AckedReadingSeq int64 `json:"acked_reading_seq"`
	Stored          int   `json:"stored"`     // events and readings new to the server
	Duplicates      int   `json:"duplicates"` // already stored: a resend
	// TokenExpires is when the device's token ends (absent from older
	// servers): the device warns ahead of it, since a token that ended
	// stops its sync until someone rotates it.
	TokenExpires time.Time `json:"token_expires,omitzero"`
}

// ErrorBody is the JSON body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// FromEvent converts a stored event for the wire.
func FromEvent(ev dispenser.Event) Event {
	return Event{Seq: ev.Seq, ID: ev.ID, Time: ev.Time, Kind: string(ev.Kind), DoseID: ev.DoseID,
		Scheduled: ev.Scheduled, Medication: ev.Medication, Compartment: ev.Compartment, Detail: ev.Detail,
		ClockUntrusted: ev.ClockUntrusted}
}

// Domain converts a wire event back into the domain's.
func (e Event) Domain() dispenser.Event {
	return dispenser.Event{Seq: e.Seq, ID: e.ID, Time: e.Time, Kind: dispenser.Kind(e.Kind), DoseID: e.DoseID,
		Scheduled: e.Scheduled, Medication: e.Medication, Compartment: e.Compartment, Detail: e.Detail,
		ClockUntrusted: e.ClockUntrusted}
}

// FromReading converts a stored reading for the wire.
func FromReading(r vital.Reading) Reading {
	w := Reading{Seq: r.Seq, ID: r.ID, Device: r.Device, Quantity: string(r.Quantity), Value: r.Value,
		Unit: r.Unit, Original: r.Original, Time: r.Time, DeviceTime: r.DeviceTime, Absent: r.Absent,
		Unreliable: r.Unreliable, Context: r.Context}
	if len(r.Flags) > 0 || !r.DeviceClock.IsZero() || r.Repeats > 0 {
		w.Quality = &ReadingQuality{Version: QualityVersion, Flags: r.Flags, DeviceClock: r.DeviceClock, Repeats: r.Repeats}
	}
	return w
}

// Domain converts a wire reading back into the domain's.
func (r Reading) Domain() vital.Reading {
	d := vital.Reading{Seq: r.Seq, ID: r.ID, Device: r.Device, Quantity: vital.Quantity(r.Quantity),
		Value: r.Value, Unit: r.Unit, Original: r.Original, Time: r.Time, DeviceTime: r.DeviceTime,
		Absent: r.Absent, Unreliable: r.Unreliable, Context: r.Context}
	if q := r.Quality; q != nil {
		d.Flags, d.DeviceClock, d.Repeats = q.Flags, q.DeviceClock, q.Repeats
	}
	return d
}

// ErrTooLarge is returned by DecodeBatch for input over MaxBatchBytes.
var ErrTooLarge = errors.New("uplink: batch larger than 2 MiB")

// Field limits: generous for what a dispenser writes, small enough that a
// hostile batch cannot make the server store much.
const (
	maxID      = 64
	maxShort   = 200 // dose ids, medication ids, units, quantities, software
	maxText    = 2000
	maxListLen = 32
)

// isIDChars and isKind are the checks of every event's id and kind,
// written out: a regexp here would cost as much as the decoding.
func isIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return s != ""
}

func isKind(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

var (
	// Readings' times outside these years are a corrupt clock or a
	// hostile batch; they also keep unix milliseconds far from overflow.
	// An event's time is not held to them: the server judges it against
	// its own clock and the event's ClockUntrusted flag, and keeps it.
	minTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// DecodeBatch reads a batch: one JSON object, no unknown field, no
// trailing data, this package's Version, a well-formed device, log and
// heartbeat, and at most MaxEvents events and MaxReadings readings; any of
// these wrong refuses the batch with an error that says what and where.
// Each event, reading and profile is then read on its own, as strictly: one
// that is malformed is taken out of the batch into SetAside, with the
// reason, and the rest of the batch stands. Errors and reasons quote no
// content beyond ids and kinds.
func DecodeBatch(data []byte) (*Batch, error) {
	if len(data) > MaxBatchBytes {
		return nil, ErrTooLarge
	}
	// The heartbeat's profile and the lists are read item by item below.
	var w struct {
		Version   int    `json:"version"`
		Device    string `json:"device"`
		Log       string `json:"log"`
		Heartbeat struct {
			Heartbeat
			Profile json.RawMessage `json:"profile"` // shadows Heartbeat.Profile
		} `json:"heartbeat"`
		Events   []json.RawMessage `json:"events"`
		Readings []json.RawMessage `json:"readings"`
	}
	if err := strict(data, &w); err != nil {
		return nil, fmt.Errorf("uplink: batch: %w", err)
	}
	b := &Batch{Version: w.Version, Device: w.Device, Log: w.Log, Heartbeat: w.Heartbeat.Heartbeat}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	switch {
	case len(w.Events) > MaxEvents:
		return nil, fmt.Errorf("uplink: batch: %d events, at most %d allowed", len(w.Events), MaxEvents)
	case len(w.Readings) > MaxReadings:
		return nil, fmt.Errorf("uplink: batch: %d readings, at most %d allowed", len(w.Readings), MaxReadings)
	}
	if raw := w.Heartbeat.Profile; len(raw) > 0 && string(raw) != "null" {
		var p Profile
		err := strict(raw, &p)
		if err == nil {
			err = p.validate()
		}
		if err != nil {
			b.SetAside = append(b.SetAside, SetAside{What: "profile", Reason: err.Error(), Raw: cut(raw)})
		} else {
			b.Heartbeat.Profile = &p
		}
	}
	b.Events = decodeItems(w.Events, "event", &b.SetAside, func(e *Event, prev int64) (int64, error) { return e.Seq, e.validate(prev) })
	b.Readings = decodeItems(w.Readings, "reading", &b.SetAside, func(r *Reading, prev int64) (int64, error) { return r.Seq, r.validate(prev) })
	return b, nil
}

// strict reads exactly one JSON value into v, refusing unknown fields.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// decodeItems reads a list of events or readings: the well-formed ones in
// order, the others set aside. check validates an item after the
// previous item that holds a place in the log and returns its seq.
func decodeItems[T any](raws []json.RawMessage, what string, aside *[]SetAside, check func(*T, int64) (int64, error)) []T {
	out := make([]T, 0, len(raws))
	var prev int64
	for i, raw := range raws {
		var item T
		err := strict(raw, &item)
		var seq int64
		if err == nil {
			seq, err = check(&item, prev)
		}
		if err == nil {
			out = append(out, item)
			prev = seq
			continue
		}
		sa := SetAside{What: what, Index: i, Reason: err.Error(), Raw: cut(raw)}
		// What can still be read of it: a seq after the previous one
		// holds its place, so that the device moves past it.
		var place struct {
			Seq int64 `json:"seq"`
		}
		if json.Unmarshal(raw, &place) == nil && place.Seq > prev {
			sa.Seq, prev = place.Seq, place.Seq
		}
		var id struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &id) == nil && checkID(id.ID) == nil {
			sa.ID = id.ID
		}
		*aside = append(*aside, sa)
	}
	return out
}

func cut(raw []byte) []byte {
	return bytes.Clone(raw[:min(len(raw), MaxSetAsideBytes)])
}

// jsonError drops the Go type names encoding/json puts in its messages,
// which mean nothing to the device's operator.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s: wrong type (%s)", te.Field, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("JSON syntax error at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("empty body")
	}
	return err
}

// Validate checks a batch as DecodeBatch does, except that it refuses a
// malformed item instead of setting it aside: a batch built in the
// program (a device's) must have none.
func (b *Batch) Validate() error {
	var err error
	check := func(path string, e error) {
		if err == nil && e != nil {
			err = fmt.Errorf("uplink: batch: %s: %w", path, e)
		}
	}
	if b.Version != Version {
		return fmt.Errorf("uplink: batch: version %d, want %d", b.Version, Version)
	}
	check("device", checkID(b.Device))
	check("log", checkID(b.Log))
	check("heartbeat", b.Heartbeat.validate())
	if len(b.Events) > MaxEvents {
		return fmt.Errorf("uplink: batch: %d events, at most %d allowed", len(b.Events), MaxEvents)
	}
	if len(b.Readings) > MaxReadings {
		return fmt.Errorf("uplink: batch: %d readings, at most %d allowed", len(b.Readings), MaxReadings)
	}
	var prev int64
	for i, e := range b.Events {
		check(fmt.Sprintf("events[%d]", i), e.validate(prev))
		prev = e.Seq
	}
	prev = 0
	for i, r := range b.Readings {
		check(fmt.Sprintf("readings[%d]", i), r.validate(prev))
		prev = r.Seq
	}
	return err
}

// validate checks the heartbeat's own fields and its profile. Its time is
// the device's clock, which the server compares with its own: any time is
// taken (a device that booted at 1970 still syncs).
func (h Heartbeat) validate() error {
	if h.UptimeSeconds < 0 || h.LastSeq < 0 || h.LastReadingSeq < 0 {
		return errors.New("uptime_s, last_seq and last_reading_seq must not be negative")
	}
	if h.Profile != nil {
		if err := h.Profile.validate(); err != nil {
			return err
		}
	}
	return checkText("software", h.Software, maxShort)
}

func (e Event) validate(prev int64) error {
	if e.Seq <= prev {
		return fmt.Errorf("seq: %d after %d; sequence numbers must be at least 1 and increase", e.Seq, prev)
	}
	if err := checkID(e.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if e.Time.IsZero() {
		return errors.New("time: missing")
	}
	if len(e.Kind) > maxID || !isKind(e.Kind) {
		return errors.New("kind: want lower-case letters, digits and _, starting with a letter")
	}
	if e.Compartment < 0 || e.Compartment > 1000 {
		return errors.New("compartment: must be between 0 and 1000")
	}
	return errors.Join(checkText("dose_id", e.DoseID, maxShort), checkText("medication", e.Medication, maxShort),
		checkText("detail", e.Detail, maxText))
}

func (r Reading) validate(prev int64) error {
	if r.Seq <= prev {
		return fmt.Errorf("seq: %d after %d; sequence numbers must be at least 1 and increase", r.Seq, prev)
	}
	if err := checkID(r.ID); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if err := checkTime(r.Time); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if len(r.Quantity) > maxID || !isKind(r.Quantity) {
		return errors.New("quantity: want lower-case letters, digits and _, starting with a letter")
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return errors.New("value: not a finite number")
	}
	if r.Unit == "" {
		return errors.New("unit: missing")
	}
	if len(r.Unreliable) > maxListLen || len(r.Context) > maxListLen {
		return fmt.Errorf("unreliable and context: at most %d entries each", maxListLen)
	}
	errs := []error{checkText("unit", r.Unit, maxShort), checkText("device", r.Device, maxShort),
		checkText("original", r.Original, maxShort), checkText("absent", r.Absent, maxShort)}
	for _, u := range r.Unreliable {
		errs = append(errs, checkText("unreliable", u, maxShort))
	}
	for k, v := range r.Context {
		errs = append(errs, checkText("context key", k, maxShort), checkText("context", v, maxShort))
	}
	errs = append(errs, r.Quality.validate())
	return errors.Join(errs...)
}

func checkID(s string) error {
	switch {
	case s == "":
		return errors.New("missing")
	case len(s) > maxID:
		return fmt.Errorf("longer than %d characters", maxID)
	case !isIDChars(s):
		return errors.New("want letters, digits and _ . : - only")
	}
	return nil
}

func checkTime(t time.Time) error {
	switch {
	case t.IsZero():
		return errors.New("missing")
	case t.Before(minTime) || !t.Before(maxTime):
		return errors.New("outside the years 2000-2199")
	}
	return nil
}

func checkText(name, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%s: longer than %d bytes", name, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s: not UTF-8", name)
	}
	return nil
}
