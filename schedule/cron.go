package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronError is a cron expression the planner refuses, with what to do about it.
type cronError struct {
	msg, fix string
}

func (e *cronError) Error() string { return e.msg }

const cronExample = `"0 8,20 * * *" (08:00 and 20:00 every day)`

// cronFields describes the five standard fields for error messages.
var cronFields = [5]struct{ name, fix string }{
	{"minute", `use 0-59, e.g. "0" or "0,30" ("0 8 * * *" is 08:00 every day)`},
	{"hour", `use 0-23, e.g. "8" or "8,20" ("0 8,20 * * *" is 08:00 and 20:00)`},
	{"day of month", `use 1-31 or "*", e.g. "1,15" ("0 8 1,15 * *" is 08:00 on the 1st and 15th)`},
	{"month", `use 1-12, jan-dec or "*", e.g. "0 8 * jan-jun *"`},
	{"day of week", `use 0-6 or sun-sat (0 is Sunday) or "*", e.g. "0 8 * * mon-fri"`},
}

// parseCron parses a standard 5-field expression or a descriptor (@daily,
// @weekly, ...) into a schedule of naive wall times (see walltime.go). It
// refuses what is not a wall-clock schedule in the patient's zone: @every
// (an interval from whenever the daemon started) and CRON_TZ=/TZ= prefixes
// (the zone is set once, in patient.timezone).
func parseCron(spec string) (s *cron.SpecSchedule, err error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return nil, &cronError{"the schedule is empty", "write a cron expression such as " + cronExample}
	case strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ="):
		return nil, &cronError{"the schedule sets its own time zone",
			"remove the CRON_TZ=/TZ= prefix: every schedule is read in the patient's time zone (patient.timezone)"}
	case strings.HasPrefix(spec, "@every"):
		return nil, &cronError{"@every is an interval, not a time of day: it would count from whenever the device started",
			`give clock times instead, e.g. "0 */8 * * *" for 00:00, 08:00 and 16:00`}
	}
	// The parser has panicked on inputs before (CRON_TZ= without a space);
	// a bad schedule must never take the daemon down.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &cronError{fmt.Sprintf("the schedule %q cannot be read", spec), "write a cron expression such as " + cronExample}
		}
	}()
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, explainCron(spec, err)
	}
	ss, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, &cronError{fmt.Sprintf("the schedule %q is not a time-of-day schedule", spec), "write a cron expression such as " + cronExample}
	}
	// Evaluate on naive wall times, never in a zone with DST (see resolve).
	ss.Location = time.UTC
	return ss, nil
}

// explainCron turns the parser's error into one that names the field at fault.
func explainCron(spec string, perr error) error {
	if strings.HasPrefix(spec, "@") {
		return &cronError{fmt.Sprintf("unknown shortcut %q", spec),
			"use @daily, @weekly, @monthly, @yearly or @hourly, or five fields such as " + cronExample}
	}
	fields := strings.Fields(spec)
	if len(fields) != len(cronFields) {
		msg := fmt.Sprintf("the schedule %q has %d fields; it needs 5 (minute hour day-of-month month day-of-week)", spec, len(fields))
		if len(fields) == 6 {
			msg += "; a seconds field is not supported"
		}
		return &cronError{msg, "write five fields, e.g. " + cronExample}
	}
	// Find the first field the parser rejects on its own, the others wildcarded.
	for i, f := range fields {
		probe := []string{"*", "*", "*", "*", "*"}
		probe[i] = f
		if _, err := cron.ParseStandard(strings.Join(probe, " ")); err != nil {
			return &cronError{fmt.Sprintf("%s field %q is not valid", cronFields[i].name, f), cronFields[i].fix}
		}
	}
	return &cronError{fmt.Sprintf("the schedule %q is not valid: %v", spec, perr), "write a cron expression such as " + cronExample}
}

// asCronError extracts the message and fix of a parseCron error.
func asCronError(err error) (msg, fix string) {
	if ce, ok := errors.AsType[*cronError](err); ok {
		return ce.msg, ce.fix
	}
	return err.Error(), "write a cron expression such as " + cronExample
}
