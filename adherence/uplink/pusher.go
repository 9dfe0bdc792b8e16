package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pillbox/pillbox/dispenser"
	"github.com/pillbox/pillbox/hw/vital"
	"github.com/pillbox/pillbox/notify"
	"github.com/pillbox/pillbox/schedule"
)

// Source is the device's event log (adherence.Store).
type Source interface {
	Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error)
	DeviceID() string
}

// ReadingSource is a log of vitals readings with sequence numbers of their
// own. The Pusher sends readings when Options.Readings is set; dispenserd
// sets it when its store has this method.
type ReadingSource interface {
	ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error)
}

// Options configure a Pusher.
type Options struct {
	// BaseURL is the clinic service's base URL (Config.URL).
	BaseURL  string
	Device   string // Config.Device
	Token    string // the device token; never logged
	Source   Source
	Readings ReadingSource // nil: no readings to send
	// Clock runs the heartbeat and backoff timers and stamps heartbeats;
	// dispenserd gives it the real clock even in sim mode, since network
	// retries have nothing to do with the simulated day.
	Clock  schedule.Clock
	Client *http.Client // nil: a client with a 30 s timeout
	Logger *slog.Logger // nil: discard

	Interval   time.Duration // heartbeat period; 0: DefaultInterval
	Batch      int           // events per request; 0: DefaultBatch
	MinBackoff time.Duration // first retry after about this; 0: 5s
	MaxBackoff time.Duration // retries at most this far apart; 0: 10m
	Software   string        // version string in heartbeats
	// Profile, when set, rides on every heartbeat (see Profile).
	Profile *Profile
	Rand    func() float64
}

// Status is what the Pusher last knew, for the device's own API.
type Status struct {
	Device          string    `json:"device"`
	AckedSeq        int64     `json:"acked_seq"` // -1 until the server answered once
	AckedReadingSeq int64     `json:"acked_reading_seq"`
	LastSuccess     time.Time `json:"last_success,omitzero"`
	LastError       string    `json:"last_error,omitempty"`
	Failures        int       `json:"failures"` // consecutive
	// TokenExpires is when the clinic says the device token ends.
	TokenExpires time.Time `json:"token_expires,omitzero"`
}

// TokenWarning is how long before its token ends the device starts to
// warn in its log.
const TokenWarning = 30 * 24 * time.Hour

// Pusher sends the device's log to the clinic service. Create it with
// NewPusher, call Run on its own goroutine and Nudge after each commit.
type Pusher struct {
	o        Options
	endpoint string
	nudge    chan struct{}
	tick     chan struct{}

	mu       sync.Mutex
	status   Status
	known    bool // acked values came from the server
	batch    int  // current events per request; halved on 413
	failures int
	warned   time.Time // the token end last warned about
}

// ErrRejected wraps a 4xx answer other than 429: the server will not take
// this batch as it is (bad token, wrong device, malformed batch), so the
// Pusher keeps retrying at its longest interval until an operator fixes it.
var ErrRejected = errors.New("uplink: server rejected the batch")

// NewPusher checks o and returns a Pusher.
func NewPusher(o Options) (*Pusher, error) {
	if err := checkURL(o.BaseURL); err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if err := checkID(o.Device); err != nil {
		return nil, fmt.Errorf("uplink: device: %w", err)
	}
	switch {
	case o.Token == "":
		return nil, errors.New("uplink: no device token")
	case o.Source == nil || o.Clock == nil:
		return nil, errors.New("uplink: Source and Clock are required")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Batch <= 0 || o.Batch > MaxEvents {
		o.Batch = DefaultBatch
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Minute, o.MinBackoff)
	}
	return &Pusher{
		o:        o,
		endpoint: strings.TrimRight(o.BaseURL, "/") + Path,
		nudge:    make(chan struct{}, 1),
		tick:     make(chan struct{}, 1),
		status:   Status{Device: o.Device, AckedSeq: -1, AckedReadingSeq: -1},
		batch:    o.Batch,
	}, nil
}

// Nudge tells the Pusher there is something new to send. It never blocks:
// the dose loop calls it after each commit.
func (p *Pusher) Nudge() {
	select {
	case p.nudge <- struct{}{}:
	default:
	}
}

// Status returns a copy of the current status.
func (p *Pusher) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Run pushes until ctx ends, then returns nil. It pushes at once, after
// each Nudge (unless it is waiting out a failure: a nudge does not cut a
// backoff short) and every Interval; a failed push is retried with
// Backoff.
func (p *Pusher) Run(ctx context.Context) error {
	var timer schedule.Timer
	arm := func(d time.Duration) {
		if timer != nil {
			timer.Stop()
		}
		timer = p.o.Clock.AfterFunc(d, func() {
			select {
			case p.tick <- struct{}{}:
			default:
			}
		})
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		err := p.PushOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			arm(p.retryDelay(err))
		} else {
			arm(p.o.Interval)
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return nil
			case <-p.tick:
				waiting = false
			case <-p.nudge:
				waiting = err != nil
			}
		}
	}
}

func (p *Pusher) retryDelay(err error) time.Duration {
	p.mu.Lock()
	n := p.failures
	p.mu.Unlock()
	if errors.Is(err, ErrRejected) {
		return p.o.MaxBackoff
	}
	// Full jitter may pick a wait near zero; the floor keeps a failing
	// device from retrying in a tight loop.
	return max(notify.Backoff(n-1, p.o.MinBackoff, p.o.MaxBackoff, p.o.Rand), p.o.MinBackoff/2)
}

