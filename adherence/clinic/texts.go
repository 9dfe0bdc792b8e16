package clinic

import (
	"context"
	"fmt"
	"time"
)

// The texts the clinic sends caregivers itself. A text crosses carriers
// and lands on lock screens: it names the patient by first name only, as
// the dispenser's own texts do, and never a medication.

func backText(firstName string) string {
	return fmt.Sprintf("Pillbox: %s's dispenser is back online.", firstName)
}

func silentText(firstName string, lastSeen time.Time) string {
	return fmt.Sprintf("Pillbox: %s's dispenser has not checked in since %s UTC. Please check that it is powered and online.",
		firstName, lastSeen.UTC().Format("Jan 2 15:04"))
}

// MarkSilent marks the enabled devices last heard at or before cutoff as
// silent, queues one text to each of their patients' caregivers and
// audits each, in one transaction. It returns how many went silent.
func (s *Service) MarkSilent(ctx context.Context, cutoff time.Time) (int, error) {
	at := s.Now()
	n, err := s.Store.MarkSilent(ctx, cutoff, at, func(d SilentDevice) (CaregiverText, Entry) {
		return CaregiverText{Reason: ReasonSilent, Body: silentText(d.FirstName, d.LastSeen), At: at},
			s.entry(System, "device.silent", d.PatientID, d.ID, "")
	})
	if err != nil {
		return 0, fmt.Errorf("clinic: mark silent: %w", err)
	}
	return n, nil
}
