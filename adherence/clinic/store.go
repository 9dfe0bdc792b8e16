package clinic

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/hw/vital"
)

// Store keeps the clinic's data. A backend implements it (see the
// subpackages); adherence/clinic/storetest checks that one does so
// faithfully. Service puts the clinic's logic around it.
//
// The contract every method keeps:
//   - It is safe for concurrent use, by many goroutines and by several
//     processes on one database: nothing a caller relies on lives only in
//     the Store value's memory.
//   - Each method is one transaction: a method that changes data and takes
//     an audit Entry appends the entry in the same transaction, so a change
//     is never without its entry nor an entry without its change. The
//     caller fills Entry.Time; the store assigns Seq.
//   - The audit log is append-only: no method changes or removes an entry,
//     and a backend refuses to do so at the database too (a trigger, the
//     service role's grants).
//   - Times are kept to the millisecond, in UTC. A zero time.Time is
//     "none" (NULL), both ways.
//   - Errors are ErrNotFound, ErrConflict, ErrUnauthenticated or
//     ErrNoMiss (errors.Is) where a method says so; any other error is the
//     database's, wrapped with what failed, and means nothing was changed.
//   - Callbacks a method takes run inside its transaction and may run more
//     than once (a backend may retry a transaction that lost a race), so
//     they must not have side effects; their errors abort the method and
//     are returned as they are.
type Store interface {
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database. Everything a method returned is
	// already durable.
	Close() error

	// CreateUser adds u with its password hash (PHC string). ErrConflict
	// when the username is taken.
	CreateUser(ctx context.Context, u User, passwordHash string, audit Entry) error
	// SetPasswordHash replaces a user's password hash and ends all their
	// sessions. ErrNotFound for an unknown user.
	SetPasswordHash(ctx context.Context, userID, passwordHash string, audit Entry) error
	// SetUserDisabled disables (or enables) an account; disabling ends
	// its sessions. ErrNotFound for an unknown user.
	SetUserDisabled(ctx context.Context, userID string, disabled bool, audit Entry) error
	// Users returns every account, by username.
	Users(ctx context.Context) ([]User, error)
	// UserByName finds an account by username or by id. ErrNotFound.
	UserByName(ctx context.Context, nameOrID string) (User, error)
	// PasswordHash returns the account with this username and its
	// password hash, disabled or not. ErrNotFound.
	PasswordHash(ctx context.Context, username string) (User, string, error)

	// CreatePatient adds p.
	CreatePatient(ctx context.Context, p Patient, audit Entry) error
	// SetFirstName sets what the clinic's texts call the patient.
	// ErrNotFound.
	SetFirstName(ctx context.Context, patientID, firstName string, audit Entry) error
	// Patient returns one patient. ErrNotFound.
	Patient(ctx context.Context, id string) (Patient, error)
	// Patients returns every patient, by name then id.
	Patients(ctx context.Context) ([]Patient, error)

	// SetPanel puts a patient on a user's panel (on) or takes them off;
	// either is a no-op when already so. It closes the user's pending
	// request for the patient (RequestPanel), and then appends
	// GrantedRequest to the audit entry's Target. ErrNotFound when the
	// user or the patient is unknown.
	SetPanel(ctx context.Context, userID, patientID string, on bool, audit Entry) error
	// OnPanel reports whether the patient is on the user's panel.
	OnPanel(ctx context.Context, userID, patientID string) (bool, error)
	// PanelEntries returns the user's panel, by patient name then id,
	// with the state of each patient's enabled devices.
	PanelEntries(ctx context.Context, userID string) ([]PanelEntry, error)
	// RequestPanel records an admin's request to see a patient; asking
	// again keeps the first request. ErrNotFound when the user or the
	// patient is unknown.
	RequestPanel(ctx context.Context, r PanelRequest, audit Entry) error
	// PanelRequests returns the pending requests, oldest first (then by
	// user).
	PanelRequests(ctx context.Context) ([]PanelRequest, error)

	// AddCaregiver adds a caregiver to the patient; one already there
	// with the same phone gets the new name. ErrNotFound for an unknown
	// patient.
	AddCaregiver(ctx context.Context, patientID string, c Caregiver, audit Entry) error
	// Caregivers returns the patient's caregivers in the order they were
	// added.
	Caregivers(ctx context.Context, patientID string) ([]Caregiver, error)

	// RegisterDevice adds d (its id, patient, label and creation time)
	// with its first token. ErrNotFound for an unknown patient,
	// ErrConflict for an id taken.
	RegisterDevice(ctx context.Context, d Device, t TokenInfo, tokenHash string, audit Entry) error
	// Devices returns a patient's devices ("" for every device), by
	// creation then id.
	Devices(ctx context.Context, patientID string) ([]Device, error)
	// SetDeviceDisabled disables (or enables) a device; either way it is
	// no longer silent. The audit entry's PatientID is set to the
	// device's patient. ErrNotFound.
	SetDeviceDisabled(ctx context.Context, deviceID string, disabled bool, audit Entry) error

	// IssueToken stores an API token of an existing user (t.Kind
	// KindAPI). ErrNotFound for an unknown user.
	IssueToken(ctx context.Context, t TokenInfo, tokenHash string, audit Entry) error
	// RotateDeviceToken revokes the device's valid tokens (at t.Created)
	// and stores t, its new one. The audit entry's PatientID is set to the
	// device's patient. ErrNotFound for an unknown device.
	RotateDeviceToken(ctx context.Context, t TokenInfo, tokenHash string, audit Entry) error
	// RevokeToken revokes one valid token. ErrNotFound for an unknown or
	// already revoked one.
	RevokeToken(ctx context.Context, tokenID string, at time.Time, audit Entry) error
	// Tokens lists every token, oldest first (then by id).
	Tokens(ctx context.Context) ([]TokenInfo, error)
	// Credential finds a token by its hash, with what it speaks for.
	// ErrNotFound.
	Credential(ctx context.Context, tokenHash string) (Credential, error)

	// CreateSession stores a new web session.
	CreateSession(ctx context.Context, s Session, audit Entry) error
	// Session returns a session by the hash of its id, with its user.
	// ErrNotFound.
	Session(ctx context.Context, idHash string) (Session, User, error)
	// TouchSession records a request of the session at at.
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	// DeleteSession deletes a session (ended, or logged out with audit).
	// Deleting one that is not there is no error.
	DeleteSession(ctx context.Context, idHash string, audit ...Entry) error
	// PruneSessions deletes the sessions last seen before idleBefore or
	// created before createdBefore.
	PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) error

	// LoginWait returns the latest end of a wait (until) among the keys'
	// failure counts whose last failure is at or after since; zero when
	// none.
	LoginWait(ctx context.Context, since time.Time, keys ...string) (time.Time, error)
	// LoginFailed counts one failure at at against each key, atomically
	// however many processes count at once: a key's count n goes up by
	// one and its wait ends at at + Delay.Wait(n). In the same
	// transaction it forgets the keys whose last failure is before
	// forgetBefore, and only those. It returns the latest end of the
	// keys' waits.
	LoginFailed(ctx context.Context, at, forgetBefore time.Time, keys ...KeyDelay) (time.Time, error)
	// LoginSucceeded forgets one key's failures.
	LoginSucceeded(ctx context.Context, key string) error

	// AppendAudit appends entries in one transaction, in order.
	AppendAudit(ctx context.Context, entries ...Entry) error
	// AuditLog returns entries in Seq order (q.Limit already bounded by
	// the caller).
	AuditLog(ctx context.Context, q AuditQuery) ([]Entry, error)

	// Ingest stores one device's batch in one transaction. Idempotent by
	// event id: each event and each reading is stored once per (device,
	// id) however often, and however concurrently, a batch is sent (to one
	// process or several); a repeat counts as a duplicate. A sequence
	// number of the batch's log that already holds another event (or
	// reading) is ErrConflict, and nothing of the batch is stored. Set-aside
	// items are kept once per (device, log, what, seq) when they have a
	// seq. The acknowledged sequence numbers are the highest reached from
	// 1 by consecutive events (readings) of the log, set-aside events
	// (readings) counting as received. Then decide gets the device's state
	// before the batch and what was stored, and its answer is written: the
	// device's new state (last seen at b.Received, no longer silent), the
	// texts to queue and the audit entries. The device's row stays locked
	// from the read of its state to that write, so two batches of one
	// device see each other's effect (one of them sees it silent). An
	// unknown or disabled device is ErrUnauthenticated, before decide.
	Ingest(ctx context.Context, b SyncBatch, decide func(SyncState) (SyncUpdate, error)) error
	// SyncedEvents returns the patient's synced events with a time in
	// [From, To), by time, device, log and seq.
	SyncedEvents(ctx context.Context, q EventQuery) ([]SyncedEvent, error)
	// ClockFlagged returns the patient's latest events (by arrival, then
	// seq) whose time the clinic holds unreliable, newest first.
	ClockFlagged(ctx context.Context, patientID string, limit int) ([]SyncedEvent, error)
	// LatestEventTime returns the time of the patient's latest event with
	// a reliable time at or before notAfter; zero when none.
	LatestEventTime(ctx context.Context, patientID string, notAfter time.Time) (time.Time, error)
	// EventCount returns how many events the clinic holds for a patient.
	EventCount(ctx context.Context, patientID string) (int, error)
	// PatientReadings returns the patient's synced readings with a time
	// in [from, to), by time, device, log and seq.
	PatientReadings(ctx context.Context, patientID string, from, to time.Time, limit int) ([]vital.Reading, error)
	// SetAsideItems returns the latest items set aside from the patient's
	// devices, newest first (Raw included).
	SetAsideItems(ctx context.Context, patientID string, limit int) ([]SetAsideItem, error)

	// MarkFalseMiss records (or replaces) a false-miss mark on the
	// patient's dose. ErrNoMiss when no missed or not_taken event of the
	// patient has this dose id.
	MarkFalseMiss(ctx context.Context, patientID, doseID string, fm report.FalseMiss, audit Entry) error
	// UnmarkFalseMiss removes a mark. ErrNotFound when there is none.
	UnmarkFalseMiss(ctx context.Context, patientID, doseID string, audit Entry) error
	// FalseMisses returns the patient's marks by dose id.
	FalseMisses(ctx context.Context, patientID string) (map[string]report.FalseMiss, error)

	// MarkSilent marks every enabled device that has been heard from,
	// is not silent yet and was last seen at or before cutoff as silent
	// since at, in one transaction; for each, compose says what to text
	// each of the patient's caregivers and what to audit. It returns how
	// many devices went silent. Each device goes silent once however many
	// processes watch.
	MarkSilent(ctx context.Context, cutoff, at time.Time, compose func(SilentDevice) (CaregiverText, Entry)) (int, error)
	// SilenceWatch returns the earliest last-seen time of the devices
	// MarkSilent may mark, and the earliest next try of the texts to
	// send; zero times for none.
	SilenceWatch(ctx context.Context) (oldestSeen, nextTry time.Time, err error)
	// DeviceSilence counts the enabled devices that are silent and the
	// texts waiting to be sent (neither sent nor failed for good), and
	// returns the earliest last-seen time of the enabled devices heard
	// from (silent or not; zero when none). It reads no patient data:
	// the metrics serve it.
	DeviceSilence(ctx context.Context) (DeviceSilence, error)
	// ClaimTexts returns up to limit texts due at at (neither sent nor
	// failed for good, next try at or before at), oldest first, and moves
	// their next try to until, so that no other process sends them before
	// then.
	ClaimTexts(ctx context.Context, at, until time.Time, limit int) ([]Text, error)
	// TextAttempted records an attempt to send a text.
	TextAttempted(ctx context.Context, id int64, a TextAttempt) error
	// Texts returns every text, oldest first.
	Texts(ctx context.Context) ([]Text, error)

	// CreateFHIRClient registers c. ErrNotFound when its panel's user or
	// one of its patients is unknown.
	CreateFHIRClient(ctx context.Context, c FHIRClient, audit Entry) error
	// FHIRClients returns every client, revoked ones too, by creation then
	// id.
	FHIRClients(ctx context.Context) ([]FHIRClient, error)
	// FHIRClient returns one client, revoked or not. ErrNotFound.
	FHIRClient(ctx context.Context, id string) (FHIRClient, error)
	// RevokeFHIRClient revokes a client at at. ErrNotFound for an
	// unknown or already revoked one.
	RevokeFHIRClient(ctx context.Context, id string, at time.Time, audit Entry) error
	// IssueFHIRToken, in one transaction: forgets the assertion ids and
	// the access tokens that expired at or before t.Issued; records the
	// client's assertion id jti until jtiExpires, ErrConflict (and nothing
	// stored) when the client's jti is still recorded; stores the access
	// token t by its hash. ErrNotFound for an unknown client.
	IssueFHIRToken(ctx context.Context, clientID, jti string, jtiExpires time.Time, t FHIRToken, tokenHash string, audit Entry) error
	// FHIRToken finds an access token by its hash, expired or not, with
	// its client. ErrNotFound.
	FHIRToken(ctx context.Context, tokenHash string) (FHIRToken, FHIRClient, error)
}

