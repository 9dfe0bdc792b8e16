package clinic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// Errors the web package maps to HTTP statuses. Backends return them too,
// as the Store's methods say.
var (
	// ErrNotFound: no such object, or one the caller may not see; the two
	// are deliberately the same answer.
	ErrNotFound = errors.New("clinic: not found")
	// ErrUnauthenticated: no valid credential (unknown, revoked, expired,
	// disabled account).
	ErrUnauthenticated = errors.New("clinic: not authenticated")
	// ErrForbidden: a valid credential that may not do this.
	ErrForbidden = errors.New("clinic: forbidden")
	// ErrConflict: the request contradicts what is stored (a username
	// taken, a sequence number that already holds another event).
	ErrConflict = errors.New("clinic: conflict")
	// ErrInvalid: a malformed argument.
	ErrInvalid = errors.New("clinic: invalid")
	// ErrNoMiss: a false-miss mark for a dose the patient's log records
	// no miss of.
	ErrNoMiss = fmt.Errorf("%w: no recorded miss with this dose id", ErrNotFound)
)

// Role is what a user account may do.
type Role string

const (
	// RoleClinician reads the patients on their own panel.
	RoleClinician Role = "clinician"
	// RoleAdmin also manages accounts and panels. Patient data is still
	// limited to the admin's own panel.
	RoleAdmin Role = "admin"
)

// User is a clinician's or an admin's account.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Disabled    bool      `json:"disabled"`
	Created     time.Time `json:"created"`
}

// Patient is a person whose dispenser reports to the clinic.
type Patient struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// FirstName is all the clinic's texts to caregivers say of the
	// patient, as the dispenser's own texts (its patient.first_name).
	FirstName string    `json:"first_name"`
	Created   time.Time `json:"created"`
}

// Device is a dispenser registered for a patient.
type Device struct {
	ID          string    `json:"id"`
	PatientID   string    `json:"patient_id"`
	Label       string    `json:"label"`
	Created     time.Time `json:"created"`
	Disabled    bool      `json:"disabled"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	SilentSince time.Time `json:"silent_since,omitzero"`
	// Software is the version the device last reported.
	Software string `json:"software,omitempty"`
	// ClockOffset is the device's clock minus the clinic's at the last
	// heartbeat that carried a time, in whole seconds.
	ClockOffset int64 `json:"clock_offset_s"`
	// ClockSuspect is when the clinic last saw the device's clock wrong
	// (an event dated ahead of its own time, a heartbeat clock off by more
	// than MaxClockSkew), and ClockNote what it saw.
	ClockSuspect time.Time `json:"clock_suspect,omitzero"`
	ClockNote    string    `json:"clock_note,omitempty"`
	// SetAside counts the items of its batches the clinic set aside.
	SetAside int `json:"set_aside"`
	// TokenExpires is when its newest valid token ends (zero: it has none).
	TokenExpires time.Time `json:"token_expires,omitzero"`
	// Heartbeat is its latest heartbeat as the clinic merged it
	// (uplink.Heartbeat, JSON); nil before the first. Not for the API: the
	// profile in it names medications.
	Heartbeat json.RawMessage `json:"-"`
}

// TokenEnding reports whether the device's token ends within
// TokenWarning of now (or has ended): time to rotate it.
func (d Device) TokenEnding(now time.Time) bool {
	return !d.TokenExpires.IsZero() && d.TokenExpires.Sub(now) < TokenWarning
}

// ClockWrong reports whether the device's clock was off by more than
// MaxClockSkew at its last heartbeat.
func (d Device) ClockWrong() bool {
	return time.Duration(d.ClockOffset)*time.Second > MaxClockSkew || time.Duration(-d.ClockOffset)*time.Second > MaxClockSkew
}

// Caregiver is someone the clinic texts about a patient's dispenser.
type Caregiver struct {
	Name  string `json:"name"`
	Phone string `json:"phone"` // E.164
}

// PanelEntry is one patient on a panel with their dispensers' state.
type PanelEntry struct {
	Patient  Patient   `json:"patient"`
	LastSeen time.Time `json:"last_seen,omitzero"` // latest of their enabled devices
	Silent   bool      `json:"silent"`             // one of their enabled devices is silent
}

// PanelRequest is an admin's pending request to see a patient.
type PanelRequest struct {
	UserID      string    `json:"user"`
	PatientID   string    `json:"patient"`
	RequestedAt time.Time `json:"requested_at"`
}

// TokenInfo describes a token without the token itself.
type TokenInfo struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // "api" or "device"
	UserID   string    `json:"user_id,omitempty"`
	DeviceID string    `json:"device_id,omitempty"`
	Label    string    `json:"label,omitempty"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	Revoked  time.Time `json:"revoked,omitzero"`
}

