// Package notify owns everything that reaches a person outside the device:
// escalation ladders, abnormal-vital rules, the durable SMS outbox, and
// what comes back (replies, delivery statuses) as any provider delivers
// it. The provider itself is an adapter package (notify/twilio): notify
// links no SMS SDK.
package notify

// Contact is one entry of the `contacts:` list.
type Contact struct {
	Name  string `yaml:"name"`  // how messages address them
	Phone string `yaml:"phone"` // E.164, e.g. "+15551234567"
	// Role is "patient" or "caregiver". Caregivers are escalated to in the
	// order they are listed.
	Role string `yaml:"role"`
	// Language is a BCP 47 tag ("es") for the texts this contact gets;
	// left out, the patient's language.
	Language string `yaml:"language"`
}
