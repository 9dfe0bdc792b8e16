// Package uplink owns the sync between a dispenser and the clinic service:
// the versioned wire format of a batch (events, readings and a heartbeat)
// and of the server's acknowledgement, its strict decoder, the `sync:`
// section of the dispenser's config, and the Pusher, the device-side
// store-and-forward client.
//
// The protocol, in one paragraph: the device POSTs a Batch as JSON to
// {url}/api/v1/sync with its device token as a Bearer token. A batch holds
// the events (and readings) after the last sequence number the server
// acknowledged, in sequence order, and a heartbeat. The server stores them
// idempotently (a (device, event id) pair is stored once, whatever is
// resent) and answers with an Ack naming the highest sequence number up to
// which it holds every event, contiguously; the device resumes from there.
// The device keeps nothing about the server on disk: its first request after
// a start is a heartbeat whose answer says where to resume. The dispenser
// never waits on the server: the Pusher runs on its own goroutine, woken by
// commits and by its own timer, and backs off with jitter while the server
// is unreachable.
package uplink
