package main

import (
	"context"
	"fmt"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
)

// wireInsights wires what the dispenser learns of the patient
// (docs/insights.md): the coach, which the controller asks for each
// dose's first chime and heads-up prompt and which learns from the log on
// its own timers; the personal-baseline warnings of the vitals monitor;
// and GET /api/insights. It runs after the components (it needs the
// vitals monitor) and before the controller is built (which takes the
// coach).
func wireInsights(ctx context.Context, r *running) error {
	cfg := coach.Config{}
	if r.file.Insights != nil {
		cfg = *r.file.Insights
	}
	c := coach.New(coach.Options{Config: cfg, Clock: r.clock, Store: insightStore{r.store, r.events}, Plan: r.plan,
		Setup:      report.Setup{Location: r.loc, Medications: r.file.Medications, Regimens: r.file.Regimens},
		Escalation: r.file.Escalation.Escalation, Contacts: r.file.Contacts, Patient: r.file.Patient, Logger: r.log})
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("insights: %w", err)
	}
	r.coach = c
	r.closers = append(r.closers, func() error { c.Stop(); return nil })
	r.onCommit = append(r.onCommit, c.OnCommit)
	if cfg.BaselinesOn() && r.vitals != nil {
		if err := r.vitals.WatchBaselines(ctx, r.loc); err != nil {
			return fmt.Errorf("insights: %w", err)
		}
	}
	r.routes["GET /api/insights"] = httpapi.Insights(func(ctx context.Context, days int) (any, error) {
		return c.Report(ctx, days)
	}, coach.MaxDays, r.log)
	return nil
}

// insightStore is the store the coach reads, appending through the
// publishing log so that its events reach the notifier.
type insightStore struct {
	*adherence.Store
	log *publishingLog
}

func (s insightStore) Append(ctx context.Context, evs ...dispenser.Event) ([]dispenser.Event, error) {
	return s.log.Append(ctx, evs...)
}
