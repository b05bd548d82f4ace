// Package jobs runs sspr's scheduled work (enrollment reminders,
// reconfirmation, password-expiry notices, scheduled reports) on
// cron-style schedules, once across every process sharing the database.
//
// A job is a name, a Schedule and a function. The Runner looks at each job
// on every tick of its (injected) clock: when the schedule's next time
// after the last finished run has come, it takes the job's lease in the
// store (one UPDATE decides between racing processes), runs the function
// for that schedule slot, and records the slot as done. A process that
// dies mid-run leaves its lease to run out; the next runner then takes
// the job again and runs the same slot. The functions record what they
// sent per person and slot in the transaction that queues the message
// (store.RecordJobSend), so a resumed run sends only the rest.
package jobs
