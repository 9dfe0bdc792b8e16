package clinic

import (
	"context"
	"errors"
	"fmt"
)

// Demo is what SetupDemo made: a clinician login and a registered
// dispenser for `make run`.
type Demo struct {
	Username, Password string
	PatientID          string
	DeviceID, Token    string
}

// DemoDeviceID is the fixed id of the demo dispenser, so that a demo
// dispenser config can name it before the clinic has started.
const DemoDeviceID = "demo-dispenser"

// SetupDemo makes the clinic ready for a local demo, idempotently: an admin
// "demo" (with a new random password each time), a patient with the
// example config's name and a fictional caregiver, the demo patient on the
// demo panel, and the demo dispenser. The dispenser keeps its token when
// keep is still its valid token (a restarted demo, whose dispenser read the
// token at its own start); otherwise it gets a new one and the old one is
// revoked. Each change is audited as a.
func (s *Service) SetupDemo(ctx context.Context, a Actor, patientName, keep string) (Demo, error) {
	d := Demo{Username: "demo", Password: NewPassword(), DeviceID: DemoDeviceID}
	u, err := s.UserByName(ctx, d.Username)
	switch {
	case errors.Is(err, ErrNotFound):
		u, err = s.CreateUser(ctx, a, d.Username, "Demo clinician", RoleAdmin, d.Password)
	case err == nil:
		if err = s.SetPassword(ctx, a, u.ID, d.Password); err == nil && u.Disabled {
			err = s.SetUserDisabled(ctx, a, u.ID, false)
		}
	}
	if err != nil {
		return Demo{}, fmt.Errorf("clinic: demo: %w", err)
	}
	devs, err := s.Devices(ctx, "")
	if err != nil {
		return Demo{}, fmt.Errorf("clinic: demo: %w", err)
	}
	for _, dv := range devs {
		if dv.ID == DemoDeviceID {
			d.PatientID = dv.PatientID
		}
	}
	if d.PatientID == "" {
		p, err := s.CreatePatient(ctx, a, patientName)
		if err != nil {
			return Demo{}, fmt.Errorf("clinic: demo: %w", err)
		}
		d.PatientID = p.ID
		// A fictional number in the range reserved for examples.
		if err := s.AddCaregiver(ctx, a, p.ID, Caregiver{Name: "Demo caregiver", Phone: "+15555550100"}); err != nil {
			return Demo{}, fmt.Errorf("clinic: demo: %w", err)
		}
		if _, d.Token, err = s.registerDevice(ctx, a, DemoDeviceID, p.ID, "demo (dispenserd --sim)"); err != nil {
			return Demo{}, fmt.Errorf("clinic: demo: %w", err)
		}
	} else if p, err := s.Authenticate(ctx, keep); err == nil && p.DeviceID == DemoDeviceID {
		d.Token = keep
	} else if d.Token, err = s.RotateDeviceToken(ctx, a, DemoDeviceID); err != nil {
		return Demo{}, fmt.Errorf("clinic: demo: %w", err)
	}
	if err := s.SetPanel(ctx, a, u.ID, d.PatientID, true); err != nil {
		return Demo{}, fmt.Errorf("clinic: demo: %w", err)
	}
	return d, nil
}