// PushOnce sends everything the server has not acknowledged, in batches,
// with a heartbeat on each request (a heartbeat alone when there is
// nothing new). Run calls it; tests may call it directly.
func (p *Pusher) PushOnce(ctx context.Context) error {
	err := p.pushAll(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if p.failures == 0 && ctx.Err() == nil {
			p.o.Logger.Warn("uplink: push failed; the dispenser keeps working and will retry", "err", err)
		}
		p.failures++
		p.status.Failures = p.failures
		p.status.LastError = err.Error()
		return err
	}
	if p.failures > 0 {
		p.o.Logger.Info("uplink: push succeeded again", "after_failures", p.failures)
	}
	p.failures = 0
	p.status.Failures = 0
	p.status.LastError = ""
	p.status.LastSuccess = p.o.Clock.Now()
	return nil
}

func (p *Pusher) pushAll(ctx context.Context) error {
	if !p.isKnown() {
		// Learn where the server stands before sending anything.
		if err := p.post(ctx, nil, nil); err != nil {
			return err
		}
	}
	for first := true; ; first = false {
		p.mu.Lock()
		seq, rseq, limit := p.status.AckedSeq, p.status.AckedReadingSeq, p.batch
		p.mu.Unlock()
		evs, err := p.o.Source.Since(ctx, seq, limit)
		if err != nil {
			return fmt.Errorf("uplink: read log: %w", err)
		}
		var rds []vital.Reading
		if p.o.Readings != nil {
			if rds, err = p.o.Readings.ReadingsSince(ctx, rseq, limit); err != nil {
				return fmt.Errorf("uplink: read readings: %w", err)
			}
		}
		if len(evs) == 0 && len(rds) == 0 && !first {
			return nil
		}
		if err := p.post(ctx, evs, rds); err != nil {
			return err
		}
		p.mu.Lock()
		advanced := p.status.AckedSeq > seq || p.status.AckedReadingSeq > rseq
		p.mu.Unlock()
		if (len(evs) > 0 || len(rds) > 0) && !advanced {
			// Resending the same batch would get the same answer.
			return errors.New("uplink: the server stored the batch but did not advance its acknowledgement")
		}
		if len(evs) < limit && len(rds) < limit {
			return nil
		}
	}
}

func (p *Pusher) isKnown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.known
}

// post sends one batch and records the server's acknowledgement.
func (p *Pusher) post(ctx context.Context, evs []dispenser.Event, rds []vital.Reading) error {
	b := Batch{Version: Version, Device: p.o.Device, Log: p.o.Source.DeviceID(),
		Events: make([]Event, len(evs)), Readings: make([]Reading, len(rds))}
	for i, ev := range evs {
		b.Events[i] = FromEvent(ev)
	}
	for i, r := range rds {
		b.Readings[i] = FromReading(r)
	}
	b.Heartbeat = Heartbeat{Time: p.o.Clock.Now().UTC(), UptimeSeconds: int64(p.o.Clock.Monotonic() / time.Second),
		Software: p.o.Software, Profile: p.o.Profile}
	p.mu.Lock()
	b.Heartbeat.LastSeq, b.Heartbeat.LastReadingSeq = max(p.status.AckedSeq, 0), max(p.status.AckedReadingSeq, 0)
	p.mu.Unlock()
	if len(evs) > 0 {
		b.Heartbeat.LastSeq = evs[len(evs)-1].Seq
	}
	if len(rds) > 0 {
		b.Heartbeat.LastReadingSeq = rds[len(rds)-1].Seq
	}
	body, err := json.Marshal(&b)
	if err != nil {
		return fmt.Errorf("uplink: encode batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("uplink: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.o.Token)
	resp, err := p.o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("uplink: post: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("uplink: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return p.failed(resp.StatusCode, answer, len(evs))
	}
	var ack Ack
	if err := json.Unmarshal(answer, &ack); err != nil || ack.Version != Version || ack.AckedSeq < 0 || ack.AckedReadingSeq < 0 {
		return fmt.Errorf("uplink: answer is not a version %d acknowledgement", Version)
	}
	p.mu.Lock()
	p.known = true
	p.status.AckedSeq, p.status.AckedReadingSeq = ack.AckedSeq, ack.AckedReadingSeq
	p.status.TokenExpires = ack.TokenExpires
	warn := !ack.TokenExpires.IsZero() && ack.TokenExpires.Sub(p.o.Clock.Now()) < TokenWarning && !ack.TokenExpires.Equal(p.warned)
	if warn {
		p.warned = ack.TokenExpires
	}
	p.mu.Unlock()
	if warn {
		p.o.Logger.Warn("uplink: the device token ends soon; sync stops then: rotate it (pillctl clinic device rotate) and put the new one in the token file",
			"expires", ack.TokenExpires.UTC().Format(time.RFC3339))
	}
	return nil
}

func (p *Pusher) failed(status int, answer []byte, sent int) error {
	var eb ErrorBody
	msg := http.StatusText(status)
	if json.Unmarshal(answer, &eb) == nil && eb.Error != "" {
		msg = eb.Error
	}
	if status == http.StatusRequestEntityTooLarge && sent > 1 {
		p.mu.Lock()
		p.batch = max(1, sent/2)
		p.mu.Unlock()
		return fmt.Errorf("uplink: server answered %d (%s); sending %d events per request from now on", status, msg, max(1, sent/2))
	}
	if status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
		return fmt.Errorf("%w: %d: %s", ErrRejected, status, msg)
	}
	return fmt.Errorf("uplink: server answered %d: %s", status, msg)
}
