// Package notify owns everything that reaches a person outside the device:
// escalation ladders, abnormal-vital rules, the durable SMS outbox, the
// Twilio sender and the inbound webhook.
package notify

// Contact is one entry of the `contacts:` list.
type Contact struct {
	Name  string `yaml:"name"`  // how messages address them
	Phone string `yaml:"phone"` // E.164, e.g. "+15551234567"
	// Role is "patient" or "caregiver". Caregivers are escalated to in the
	// order they are listed.
	Role string `yaml:"role"`
}
