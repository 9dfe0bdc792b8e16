package clinic

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// FirstWord is the first name CreatePatient gives a patient: the first
// word of their name.
func FirstWord(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return strings.TrimRight(f[0], ",;")
	}
	return ""
}

func checkFirstName(s string) error {
	if err := checkName("first name", s); err != nil {
		return err
	}
	if len(s) > 50 || strings.IndexFunc(s, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0 {
		return fmt.Errorf("%w: first name must be one line of at most 50 bytes", ErrInvalid)
	}
	return nil
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

var usernameChars = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

func checkName(what, s string) error {
	if strings.TrimSpace(s) == "" || len(s) > 200 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be 1 to 200 bytes of text", ErrInvalid, what)
	}
	return nil
}

// CreateUser adds an account with a password (checked by
// CheckPasswordRules).
func (s *Store) CreateUser(ctx context.Context, a Actor, username, displayName string, role Role, password string) (User, error) {
	if !usernameChars.MatchString(username) {
		return User{}, fmt.Errorf("%w: username must be 2 to 64 of a-z 0-9 . _ -, starting with a letter or digit", ErrInvalid)
	}
	if err := checkName("display name", displayName); err != nil {
		return User{}, err
	}
	if role != RoleClinician && role != RoleAdmin {
		return User{}, fmt.Errorf("%w: role must be clinician or admin", ErrInvalid)
	}
	if err := CheckPasswordRules(password); err != nil {
		return User{}, err
	}
	hash, err := s.hashPassword(ctx, password, s.Password)
	if err != nil {
		return User{}, fmt.Errorf("clinic: create user: %w", err)
	}
	u := User{ID: newID("us_"), Username: username, DisplayName: displayName, Role: role, Created: s.now().Truncate(time.Millisecond)}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clinic_users WHERE username = ?`, username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: username %s is taken", ErrConflict, username)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_users(id, username, display_name, role, password_hash, created) VALUES (?, ?, ?, ?, ?, ?)`,
			u.ID, u.Username, u.DisplayName, string(u.Role), hash, millis(u.Created)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "user.create", "", u.ID+" role="+string(role), "")
	})
	if err != nil {
		return User{}, wrap("create user", err)
	}
	return u, nil
}

// wrap prefixes err unless it already is one of the package's sentinel
// errors with its own message.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrForbidden, ErrUnauthenticated} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("clinic: %s: %w", op, err)
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, a Actor, userID, password string) error {
	if err := CheckPasswordRules(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password, s.Password)
	if err != nil {
		return fmt.Errorf("clinic: set password: %w", err)
	}
	return wrap("set password", s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_users SET password_hash = ? WHERE id = ?`, hash, userID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE user_id = ?`, userID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "user.password", "", userID, "")
	}))
}

// SetUserDisabled disables (or enables again) an account. A disabled
// account's sessions end and its API tokens stop working.
func (s *Store) SetUserDisabled(ctx context.Context, a Actor, userID string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return wrap(action, s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_users SET disabled = ? WHERE id = ?`, disabled, userID)); err != nil {
			return err
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_sessions WHERE user_id = ?`, userID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a, action, "", userID, "")
	}))
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

const selectUser = `SELECT id, username, display_name, role, disabled, created FROM clinic_users `

func scanUser(sc interface{ Scan(...any) error }) (User, error) {
	var u User
	var created int64
	err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, &created)
	u.Created = fromMillis(created)
	return u, err
}

// Users returns every account, by username.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, selectUser+`ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("clinic: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("clinic: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserByName finds an account by username or id.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, selectUser+`WHERE username = ? OR id = ?`, name, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("clinic: user: %w", err)
	}
	return u, nil
}

