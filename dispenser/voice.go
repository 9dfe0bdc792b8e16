package dispenser

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw"
	"github.com/pillbox/pillbox/internal/i18n"
)

// voice hands the spoken prompts to the board's speaker from a goroutine
// of its own: hw.Speaker promises that Say never waits for audio, but the
// dose loop does not stake a dispense on a driver keeping that promise.
// Only the newest prompt waits to be handed over; one the speaker has not
// taken yet is replaced, as the speaker itself replaces a queued one.
type voice struct {
	spk  hw.Speaker
	lang string
	log  *slog.Logger
	next chan utterance // holds at most the newest prompt
}

// utterance is a prompt for the speaker; stop silences what it is saying
// first (the button was pressed).
type utterance struct {
	text string
	stop bool
}

func newVoice(spk hw.Speaker, lang string, log *slog.Logger) *voice {
	if spk == nil {
		return nil
	}
	return &voice{spk: spk, lang: lang, log: log, next: make(chan utterance, 1)}
}

// send queues u without waiting, replacing a prompt not yet handed over
// (keeping its stop). Only the controller's goroutine sends.
func (v *voice) send(u utterance) {
	if v == nil {
		return
	}
	for {
		select {
		case v.next <- u:
			return
		default:
		}
		select {
		case old := <-v.next:
			u.stop = u.stop || old.stop
		default:
		}
	}
}

// run hands prompts to the speaker until ctx ends. A failure to speak is
// a fault of the speaker, logged when it starts and when it changes, and
// never reaches the dose loop.
func (v *voice) run(ctx context.Context) {
	var failing string
	for {
		var u utterance
		select {
		case u = <-v.next:
		case <-ctx.Done():
			return
		}
		if u.stop {
			v.spk.Stop()
		}
		if u.text == "" {
			continue
		}
		err := v.spk.Say(ctx, u.text, v.lang)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != failing:
			failing = err.Error()
			v.log.Error("dispenser: speaker fault: prompt not spoken", "err", err)
		case err == nil && failing != "":
			failing = ""
			v.log.Info("dispenser: speaker takes prompts again")
		}
	}
}

// sayEvent speaks what a committed event means to the patient, where
// the patient can act on it: a dose missed while the patient was near
// (not one found missed after the device was off), a dispense the device
// cannot account for.
func (c *Controller) sayEvent(ev Event) {
	switch {
	case ev.Kind == KindMissed && ev.Detail != "reconciled":
		c.say("missed", i18n.Args{"time": c.spokenClock(ev.Scheduled)})
	case ev.Kind == KindUncertain:
		c.say("check_cup", nil)
	}
}

// lines is a screen message of the patient's language, one string a line.
func (c *Controller) lines(id string, args i18n.Args) []string {
	return strings.Split(c.cfg.Language.Text("screen."+id, args), "\n")
}

// say speaks a prompt of the patient's language.
func (c *Controller) say(id string, args i18n.Args) {
	c.voice.send(utterance{text: c.cfg.Language.Text("speech."+id, args)})
}

// hush silences the speaker: the patient pressed the button.
func (c *Controller) hush() { c.voice.send(utterance{stop: true}) }

// spokenClock is a time of day as the speaker reads it, in the patient's
// zone.
func (c *Controller) spokenClock(t time.Time) string {
	return c.cfg.Language.SpokenClock(t.In(c.cfg.Location), c.cfg.ClockStyle)
}
