package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/pillbox/pillbox/cmd/internal/secret"
	"github.com/pillbox/pillbox/dispenser/httpapi/simapi"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/notify/twilio"
	"github.com/pillbox/pillbox/notify/twilio/twilioconf"
)

// twilioHTTP, when set, carries the Twilio client's requests: tests point
// it at the stand-in (twilio-go's base URL cannot be changed).
var twilioHTTP *http.Client

// wireNotify wires the notifier (alerts from the event log, their
// escalation ladders, the SMS outbox and its sender), its inbound side
// (Twilio's webhooks, or in sim mode the outbox viewer and a reply box),
// and the storage alarm, which texts through the same sender when the log
// cannot be written. It returns the notifier for the metrics.
func wireNotify(ctx context.Context, r *running) (*notify.Notifier, error) {
	sender, hook, err := newSender(r)
	if err != nil {
		return nil, err
	}
	counts := map[int]int{}
	for _, c := range r.file.Compartments {
		counts[c.ID] = c.Count
	}
	n, err := notify.New(notify.Config{
		Clock: r.clock, Store: r.store, Sender: sender, Escalation: r.file.Escalation.Escalation,
		Patient: r.file.Patient, Location: r.loc, Contacts: r.file.Contacts, Medications: r.file.Medications,
		Plan: r.plan, Counts: counts, Logger: r.log,
		// The notifier's own events reach every subscriber, as if they had
		// gone through r.events: it commits them with its outbox rows.
		Publish: r.events.publish,
		Faults:  r.ctrl,
		Display: r.ctrl,
		Trusted: func(ctx context.Context) bool {
			st, err := r.ctrl.Status(ctx)
			return err == nil && st.ClockTrusted
		},
	})
	if err != nil {
		return nil, err
	}
	r.events.subscribe(n.Observe)
	if r.settler != nil {
		r.settler.Add(n.Settle)
	}
	r.services = append(r.services, func(ctx context.Context) error {
		// Start once the dose loop has reconciled the time the device was
		// off, so the first pass sees those missed doses together and sends
		// one summary instead of the ladders they interrupted.
		if _, err := r.ctrl.Status(ctx); err != nil {
			<-ctx.Done()
			return nil
		}
		return n.Run(ctx)
	})
	if hook != nil {
		wh, err := twilio.NewWebhook(hook.token, hook.publicURL, n.HandleReply, n.HandleStatus)
		if err != nil {
			return nil, err
		}
		wh.OnCall(twilio.CallHandlers{Status: n.HandleCallStatus, Digits: n.HandleDigits})
		if err := serveWebhooks(r, hook.listen, wh); err != nil {
			return nil, err
		}
	}
	var noted func(to, body string, at time.Time)
	if r.opts.sim {
		names := map[string]string{}
		for _, c := range r.file.Contacts {
			names[c.Phone] = c.Name
		}
		v := simapi.NewSMS(n, r.clock, ourNumber(r.file.Escalation.Twilio), names)
		noted = v.Note
		r.mount(v.Routes())
	}
	alarm := notify.NewStorageAlarm(sender, r.clock, r.file.Patient, r.file.Contacts, r.log, noted)
	r.events.failed, r.events.saved = alarm.Failed, alarm.Saved
	r.services = append(r.services, alarm.Run)
	return n, nil
}

// noToken is the sender while the Twilio auth token is missing: every
// send fails as retryable, so texts wait in the outbox.
type noToken struct{ err error }

var (
	_ notify.Sender = noToken{}
	_ notify.Caller = noToken{}
)

func (s noToken) Send(context.Context, string, string) (notify.Sent, error) {
	return notify.Sent{}, s.err
}

func (s noToken) Call(context.Context, string, notify.Call) (notify.Sent, error) {
	return notify.Sent{}, s.err
}

// webhookConfig is what the inbound webhook needs.
type webhookConfig struct{ token, publicURL, listen string }