// CreatePatient adds a patient, with their name's first word as the name
// the clinic's texts use (SetFirstName changes it).
func (s *Store) CreatePatient(ctx context.Context, a Actor, displayName string) (Patient, error) {
	if err := checkName("patient name", displayName); err != nil {
		return Patient{}, err
	}
	p := Patient{ID: newID("pt_"), DisplayName: displayName, FirstName: FirstWord(displayName), Created: s.now().Truncate(time.Millisecond)}
	if err := checkFirstName(p.FirstName); err != nil {
		return Patient{}, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_patients(id, display_name, first_name, created) VALUES (?, ?, ?, ?)`,
			p.ID, p.DisplayName, p.FirstName, millis(p.Created)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "patient.create", p.ID, "", "")
	})
	if err != nil {
		return Patient{}, wrap("create patient", err)
	}
	return p, nil
}

// SetFirstName sets what the clinic's texts call the patient.
func (s *Store) SetFirstName(ctx context.Context, a Actor, patientID, firstName string) error {
	if err := checkFirstName(firstName); err != nil {
		return err
	}
	return wrap("set first name", s.tx(ctx, func(tx *sql.Tx) error {
		if err := mustAffect(tx.ExecContext(ctx, `UPDATE clinic_patients SET first_name = ? WHERE id = ?`, firstName, patientID)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "patient.first_name", patientID, "", "")
	}))
}

// Patient returns one patient, without any access check: handlers check
// the panel first.
func (s *Store) Patient(ctx context.Context, id string) (Patient, error) {
	ps, err := s.queryPatients(ctx, selectPatient+`WHERE id = ?`, id)
	if err != nil {
		return Patient{}, fmt.Errorf("clinic: patient: %w", err)
	}
	if len(ps) == 0 {
		return Patient{}, ErrNotFound
	}
	return ps[0], nil
}

const selectPatient = `SELECT id, display_name, first_name, created FROM clinic_patients `

// Patients returns every patient (for pillctl), by name.
func (s *Store) Patients(ctx context.Context) ([]Patient, error) {
	return s.queryPatients(ctx, selectPatient+`ORDER BY display_name, id`)
}

func (s *Store) queryPatients(ctx context.Context, q string, args ...any) ([]Patient, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("clinic: patients: %w", err)
	}
	defer rows.Close()
	var out []Patient
	for rows.Next() {
		var p Patient
		var created int64
		if err := rows.Scan(&p.ID, &p.DisplayName, &p.FirstName, &created); err != nil {
			return nil, fmt.Errorf("clinic: patients: %w", err)
		}
		p.Created = fromMillis(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

// OnPanel reports whether the patient is on the user's panel.
func (s *Store) OnPanel(ctx context.Context, userID, patientID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clinic_panels WHERE user_id = ? AND patient_id = ?`, userID, patientID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("clinic: panel: %w", err)
	}
	return n > 0, nil
}

// ErrOwnPanel refuses an admin who adds a patient to their own panel:
// that takes another admin (or pillctl clinic panel add on the server).
var ErrOwnPanel = fmt.Errorf("%w: an admin cannot add a patient to their own panel; another admin grants it, or pillctl clinic panel add on the server", ErrForbidden)

// SetPanel puts a patient on a user's panel (on true) or takes them off.
// A user acting on the store (an admin over HTTP) cannot put a patient on
// their own panel: ErrOwnPanel. A grant closes a pending request for it.
func (s *Store) SetPanel(ctx context.Context, a Actor, userID, patientID string, on bool) error {
	action := "panel.remove"
	q := `DELETE FROM clinic_panels WHERE user_id = ? AND patient_id = ?`
	if on {
		action = "panel.add"
		q = `INSERT INTO clinic_panels(user_id, patient_id) VALUES (?, ?) ON CONFLICT DO NOTHING`
	}
	return wrap(action, s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.userAndPatient(ctx, tx, userID, patientID); err != nil {
			return err
		}
		if on && a.ID == "user:"+userID {
			return ErrOwnPanel
		}
		if _, err := tx.ExecContext(ctx, q, userID, patientID); err != nil {
			return err
		}
		target := userID
		if res, err := tx.ExecContext(ctx, `DELETE FROM clinic_panel_requests WHERE user_id = ? AND patient_id = ?`, userID, patientID); err != nil {
			return err
		} else if n, _ := res.RowsAffected(); n > 0 && on {
			target += " (granting their request)"
		}
		return s.audit(ctx, tx, a, action, patientID, target, "")
	}))
}

func (s *Store) userAndPatient(ctx context.Context, tx *sql.Tx, userID, patientID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM clinic_users WHERE id = ?) + (SELECT count(*) FROM clinic_patients WHERE id = ?)`,
		userID, patientID).Scan(&n); err != nil {
		return err
	}
	if n != 2 {
		return ErrNotFound
	}
	return nil
}

// PanelRequest is an admin's pending request to see a patient.
type PanelRequest struct {
	UserID      string    `json:"user"`
	PatientID   string    `json:"patient"`
	RequestedAt time.Time `json:"requested_at"`
}

// RequestPanel records that the acting admin asks to see a patient; another
// admin grants it with SetPanel. Asking again changes nothing.
func (s *Store) RequestPanel(ctx context.Context, a Actor, userID, patientID string) error {
	return wrap("panel request", s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.userAndPatient(ctx, tx, userID, patientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_panel_requests(user_id, patient_id, requested_at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, userID, patientID, millis(s.now())); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "panel.request", patientID, userID, "pending")
	}))
}

// PanelRequests returns the pending requests, oldest first.
func (s *Store) PanelRequests(ctx context.Context) ([]PanelRequest, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, patient_id, requested_at FROM clinic_panel_requests ORDER BY requested_at, user_id`)
	if err != nil {
		return nil, fmt.Errorf("clinic: panel requests: %w", err)
	}
	defer rows.Close()
	var out []PanelRequest
	for rows.Next() {
		var pr PanelRequest
		var at int64
		if err := rows.Scan(&pr.UserID, &pr.PatientID, &at); err != nil {
			return nil, fmt.Errorf("clinic: panel requests: %w", err)
		}
		pr.RequestedAt = fromMillis(at)
		out = append(out, pr)
	}
	return out, rows.Err()
}

