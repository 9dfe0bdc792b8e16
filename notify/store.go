package notify

import (
	"context"
	"strconv"
	"time"

	"github.com/pillbox/pillbox/dispenser"
)

// Store is the notifier's durable state, kept in the device's database
// (adherence.Store implements it). The notifier reads the event log through
// it and writes everything it decides in one ApplyNotifier transaction per
// decision, so that a crash leaves either all of a decision or none of it.
type Store interface {
	// Since and LastOfKinds read the event log, as dispenser.Log does.
	Since(ctx context.Context, seq int64, limit int) ([]dispenser.Event, error)
	LastOfKinds(ctx context.Context, compartment int, kinds ...dispenser.Kind) (dispenser.Event, bool, error)

	// LoadNotifier returns the cursor, every alert not closed and every
	// number's SMS state.
	LoadNotifier(ctx context.Context) (Snapshot, error)
	// ApplyNotifier commits b in one transaction and returns b.Events as
	// stored (Seq and ID assigned).
	ApplyNotifier(ctx context.Context, b Batch) ([]dispenser.Event, error)
	// PendingMessages returns the messages queued or being sent, highest
	// priority first, then oldest first.
	PendingMessages(ctx context.Context) ([]Message, error)
	// MessagesSince returns the messages created at or after t, oldest first.
	MessagesSince(ctx context.Context, t time.Time) ([]Message, error)
	// MessageBySID finds a sent message by the provider's id.
	MessageBySID(ctx context.Context, sid string) (Message, bool, error)
	// AcksSince returns who acknowledged each alert acknowledged at or
	// after t, by alert ID (closed alerts too).
	AcksSince(ctx context.Context, t time.Time) (map[int64]string, error)
	// WebhookSeen reports whether a webhook with this id was remembered
	// (Batch.Webhooks) at or after since.
	WebhookSeen(ctx context.Context, id string, since time.Time) (bool, error)
}

// Snapshot is the notifier's state as stored.
type Snapshot struct {
	// Cursor is the Seq of the last event the notifier has acted on.
	Cursor  int64
	Alerts  []Alert // every alert not closed
	Numbers []Number
	// MaxAlertID and MaxMessageID are the highest ids ever stored: the
	// notifier, the only writer of new rows, numbers new ones after them.
	MaxAlertID, MaxMessageID int64
}

// Batch is one decision of the notifier, committed atomically.
type Batch struct {
	// Cursor, when not 0, becomes the stored cursor: the events up to it
	// are acted on exactly when the alerts and messages they caused are
	// stored.
	Cursor   int64
	Alerts   []Alert   // inserted or replaced, by ID
	Messages []Message // new messages
	Outcomes []Outcome // changes to existing messages
	Numbers  []Number  // inserted or replaced, by phone
	Events   []dispenser.Event
	// Webhooks are the webhooks acted on, remembered with the decision
	// they caused so that a replay of one is ignored; remembered ids from
	// before ForgetWebhooks are dropped.
	Webhooks       []WebhookID
	ForgetWebhooks time.Time
}

// WebhookID is one webhook acted on: an inbound message's MessageSid, or
// a status callback's MessageSid and status.
type WebhookID struct {
	ID string
	At time.Time
}

// Priority is an alert's urgency, in the spirit of IEC 60601-1-8.
type Priority int

const (
	// Low waits for the daily digest and for quiet hours to end.
	Low Priority = iota + 1
	// Medium climbs the ladder; quiet hours hold it.
	Medium
	// High climbs the ladder without the patient's steps, through quiet
	// hours and rate limits.
	High
)