// serveWebhooks gives Twilio's webhooks their own listener, which serves
// them and nothing else: whoever opens public_url to the Internet opens
// only these signed routes (texts and calls), never the local API.
func serveWebhooks(r *running, addr string, wh http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("twilio webhooks: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+twilioconf.SMSPath, wh)
	mux.Handle("POST "+twilioconf.StatusPath, wh)
	mux.Handle("POST "+twilioconf.CallStatusPath, wh)
	mux.Handle("POST "+twilioconf.GatherPath, wh)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)}
	r.closers = append(r.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	r.services = append(r.services, func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		r.log.Info("notify: Twilio webhooks listen here; forward /twilio/ of public_url to it", "listen", "http://"+ln.Addr().String())
		select {
		case err := <-done:
			return fmt.Errorf("twilio webhooks: %w", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
			<-done
			return nil
		}
	})
	return nil
}

// newSender returns Twilio's sender when escalation.twilio is configured
// (and, with --sim, in_sim is set), else the local sink; and the webhook's
// settings when Twilio can reach us.
func newSender(r *running) (notify.Sender, *webhookConfig, error) {
	tw := r.file.Escalation.Twilio
	switch {
	case tw == nil && !r.opts.sim:
		r.log.Warn("notify: no escalation.twilio section: texts stay in the local outbox and reach nobody")
		return notify.Sink{}, nil, nil
	case tw == nil || r.opts.sim && !tw.InSim:
		return notify.Sink{}, nil, nil
	}
	token, err := authToken(tw, r)
	if err != nil {
		// Texts cannot go out, but pills must: the daemon starts, keeps
		// every text queued in the outbox (sent once a token is installed
		// and the daemon restarted) and says so on the display and in the
		// log, instead of refusing to run.
		r.log.Error("notify: texts are held in the outbox until the Twilio auth token is installed", "err", err)
		r.services = append(r.services, func(ctx context.Context) error {
			if _, err := r.ctrl.Status(ctx); err == nil {
				if err := r.ctrl.SetFault(ctx, "sms-token", strings.Split(r.file.Patient.Locale().Text("screen.texts_not_set_up", nil), "\n")...); err != nil {
					r.log.Error("notify: cannot show a fault on the device", "err", err)
				}
			}
			<-ctx.Done()
			return nil
		})
		return noToken{err}, nil, nil
	}
	cfg := twilio.Config{AccountSID: tw.AccountSID, AuthToken: token, From: tw.From,
		MessagingServiceSID: tw.MessagingServiceSID, HTTPClient: twilioHTTP}
	var hook *webhookConfig
	if tw.PublicURL != "" {
		base := strings.TrimSuffix(tw.PublicURL, "/")
		cfg.StatusCallback = base + twilioconf.StatusPath
		cfg.CallStatusCallback, cfg.CallGather = base+twilioconf.CallStatusPath, base+twilioconf.GatherPath
		hook = &webhookConfig{token: token, publicURL: base, listen: tw.WebhookListen()}
	} else {
		r.log.Warn("notify: no escalation.twilio.public_url: replies (OK, STOP) and delivery statuses will not be received")
	}
	s, err := twilio.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	return s, hook, nil
}

// authToken reads the Twilio auth token from auth_token_file, or else from
// TWILIO_AUTH_TOKEN. It is never in the config file, never logged.
func authToken(tw *twilioconf.Section, r *running) (string, error) {
	if tw.AuthTokenFile == "" {
		if t := strings.TrimSpace(os.Getenv("TWILIO_AUTH_TOKEN")); t != "" {
			return t, nil
		}
		return "", errors.New("no Twilio auth token: set escalation.twilio.auth_token_file or the TWILIO_AUTH_TOKEN environment variable")
	}
	t, perm, err := secret.Read(tw.AuthTokenFile, 1024)
	if err != nil {
		return "", fmt.Errorf("Twilio auth token: %w", err)
	}
	if perm&0o077 != 0 {
		r.log.Warn("notify: the Twilio auth token file is readable by others; chmod 600 it", "file", tw.AuthTokenFile)
	}
	if t == "" {
		return "", fmt.Errorf("Twilio auth token file %s is empty", tw.AuthTokenFile)
	}
	return t, nil
}

func ourNumber(tw *twilioconf.Section) string {
	if tw != nil && tw.From != "" {
		return tw.From
	}
	return "+15005550006" // Twilio's magic test number: a plausible "to" for the simulator
}
