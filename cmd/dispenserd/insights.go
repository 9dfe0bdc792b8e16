package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/pillbox/pillbox/adherence"
	"github.com/pillbox/pillbox/adherence/insights/coach"
	"github.com/pillbox/pillbox/adherence/report"
	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
)

// newCoach starts what the dispenser learns of the patient
// (docs/insights.md): the coach, which the controller asks for each dose's
// first chime and heads-up prompt and which learns from the log on its
// own timers. It runs before the controller is built, which takes it.
func newCoach(ctx context.Context, r *running) error {
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
	r.events.subscribe(c.OnCommit)
	return nil
}

// wireInsights wires the rest of what is learned, once the vitals monitor
// exists: its personal-baseline warnings, and GET /api/insights.
func wireInsights(ctx context.Context, r *running) error {
	cfg := coach.Config{}
	if r.file.Insights != nil {
		cfg = *r.file.Insights
	}
	c := r.coach
	if cfg.BaselinesOn() && r.vitals != nil {
		if err := r.vitals.WatchBaselines(ctx, r.loc); err != nil {
			return fmt.Errorf("insights: %w", err)
		}
	}
	r.mount(map[string]http.Handler{"GET /api/insights": httpapi.Insights(func(ctx context.Context, days int) (any, error) {
		return c.Report(ctx, days)
	}, coach.MaxDays, r.log)})
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
