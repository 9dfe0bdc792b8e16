package clinic

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

var usernameChars = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

func checkName(what, s string) error {
	if strings.TrimSpace(s) == "" || len(s) > 200 || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be 1 to 200 bytes of text", ErrInvalid, what)
	}
	return nil
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

// CreateUser adds an account with a password (checked by
// CheckPasswordRules).
func (s *Service) CreateUser(ctx context.Context, a Actor, username, displayName string, role Role, password string) (User, error) {
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
	u := User{ID: newID("us_"), Username: username, DisplayName: displayName, Role: role, Created: s.Now().Truncate(time.Millisecond)}
	err = s.Store.CreateUser(ctx, u, hash, s.entry(a, "user.create", "", u.ID+" role="+string(role), ""))
	if errors.Is(err, ErrConflict) {
		return User{}, fmt.Errorf("%w: username %s is taken", ErrConflict, username)
	}
	if err != nil {
		return User{}, wrap("create user", err)
	}
	return u, nil
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, a Actor, userID, password string) error {
	if err := CheckPasswordRules(password); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password, s.Password)
	if err != nil {
		return fmt.Errorf("clinic: set password: %w", err)
	}
	return wrap("set password", s.Store.SetPasswordHash(ctx, userID, hash, s.entry(a, "user.password", "", userID, "")))
}

// SetUserDisabled disables (or enables again) an account. A disabled
// account's sessions end and its API tokens stop working.
func (s *Service) SetUserDisabled(ctx context.Context, a Actor, userID string, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	return wrap(action, s.Store.SetUserDisabled(ctx, userID, disabled, s.entry(a, action, "", userID, "")))
}

// CreatePatient adds a patient, with their name's first word as the name
// the clinic's texts use (SetFirstName changes it).
func (s *Service) CreatePatient(ctx context.Context, a Actor, displayName string) (Patient, error) {
	if err := checkName("patient name", displayName); err != nil {
		return Patient{}, err
	}
	p := Patient{ID: newID("pt_"), DisplayName: displayName, FirstName: FirstWord(displayName), Created: s.Now().Truncate(time.Millisecond)}
	if err := checkFirstName(p.FirstName); err != nil {
		return Patient{}, err
	}
	if err := s.Store.CreatePatient(ctx, p, s.entry(a, "patient.create", p.ID, "", "")); err != nil {
		return Patient{}, wrap("create patient", err)
	}
	return p, nil
}

// SetFirstName sets what the clinic's texts call the patient.
func (s *Service) SetFirstName(ctx context.Context, a Actor, patientID, firstName string) error {
	if err := checkFirstName(firstName); err != nil {
		return err
	}
	return wrap("set first name", s.Store.SetFirstName(ctx, patientID, firstName, s.entry(a, "patient.first_name", patientID, "", "")))
}

// ErrOwnPanel refuses an admin who adds a patient to their own panel:
// that takes another admin (or pillctl clinic panel add on the server).
var ErrOwnPanel = fmt.Errorf("%w: an admin cannot add a patient to their own panel; another admin grants it, or pillctl clinic panel add on the server", ErrForbidden)

// SetPanel puts a patient on a user's panel (on true) or takes them off.
// A user acting on the clinic (an admin over HTTP) cannot put a patient
// on their own panel: ErrOwnPanel. A grant closes a pending request for
// it.
func (s *Service) SetPanel(ctx context.Context, a Actor, userID, patientID string, on bool) error {
	action := "panel.remove"
	if on {
		action = "panel.add"
		if a.ID == "user:"+userID {
			return ErrOwnPanel
		}
	}
	return wrap(action, s.Store.SetPanel(ctx, userID, patientID, on, s.entry(a, action, patientID, userID, "")))
}

// RequestPanel records that the acting admin asks to see a patient; another
// admin grants it with SetPanel. Asking again changes nothing.
func (s *Service) RequestPanel(ctx context.Context, a Actor, userID, patientID string) error {
	r := PanelRequest{UserID: userID, PatientID: patientID, RequestedAt: s.Now()}
	return wrap("panel request", s.Store.RequestPanel(ctx, r, s.entry(a, "panel.request", patientID, userID, "pending")))
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// AddCaregiver adds a caregiver to text about the patient's dispenser.
func (s *Service) AddCaregiver(ctx context.Context, a Actor, patientID string, c Caregiver) error {
	if err := checkName("caregiver name", c.Name); err != nil {
		return err
	}
	if !e164.MatchString(c.Phone) {
		return fmt.Errorf("%w: phone must be in E.164 form, e.g. +15555550123", ErrInvalid)
	}
	return wrap("add caregiver", s.Store.AddCaregiver(ctx, patientID, c, s.entry(a, "caregiver.add", patientID, "", "")))
}

// Caregivers returns the patient's caregivers in the order they were
// added, which is the order the dispenser's roles count them in
// ("caregiver1" is the first): the pages name them by it. The caller
// audits the read.
func (s *Service) Caregivers(ctx context.Context, patientID string) ([]Caregiver, error) {
	cs, err := s.Store.Caregivers(ctx, patientID)
	return cs, wrap("caregivers", err)
}

// RegisterDevice registers a dispenser for a patient and returns it with
// its device token. The token is shown once: only its hash is kept.
func (s *Service) RegisterDevice(ctx context.Context, a Actor, patientID, label string) (Device, string, error) {
	return s.registerDevice(ctx, a, newID("dv_"), patientID, label)
}

func (s *Service) registerDevice(ctx context.Context, a Actor, id, patientID, label string) (Device, string, error) {
	if len(label) > 200 || !utf8.ValidString(label) {
		return Device{}, "", fmt.Errorf("%w: label must be at most 200 bytes of text", ErrInvalid)
	}
	d := Device{ID: id, PatientID: patientID, Label: label, Created: s.Now().Truncate(time.Millisecond)}
	t, tok, err := s.newToken(KindDevice, "", d.ID, label)
	if err != nil {
		return Device{}, "", err
	}
	if err := s.Store.RegisterDevice(ctx, d, t, HashSecret(tok), s.entry(a, "device.register", patientID, d.ID, "")); err != nil {
		return Device{}, "", wrap("register device", err)
	}
	return d, tok, nil
}

// SetDeviceDisabled disables (or enables) a device: a disabled device's
// tokens are refused and it is not watched for silence.
func (s *Service) SetDeviceDisabled(ctx context.Context, a Actor, deviceID string, disabled bool) error {
	action := "device.enable"
	if disabled {
		action = "device.disable"
	}
	return wrap(action, s.Store.SetDeviceDisabled(ctx, deviceID, disabled, s.entry(a, action, "", deviceID, "")))
}
