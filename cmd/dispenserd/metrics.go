package main

import (
	"context"

	"github.com/pillbox/pillbox/adherence/uplink"
	"github.com/pillbox/pillbox/dispenser/metrics"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// maxUnacked bounds the events a scrape counts as not yet acknowledged:
// beyond it the clinic is months behind and the count adds nothing.
const maxUnacked = 10000

// wireMetrics wires GET /metrics (dispenser/metrics), behind the API's
// door like every route: it counts the log's commits and times them, and
// reads the controller, the outbox, the notifier and the sync at each
// scrape. p is nil without a sync: section.
func wireMetrics(r *running, n *notify.Notifier, p *uplink.Pusher) {
	src := metrics.Sources{
		ClockTrusted: func(ctx context.Context) (bool, error) {
			st, err := r.ctrl.Status(ctx)
			return st.ClockTrusted, err
		},
		Outbox: func(ctx context.Context) (int, error) {
			ms, err := r.store.PendingMessages(ctx)
			return len(ms), err
		},
		OpenAlerts: n.OpenAlerts,
		// The sync's lag is on real time, as its retries are.
		Clock: schedule.NewRealClock(), Logger: r.log,
	}
	if p != nil {
		src.Sync = func(ctx context.Context) (metrics.Sync, error) {
			st := p.Status()
			s := metrics.Sync{LastAck: st.LastSuccess, Unacked: -1}
			if st.AckedSeq < 0 {
				return s, nil
			}
			evs, err := r.store.Since(ctx, st.AckedSeq, maxUnacked)
			s.Unacked = len(evs)
			return s, err
		}
	}
	m := metrics.New(src)
	r.events.subscribe(m.Observe)
	r.events.took = m.Committed
	r.routes["GET /metrics"] = m
}