// Caregiver is someone the clinic texts about a patient's dispenser.
type Caregiver struct {
	Name  string `json:"name"`
	Phone string `json:"phone"` // E.164
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// AddCaregiver adds a caregiver to text about the patient's dispenser.
func (s *Store) AddCaregiver(ctx context.Context, a Actor, patientID string, c Caregiver) error {
	if err := checkName("caregiver name", c.Name); err != nil {
		return err
	}
	if !e164.MatchString(c.Phone) {
		return fmt.Errorf("%w: phone must be in E.164 form, e.g. +15555550123", ErrInvalid)
	}
	return wrap("add caregiver", s.tx(ctx, func(tx *sql.Tx) error {
		// SQLite does not enforce REFERENCES without PRAGMA foreign_keys,
		// which the device's connections leave off: check by hand.
		if _, err := s.patientTx(ctx, tx, patientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_caregivers(patient_id, name, phone) VALUES (?, ?, ?)
ON CONFLICT(patient_id, phone) DO UPDATE SET name = excluded.name`, patientID, c.Name, c.Phone); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "caregiver.add", patientID, "", "")
	}))
}

// Caregivers returns a patient's caregivers in the order they were added.
func (s *Store) Caregivers(ctx context.Context, patientID string) ([]Caregiver, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, phone FROM clinic_caregivers WHERE patient_id = ? ORDER BY id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinic: caregivers: %w", err)
	}
	defer rows.Close()
	var out []Caregiver
	for rows.Next() {
		var c Caregiver
		if err := rows.Scan(&c.Name, &c.Phone); err != nil {
			return nil, fmt.Errorf("clinic: caregivers: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RegisterDevice registers a dispenser for a patient and returns it with
// its device token. The token is shown once: only its hash is kept.
func (s *Store) RegisterDevice(ctx context.Context, a Actor, patientID, label string) (Device, string, error) {
	return s.registerDevice(ctx, a, newID("dv_"), patientID, label)
}

func (s *Store) registerDevice(ctx context.Context, a Actor, id, patientID, label string) (Device, string, error) {
	if len(label) > 200 || !utf8.ValidString(label) {
		return Device{}, "", fmt.Errorf("%w: label must be at most 200 bytes of text", ErrInvalid)
	}
	d := Device{ID: id, PatientID: patientID, Label: label, Created: s.now().Truncate(time.Millisecond)}
	var tok string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.patientTx(ctx, tx, patientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO clinic_devices(id, patient_id, label, created) VALUES (?, ?, ?, ?)`,
			d.ID, d.PatientID, d.Label, millis(d.Created)); err != nil {
			return err
		}
		var err error
		if tok, err = s.issueToken(ctx, tx, "device", "", d.ID, label); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, "device.register", patientID, d.ID, "")
	})
	if err != nil {
		return Device{}, "", wrap("register device", err)
	}
	return d, tok, nil
}

func (s *Store) patientTx(ctx context.Context, tx *sql.Tx, id string) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT display_name FROM clinic_patients WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}

const selectDevice = `SELECT id, patient_id, label, created, disabled, last_seen, silent_since,
coalesce(json_extract(heartbeat, '$.software'), ''), coalesce(clock_offset, 0), clock_suspect, clock_note,
(SELECT count(*) FROM clinic_set_aside a WHERE a.device_id = d.id),
(SELECT max(expires) FROM clinic_tokens t WHERE t.device_id = d.id AND t.revoked IS NULL) FROM clinic_devices d `

// Devices returns a patient's devices ("" for all), by creation.
func (s *Store) Devices(ctx context.Context, patientID string) ([]Device, error) {
	q, args := selectDevice+`ORDER BY created, id`, []any{}
	if patientID != "" {
		q, args = selectDevice+`WHERE patient_id = ? ORDER BY created, id`, []any{patientID}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("clinic: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		var d Device
		var created, offset int64
		var seen, silent, suspect, expires sql.NullInt64
		if err := rows.Scan(&d.ID, &d.PatientID, &d.Label, &created, &d.Disabled, &seen, &silent,
			&d.Software, &offset, &suspect, &d.ClockNote, &d.SetAside, &expires); err != nil {
			return nil, fmt.Errorf("clinic: devices: %w", err)
		}
		d.Created, d.LastSeen, d.SilentSince, d.ClockSuspect = fromMillis(created), fromNullMillis(seen), fromNullMillis(silent), fromNullMillis(suspect)
		d.ClockOffset, d.TokenExpires = offset/1000, fromNullMillis(expires)
		out = append(out, d)
	}
	return out, rows.Err()
}

// SetDeviceDisabled disables (or enables) a device: a disabled device's
// tokens are refused and it is not watched for silence.
func (s *Store) SetDeviceDisabled(ctx context.Context, a Actor, deviceID string, disabled bool) error {
	action := "device.enable"
	if disabled {
		action = "device.disable"
	}
	return wrap(action, s.tx(ctx, func(tx *sql.Tx) error {
		var patient string
		if err := tx.QueryRowContext(ctx, `UPDATE clinic_devices SET disabled = ?, silent_since = NULL WHERE id = ? RETURNING patient_id`,
			disabled, deviceID).Scan(&patient); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		return s.audit(ctx, tx, a, action, patient, deviceID, "")
	}))
}
