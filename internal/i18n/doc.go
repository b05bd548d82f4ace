// Package i18n is sspr's message catalogue: every text a person reads (pages,
// API messages, mails) is looked up here by a stable message ID, in the
// language the browser asks for (Accept-Language) or the configured default.
//
// Catalogues are flat JSON files under locales/, one per language; adding a
// language is adding a file. Placeholders are written {name} and filled from
// key/value arguments. Two forms make a text agree with a number:
// {n|one|other} picks a word ("{minutes} {minutes|minute|minutes}"), and
// {n:a} writes the number after its English article ("{digits:a}-digit
// code": "an 8-digit code"). A message missing from a language falls back to
// English, and a message missing from English is shown as its ID so the gap
// is visible rather than silent.
//
// Built in are en, de, fr, es, it, nl, pt (Brazilian Portuguese, as CLDR's
// plain "pt") and pl. Operators add or reword languages with a folder of
// <tag>.json files (LoadWith, dir.go), checked with the same CheckMessage
// the built-in catalogues pass in their tests.
package i18n
