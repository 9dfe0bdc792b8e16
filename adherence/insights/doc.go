// Package insights owns what is learned from one patient's own record:
// the missed-dose risk of each coming dose with its reasons in words, the
// adaptive first-reminder time, the heads-up plan, and the personal
// baselines of vital signs with their early warnings.
//
// It is pure: histories and readings in, risks, reminders, baselines and
// warnings out. It does no I/O, has no clock of its own (every function
// takes the time it reasons "as of") and no randomness, so the same input
// always gives the same output. It imports nothing of this project: the
// device store, the clinic store and the cohort generator feed it through
// its own small input types (Dose, History, Reading), converted by
// adapters (package fromlog for the event log).
//
// Safety (docs/insights.md): what is learned may move a first reminder
// inside the dose window, up to the escalation's first step, and may add
// prompts, heads-ups and low-priority warnings. Nothing here can widen a
// window, relax an as-needed limit, delay an escalation or remove a
// clinical alert: the types it returns carry no window, no limit, no
// ladder and no threshold to change, and the tests hold the bounds of what
// they do carry.
package insights
