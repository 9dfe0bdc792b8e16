package cohort

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/pillbox/pillbox/adherence/insights"
)

// The cohort file is JSON lines (docs/insights.md#the-cohort-file): a
// header line, then for each patient a "patient" line followed by the
// lines of its record: "dose", "refill", "clock_jump", "reading" and
// "label". Times are RFC 3339 in UTC; a patient's start is a date in its
// zone. Lines of other types are refused: a file is either this version's
// or an error, never half read.

// FormatVersion is the version of the file format Write writes.
const FormatVersion = 1

// MaxLine is the longest line Read accepts.
const MaxLine = 1 << 20

// Header is the first line of a cohort file.
type Header struct {
	Type     string `json:"type"` // "cohort"
	Version  int    `json:"version"`
	Seed     uint64 `json:"seed"`
	First    int    `json:"first"` // index of the first patient
	Patients int    `json:"patients"`
	Params   Params `json:"params"`
}

type patientLine struct {
	Type     string    `json:"type"`
	Index    int       `json:"index"`
	ID       string    `json:"id"`
	Zone     string    `json:"zone"`
	Start    string    `json:"start"` // date, in Zone
	Days     int       `json:"days"`
	Truth    Truth     `json:"truth"`
	Regimens []Regimen `json:"regimens"`
}

type doseLine struct {
	Type       string    `json:"type"`
	ID         string    `json:"id"`
	Medication string    `json:"med"`
	At         time.Time `json:"at"`
	Opens      time.Time `json:"opens"`
	Closes     time.Time `json:"closes"`
	Outcome    string    `json:"outcome"`
	Taken      time.Time `json:"taken,omitzero"`
	Settled    time.Time `json:"settled,omitzero"`
	P          float64   `json:"p"`
	Cause      string    `json:"cause,omitempty"`
}

type timeLine struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
}

type readingLine struct {
	Type     string    `json:"type"`
	Quantity string    `json:"q"`
	Value    float64   `json:"v"`
	Unit     string    `json:"unit"`
	At       time.Time `json:"at"`
}

type labelLine struct {
	Type string `json:"type"`
	Label
}

// Writer writes a cohort file.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
}

// NewWriter writes the header and returns a Writer for the patients.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &Writer{w: bw, enc: json.NewEncoder(bw)}
	h.Type, h.Version = "cohort", FormatVersion
	return cw, cw.line(h)
}

func (w *Writer) line(v any) error {
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("cohort: write: %w", err)
	}
	return nil
}

// Write writes one patient's record.
func (w *Writer) Write(p *Patient) error {
	if err := w.line(patientLine{Type: "patient", Index: p.Index, ID: p.ID, Zone: p.Zone,
		Start: p.Start.Format(time.DateOnly), Days: p.Days, Truth: p.Truth, Regimens: p.Regimens}); err != nil {
		return err
	}
	for _, d := range p.Doses {
		if err := w.line(doseLine{Type: "dose", ID: d.ID, Medication: d.Medication, At: d.Scheduled.UTC(), Opens: d.Opens.UTC(),
			Closes: d.Closes.UTC(), Outcome: d.Outcome.String(), Taken: d.TakenAt.UTC(), Settled: d.Settled.UTC(), P: d.P, Cause: d.Cause}); err != nil {
			return err
		}
	}
	for _, t := range p.Refills {
		if err := w.line(timeLine{"refill", t.UTC()}); err != nil {
			return err
		}
	}
	for _, t := range p.ClockJumps {
		if err := w.line(timeLine{"clock_jump", t.UTC()}); err != nil {
			return err
		}
	}
	for _, r := range p.Readings {
		if err := w.line(readingLine{"reading", string(r.Quantity), r.Value, r.Unit, r.Time.UTC()}); err != nil {
			return err
		}
	}
	for _, l := range p.Labels {
		l.Onset, l.At = l.Onset.UTC(), l.At.UTC()
		if err := w.line(labelLine{"label", l}); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("cohort: write: %w", err)
	}
	return nil
}

// Read reads a cohort file and calls fn with each patient, in the file's
// order, as soon as its record is complete. It stops at the first error:
// a malformed line (named by its number), or fn's.
func Read(r io.Reader, fn func(*Patient) error) (Header, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h Header
	var cur *Patient
	n := 0
	for {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			break
		}
		n++
		if err != nil {
			return h, fmt.Errorf("cohort: line %d: %w", n, err)
		}
		if n == 1 {
			if err := decodeHeader(line, &h); err != nil {
				return h, fmt.Errorf("cohort: line 1: %w", err)
			}
			continue
		}
		var kind struct{ Type string }
		if err := json.Unmarshal(line, &kind); err != nil {
			return h, fmt.Errorf("cohort: line %d: %w", n, err)
		}
		if kind.Type == "patient" {
			if cur != nil {
				if err := fn(cur); err != nil {
					return h, err
				}
			}
			if cur, err = decodePatient(line); err != nil {
				return h, fmt.Errorf("cohort: line %d: %w", n, err)
			}
			continue
		}
		if cur == nil {
			return h, fmt.Errorf("cohort: line %d: a %q line before any patient line", n, kind.Type)
		}
		if err := decodeRecord(line, kind.Type, cur); err != nil {
			return h, fmt.Errorf("cohort: line %d: %w", n, err)
		}
	}
	if n == 0 {
		return h, errors.New("cohort: empty file")
	}
	if cur != nil {
		return h, fn(cur)
	}
	return h, nil
}

