package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Sink is the Sender without a provider: in sim mode, or when no
// credentials are configured, messages still go through the durable outbox
// and end here, where the simulator's viewer lists them from the outbox.
// Nothing leaves the device.
type Sink struct{}

var _ Sender = Sink{}

// Send accepts every message, as delivered, under a made-up SID.
func (Sink) Send(ctx context.Context, to, body string) (Sent, error) {
	if err := ctx.Err(); err != nil {
		return Sent{}, err
	}
	var b [16]byte
	rand.Read(b[:])
	return Sent{SID: "SM" + hex.EncodeToString(b[:]), Status: string(StatusDelivered)}, nil
}