// DeviceSilence is the clinic's silence in aggregate (Store.DeviceSilence).
type DeviceSilence struct {
	Silent      int       // enabled devices marked silent
	OldestSeen  time.Time // earliest last seen of the enabled devices heard from; zero: none
	TextsQueued int       // texts neither sent nor failed for good
}

// GrantedRequest is what SetPanel appends to its audit entry's Target
// when the change granted a pending request.
const GrantedRequest = " (granting their request)"

// Credential is a token as Authenticate judges it: the token and the
// state of what it speaks for.
type Credential struct {
	TokenInfo
	// The API token's user, as stored (zero for a device token, or when
	// the user is gone).
	User User
	// The device token's device: its patient, and whether it is disabled
	// (PatientID "" when the device is gone).
	PatientID      string
	DeviceDisabled bool
}

// Session is a web session as the store keeps it.
type Session struct {
	IDHash   string // HashSecret of the cookie value
	UserID   string
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// KeyDelay is a key and the delays its failures earn.
type KeyDelay struct {
	Key   string
	Delay Delay
}

// EventQuery selects a patient's synced events.
type EventQuery struct {
	PatientID string
	From, To  time.Time // [From, To)
	Limit     int
	// Reliable leaves out the events whose time the clinic holds
	// unreliable (Clock != "").
	Reliable bool
}

// SyncBatch is a device's batch as the store keeps it (Service.Ingest
// makes it from an uplink.Batch).
type SyncBatch struct {
	Device   string
	Log      string // the device database's id: a recreated one starts again at seq 1
	Received time.Time
	// Events with Clock judged; their Received and Device are the batch's.
	Events   []SyncedEvent
	Readings []vital.Reading
	// SetAside are the items decoding kept apart, with their Raw bytes.
	SetAside []SetAsideItem
}

// SyncState is what decide learns in Store.Ingest: the device as it was
// before the batch, and what the batch stored.
type SyncState struct {
	PatientID, FirstName  string
	LastSeen, SilentSince time.Time // zero: never, not silent
	Heartbeat             json.RawMessage
	// Events and readings stored, and those already there.
	Stored, Duplicates                int
	ReadingsStored, ReadingDuplicates int
	// Flagged counts the stored events with a Clock.
	Flagged int
	// The log's acknowledged sequence numbers after the batch.
	AckedSeq, AckedReadingSeq int64
}

// SyncUpdate is what Store.Ingest writes after decide.
type SyncUpdate struct {
	Heartbeat json.RawMessage
	Software  string
	// ClockOffset is the device's clock minus the clinic's; nil keeps the
	// stored one.
	ClockOffset *time.Duration
	// ClockNote, when not "", records the device's clock as suspect at the
	// batch's arrival, with this note.
	ClockNote string
	Texts     []CaregiverText
	Audit     []Entry
}

// CaregiverText is a text to queue to every caregiver of a patient, about
// one of their devices.
type CaregiverText struct {
	Reason string // ReasonSilent or ReasonBack
	Body   string
	At     time.Time // queued at, and first due
}

// SilentDevice is a device MarkSilent marks.
type SilentDevice struct {
	ID, PatientID, FirstName string
	LastSeen                 time.Time
}

// TextAttempt is the outcome of one attempt to send a text: Sent, or
// Failed for good, or neither and the next try at NextTry. Error is ""
// after a success.
type TextAttempt struct {
	Sent, Failed, NextTry time.Time
	Error                 string
}
