package main

import (
	"context"
	"crypto/rand"
	"net"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/dispenser/httpapi"
	"github.com/pillbox/pillbox/hw/sim/panel"
)

// streamBacklog is how far back a new stream client's log starts.
const streamBacklog = 24 * time.Hour

// backlogMax bounds that backlog, newest kept.
const backlogMax = 300

// wireStream wires the live stream (/api/stream), which serves every
// client of the API; in sim mode the browser panel comes with it, at /,
// with the simulated world's frames on the stream and the display's
// picture.
func wireStream(ctx context.Context, r *running) {
	hub := httpapi.NewHub()
	r.events.subscribe(hub.Publish)
	stream := &httpapi.Stream{
		Hub: hub, Log: r.events, Done: ctx.Done(), Logger: r.log, Instance: rand.Text(),
		Backlog: func(ctx context.Context) ([]dispenser.Event, error) {
			evs, err := r.events.SinceTime(ctx, r.clock.Now().Add(-streamBacklog))
			if len(evs) > backlogMax {
				evs = evs[len(evs)-backlogMax:]
			}
			return evs, err
		},
	}
	r.routes["GET /api/stream"] = stream
	if r.world == nil {
		return
	}
	p := panel.New(r.world, r.simClock, r.loc)
	stream.Sources = []httpapi.Source{{Name: "world", Read: p.FrameJSON}}
	r.mount(p.Routes())
	r.pages = panel.Pages
	// Said once the server listens, so the address is the real one.
	r.services = append(r.services, func(ctx context.Context) error {
		r.log.Info("panel: open the simulator in a browser", "url", panelURL(r.scheme(), r.listener.Addr()))
		<-ctx.Done()
		return nil
	})
}

// panelURL is the address a browser on this machine opens for the panel.
func panelURL(scheme string, addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