// readLine returns the next line without its newline; io.EOF after the
// last.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		part, err := br.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > MaxLine {
			return nil, fmt.Errorf("longer than %d bytes", MaxLine)
		}
		switch {
		case err == nil:
			return bytes.TrimRight(buf, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return bytes.TrimRight(buf, "\r\n"), nil
		default:
			return nil, err
		}
	}
}

// strict decodes one JSON object into v, refusing unknown fields and
// anything after it.
func strict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

func decodeHeader(line []byte, h *Header) error {
	var head struct {
		Type    string
		Version int
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return err
	}
	switch {
	case head.Type != "cohort":
		return fmt.Errorf("not a cohort file (first line's type %q, want \"cohort\")", head.Type)
	case head.Version != FormatVersion:
		return fmt.Errorf("format version %d; this pillctl reads version %d", head.Version, FormatVersion)
	}
	return strict(line, h)
}

func decodePatient(line []byte) (*Patient, error) {
	var pl patientLine
	if err := strict(line, &pl); err != nil {
		return nil, err
	}
	if pl.ID == "" || pl.Index < 0 || pl.Days < 1 || pl.Days > 3660 {
		return nil, fmt.Errorf("patient %q: want an id, an index of 0 or more and 1 to 3660 days", pl.ID)
	}
	loc, err := time.LoadLocation(pl.Zone)
	if err != nil || pl.Zone == "" || pl.Zone == "Local" {
		return nil, fmt.Errorf("patient %s: zone %q is not an IANA zone name", pl.ID, pl.Zone)
	}
	start, err := time.ParseInLocation(time.DateOnly, pl.Start, loc)
	if err != nil {
		return nil, fmt.Errorf("patient %s: start %q is not a date such as 2025-03-01", pl.ID, pl.Start)
	}
	return &Patient{Index: pl.Index, ID: pl.ID, Zone: pl.Zone, Location: loc, Start: start, Days: pl.Days,
		Truth: pl.Truth, Regimens: pl.Regimens}, nil
}

func decodeRecord(line []byte, kind string, p *Patient) error {
	switch kind {
	case "dose":
		var dl doseLine
		if err := strict(line, &dl); err != nil {
			return err
		}
		d, err := dl.dose()
		if err != nil {
			return err
		}
		p.Doses = append(p.Doses, d)
	case "refill", "clock_jump":
		var tl timeLine
		if err := strict(line, &tl); err != nil {
			return err
		}
		if tl.At.IsZero() {
			return fmt.Errorf("%s without a time", kind)
		}
		if kind == "refill" {
			p.Refills = append(p.Refills, tl.At)
		} else {
			p.ClockJumps = append(p.ClockJumps, tl.At)
		}
	case "reading":
		var rl readingLine
		if err := strict(line, &rl); err != nil {
			return err
		}
		if rl.Quantity == "" || rl.Unit == "" || rl.At.IsZero() || math.IsInf(rl.Value, 0) {
			return errors.New("reading: want a quantity, a value, a unit and a time")
		}
		p.Readings = append(p.Readings, insights.Reading{Quantity: insights.Quantity(rl.Quantity), Value: rl.Value, Unit: rl.Unit, Time: rl.At})
	case "label":
		var ll labelLine
		if err := strict(line, &ll); err != nil {
			return err
		}
		if (ll.Kind != LabelDecompensation && ll.Kind != LabelDrift) || ll.At.IsZero() || ll.Onset.After(ll.At) {
			return fmt.Errorf("label %q: want a known kind, and an onset no later than its time", ll.Kind)
		}
		p.Labels = append(p.Labels, ll.Label)
	default:
		return fmt.Errorf("unknown line type %q", kind)
	}
	return nil
}

func (dl doseLine) dose() (Dose, error) {
	o, err := insights.ParseOutcome(dl.Outcome)
	if err != nil {
		return Dose{}, err
	}
	switch {
	case dl.ID == "" || dl.Medication == "":
		return Dose{}, errors.New("dose without an id or a medication")
	case dl.At.IsZero() || dl.Opens.After(dl.At) || !dl.Closes.After(dl.At):
		return Dose{}, fmt.Errorf("dose %s: want opens <= at < closes", dl.ID)
	case o != insights.Pending && dl.Settled.IsZero():
		return Dose{}, fmt.Errorf("dose %s: a %s dose needs the time it was settled", dl.ID, o)
	case (o == insights.Taken) != !dl.Taken.IsZero():
		return Dose{}, fmt.Errorf("dose %s: a taking time goes with a taken dose, and only with one", dl.ID)
	case dl.P < 0 || dl.P > 1:
		return Dose{}, fmt.Errorf("dose %s: p %v is not a probability", dl.ID, dl.P)
	}
	return Dose{Dose: insights.Dose{ID: dl.ID, Medication: dl.Medication, Scheduled: dl.At, Opens: dl.Opens, Closes: dl.Closes,
		Outcome: o, TakenAt: dl.Taken, Settled: dl.Settled}, P: dl.P, Cause: dl.Cause}, nil
}
