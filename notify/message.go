package notify

// The inbound side as the notifier sees it, whatever the provider: a
// provider's webhook (package twilio's, or the simulator's reply box)
// turns what it received into these and calls HandleReply or HandleStatus.

// InboundSMS is a text message someone sent to our number.
// From and Body are PHI: never log them.
type InboundSMS struct {
	// MessageSID is the provider's id of the message; a webhook delivered
	// twice (a retry, a replay) carries the same one.
	MessageSID string
	From       string // sender, E.164
	To         string // our number
	Body       string
	Reply      Reply // ParseReply(Body)
}

// MessageStatus is a sent message's delivery state.
type MessageStatus string

// The delivery states. They are Twilio's names, which other providers'
// states map onto.
const (
	StatusAccepted           MessageStatus = "accepted"
	StatusScheduled          MessageStatus = "scheduled"
	StatusCanceled           MessageStatus = "canceled"
	StatusQueued             MessageStatus = "queued"
	StatusSending            MessageStatus = "sending"
	StatusSent               MessageStatus = "sent"
	StatusFailed             MessageStatus = "failed"
	StatusDelivered          MessageStatus = "delivered"
	StatusUndelivered        MessageStatus = "undelivered"
	StatusReceiving          MessageStatus = "receiving"
	StatusReceived           MessageStatus = "received"
	StatusRead               MessageStatus = "read"
	StatusPartiallyDelivered MessageStatus = "partially_delivered"
)

// Final reports whether no later status will follow: the message reached
// the phone (delivered, read) or never will (undelivered, failed, canceled).
func (s MessageStatus) Final() bool {
	switch s {
	case StatusDelivered, StatusRead, StatusUndelivered, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Known reports whether s is one of the states above; a webhook refuses
// any other.
func (s MessageStatus) Known() bool {
	switch s {
	case StatusAccepted, StatusScheduled, StatusCanceled, StatusQueued, StatusSending, StatusSent,
		StatusFailed, StatusDelivered, StatusUndelivered, StatusReceiving, StatusReceived, StatusRead,
		StatusPartiallyDelivered:
		return true
	}
	return false
}

// StatusUpdate is a delivery status report for a message we sent.
type StatusUpdate struct {
	MessageSID string
	Status     MessageStatus
	// ErrorCode is the provider's delivery error (Twilio's 30003
	// unreachable, 30005 unknown number, 30007 carrier filtering, ...), 0
	// when none.
	ErrorCode int
}
