// Package cron parses five-field cron expressions (minute hour
// day-of-month month day-of-week, with ranges, steps, lists, names and
// the @daily-style macros) and computes their next run in a time zone.
// It sits in the platform layer so that config validation can check a
// schedule with the same parser the job runner uses.
package cron