func (p Priority) String() string {
	switch p {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "Priority(" + strconv.Itoa(int(p)) + ")"
}

// ParsePriority reads "low", "medium" or "high".
func ParsePriority(s string) (Priority, bool) {
	for _, p := range []Priority{Low, Medium, High} {
		if s == p.String() {
			return p, true
		}
	}
	return 0, false
}

// Condition is what an alert is about; it picks the text.
type Condition string

const (
	CondDue       Condition = "due"        // a dose is due and not dispensed yet
	CondMissed    Condition = "missed"     // a dose's window closed
	CondNotTaken  Condition = "not_taken"  // dispensed, left in the cup
	CondUncertain Condition = "uncertain"  // interrupted dispense
	CondJam       Condition = "jam"        // a compartment jammed
	CondEmpty     Condition = "empty"      // a compartment cannot fill the next dose
	CondLowSupply Condition = "low_supply" // a compartment runs out soon
	CondFault     Condition = "fault"      // the dispenser reports a fault
	CondSummary   Condition = "summary"    // several doses missed at once
	CondGeneric   Condition = "generic"    // an alert event with its own text (vitals)
	// CondEpisode groups the open missed-dose alerts of the patient that
	// overlap in time: one ladder, one code, one text for all of them
	// (see episode.go).
	CondEpisode Condition = "episode"
)

// Alert is one condition that a person should hear about. At most one alert
// that is not closed exists per Key: a repeat of its condition does not
// raise a second one (it may raise its priority).
type Alert struct {
	ID   int64
	Key  string // condition key: "dose:<dose id>", "jam:<compartment>", "supply:<compartment>", ...
	Code string // short code a reply can quote
	What Condition
	// Priority is the highest the condition has reached.
	Priority Priority
	Opened   time.Time
	// Base is the time the ladder's offsets count from.
	Base time.Time
	// Step is how many ladder steps are done (sent or skipped).
	Step int
	// SentStep is the index of the last step sent, -1 before any.
	SentStep int
	StepAt   time.Time // when SentStep was sent
	// Notified is when a message about the alert was last queued; zero
	// after a priority rise, which makes a repeat due at once.
	Notified time.Time
	// Repeats counts the re-notifications of the last step.
	Repeats int
	AckedBy string // role of the person who acknowledged it
	AckedAt time.Time
	Closed  time.Time
	Reason  string // why it closed: "resolved", "summarised", "expired"
	Facts   Facts
}

// Facts are what an alert's text says.
type Facts struct {
	DoseID      string    `json:"dose,omitempty"`
	Medication  string    `json:"med,omitempty"`
	Scheduled   time.Time `json:"scheduled,omitzero"`
	Compartment int       `json:"compartment,omitempty"`
	At          time.Time `json:"at,omitzero"`       // when it happened
	Left        int       `json:"left,omitempty"`    // pills left
	RunOut      time.Time `json:"run_out,omitzero"`  // when the supply runs out
	Text        string    `json:"text,omitempty"`    // generic alerts and faults
	Count       int       `json:"count,omitempty"`   // summary: doses
	Until       time.Time `json:"until,omitzero"`    // summary: the last dose's scheduled time
	Offline     bool      `json:"offline,omitempty"` // summary: doses reconciled after a power-off or a clock jump
	// Episode is, on a dose alert, the ID of the episode it belongs to
	// (0: none yet); the episode's ladder tells the caregivers about it.
	Episode int64 `json:"episode,omitempty"`
	// News is, on an episode, when a dose joined it that the caregivers
	// already texted have not heard of: the next text is due then.
	News time.Time `json:"news,omitzero"`
	// MoveOn is when a call about the alert ended unanswered (no answer,
	// busy, voicemail, no key pressed): the ladder's next step is due then
	// instead of at its time.
	MoveOn time.Time `json:"move_on,omitzero"`
}

// acked reports whether someone acknowledged the alert.
func (a *Alert) acked() bool { return !a.AckedAt.IsZero() }

// MessageState is where a message is in the outbox.
type MessageState string

const (
	MsgQueued   MessageState = "queued"   // committed, not handed to the provider yet
	MsgSending  MessageState = "sending"  // committed as being handed over; a crash now may send it twice
	MsgSent     MessageState = "sent"     // the provider accepted it
	MsgFailed   MessageState = "failed"   // the provider refused it for good
	MsgCanceled MessageState = "canceled" // no longer needed, never sent
)

// Channel is how a message reaches its recipient.
type Channel string

const (
	ChannelSMS  Channel = ""     // a text message (the default: rows from before calls read as texts)
	ChannelCall Channel = "call" // a voice call that speaks Body and asks for a key press
)

// Message is one SMS, or one voice call, in the outbox.
type Message struct {
	ID       int64
	Created  time.Time
	To       string // role: "patient", "caregiver1", ...
	Phone    string // E.164; never logged
	Body     string // the text, or what a call says; never logged
	Channel  Channel
	Priority Priority
	Alerts   []int64  // the alerts it is about
	Codes    []string // their codes
	Why      string   // "step", "renotify", "rise", "join", "digest", "resolved"
	State    MessageState
	Attempts int
	NextTry  time.Time
	SID      string
	Status   string // the provider's last delivery status
	Error    string // the last failure, safe to log
	Updated  time.Time
}

// Outcome changes an existing message. An empty State or Status leaves
// that column as it is.
type Outcome struct {
	ID       int64
	State    MessageState
	Attempts int
	NextTry  time.Time
	SID      string
	Error    string
	Status   string
	Updated  time.Time
}

// Number is what the notifier remembers about a phone number.
type Number struct {
	Phone    string
	OptedOut time.Time // zero unless it replied STOP
	Helped   time.Time // when a reply from it last got the help text unasked, or from a stranger at all
}