// Token kinds.
const (
	KindAPI    = "api"
	KindDevice = "device"
)

// Entry is one line of the audit log. It names who did what to which
// patient, when and from where; it never holds a token, a password, a
// reading or any other patient data beyond the patient's id.
type Entry struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`  // "user:ID", "device:ID", "cli:NAME", "anonymous", "system"
	Action    string    `json:"action"` // "patient.read", "login.failure", "sync.ingest", ...
	PatientID string    `json:"patient_id,omitempty"`
	Target    string    `json:"target,omitempty"` // the object acted on, or counts
	Remote    string    `json:"remote,omitempty"` // client address
	Outcome   string    `json:"outcome"`          // "ok", "denied", "failed", "throttled"
}

// Actor is who acts on the clinic, for the audit log.
type Actor struct {
	ID     string // as Entry.Actor
	Remote string // client address, "" from the command line
}

// CLI is the actor for changes made with pillctl by the operating-system
// user name.
func CLI(user string) Actor { return Actor{ID: "cli:" + user} }

// System is the service itself (the silent watcher).
var System = Actor{ID: "system"}

// AuditQuery selects audit entries.
type AuditQuery struct {
	PatientID string // "" for all
	After     int64  // entries with Seq > After
	Limit     int    // 0: 100; at most 1000
}

// SyncedEvent is an event as the clinic holds it: the device's event,
// what the clinic made of its time when it arrived, and when that was.
type SyncedEvent struct {
	dispenser.Event
	// Clock is "" for a plausible time, else ClockUntrusted, ClockAhead
	// or ClockBefore2000: a time to show as unreliable.
	Clock    string    `json:"clock,omitempty"`
	Received time.Time `json:"received"`
	Device   string    `json:"device"`
}

// What the clinic made of a synced event's time when it arrived
// (SyncedEvent.Clock); "" is a plausible time.
const (
	// ClockUntrusted: the device logged it before it trusted its clock
	// (uplink.Event.ClockUntrusted); the time is what an unset clock read.
	ClockUntrusted = "untrusted"
	// ClockAhead: dated more than MaxClockSkew after the clinic's time
	// when it arrived: a wrong clock, or a forged batch.
	ClockAhead = "ahead"
	// ClockBefore2000: dated before 2000 without the device saying its
	// clock was untrusted (a dispenser older than the mark).
	ClockBefore2000 = "before_2000"
)

// SetAsideItem is a part of a batch the clinic kept apart (uplink.SetAside).
type SetAsideItem struct {
	Device   string    `json:"device"`
	What     string    `json:"what"` // "event", "reading" or "profile"
	Seq      int64     `json:"seq,omitempty"`
	ID       string    `json:"id,omitempty"`
	Reason   string    `json:"reason"`
	Received time.Time `json:"received"`
	// Raw is the item as sent (cut to uplink.MaxSetAsideBytes); kept for
	// whoever investigates, never shown.
	Raw []byte `json:"-"`
}

// Text is one text the clinic queued to a caregiver, for pillctl and
// tests.
type Text struct {
	ID        int64     `json:"id"`
	Created   time.Time `json:"created"`
	PatientID string    `json:"patient_id"`
	DeviceID  string    `json:"device_id"`
	Reason    string    `json:"reason"` // "silent" or "back"
	To        string    `json:"to"`
	Body      string    `json:"body"`
	Attempts  int       `json:"attempts"`
	Sent      time.Time `json:"sent,omitzero"`
	Failed    time.Time `json:"failed,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Why the clinic texts.
const (
	ReasonSilent = "silent"
	ReasonBack   = "back"
)

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// FirstWord is the first name CreatePatient gives a patient: the first
// word of their name.
func FirstWord(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return strings.TrimRight(f[0], ",;")
	}
	return ""
}
