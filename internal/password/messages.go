package password

// Messages returns the English and German texts (and, from
// messages_i18n.go, those of the portal's other built-in languages) of every message ID the
// engine emits (Check.MessageID, Result.Warnings, and the strength-meter
// labels password.strength.0 … password.strength.4), as lang → id → text
// with {name} placeholders filled from Check.Args. They are written as
// checklist items that read well both before typing and as the reason for a
// refusal. The i18n catalogue merges them; the map is rebuilt on each call so
// callers may modify it.
func Messages() map[string]map[string]string {
	m := map[string]map[string]string{
		"en": {
			"password.check.length.min":         "At least {min} characters",
			"password.check.length.max":         "At most {max} characters",
			"password.check.class.upper":        "At least one capital letter",
			"password.check.class.lower":        "At least one small letter",
			"password.check.class.letter":       "At least one letter",
			"password.check.class.digit":        "At least one digit",
			"password.check.class.symbol":       "At least one symbol or space (such as ! ? # or -)",
			"password.check.class.other":        "At least one letter of a script without capitals (such as Chinese or Arabic)",
			"password.check.class.minof":        "Characters of at least {n} of these {m} kinds:",
			"password.check.class.item.upper":   "capital letters",
			"password.check.class.item.lower":   "small letters",
			"password.check.class.item.letter":  "letters",
			"password.check.class.item.digit":   "digits",
			"password.check.class.item.symbol":  "symbols or spaces",
			"password.check.class.item.other":   "letters of scripts without capitals",
			"password.check.passphrase":         "Or choose a passphrase of {min} or more characters: then the kinds of characters don't matter",
			"password.check.context":            "Does not contain your username or parts of your name",
			"password.check.banned":             "Does not contain a word that is banned here",
			"password.check.common":             "Is not a commonly used password",
			"password.check.sequence":           "No run of {min} or more keys or letters in a row (such as qwer, abcd or 1234)",
			"password.check.repeat":             "No character {min} or more times in a row (such as aaaa)",
			"password.check.palindrome":         "Does not read the same backwards",
			"password.check.regex.match":        "Matches your organisation's password pattern",
			"password.check.regex.mismatch":     "Does not match a pattern your organisation forbids",
			"password.check.strength":           "Hard enough to guess (strength at least {min} of 4)",
			"password.check.breach":             "Has not appeared in a known data breach",
			"password.check.breach.unavailable": "We could not check this password against known data breaches just now. Please try again in a moment.",
			"password.check.charset":            "Contains no control characters (such as tabs or line breaks)",
			"password.check.history":            "Is not one of your last {count} passwords",
			"password.warning.breach_unchecked": "The password could not be checked against known data breaches.",
			"password.strength.0":               "Very weak",
			"password.strength.1":               "Weak",
			"password.strength.2":               "Fair",
			"password.strength.3":               "Good",
			"password.strength.4":               "Strong",
		},
		"de": {
			"password.check.length.min":         "Mindestens {min} Zeichen",
			"password.check.length.max":         "Höchstens {max} Zeichen",
			"password.check.class.upper":        "Mindestens ein Großbuchstabe",
			"password.check.class.lower":        "Mindestens ein Kleinbuchstabe",
			"password.check.class.letter":       "Mindestens ein Buchstabe",
			"password.check.class.digit":        "Mindestens eine Ziffer",
			"password.check.class.symbol":       "Mindestens ein Sonderzeichen oder Leerzeichen (etwa ! ? # oder -)",
			"password.check.class.other":        "Mindestens ein Buchstabe einer Schrift ohne Großbuchstaben (etwa Chinesisch oder Arabisch)",
			"password.check.class.minof":        "Zeichen aus mindestens {n} dieser {m} Gruppen:",
			"password.check.class.item.upper":   "Großbuchstaben",
			"password.check.class.item.lower":   "Kleinbuchstaben",
			"password.check.class.item.letter":  "Buchstaben",
			"password.check.class.item.digit":   "Ziffern",
			"password.check.class.item.symbol":  "Sonderzeichen oder Leerzeichen",
			"password.check.class.item.other":   "Buchstaben von Schriften ohne Großbuchstaben",
			"password.check.passphrase":         "Oder eine Passphrase aus {min} oder mehr Zeichen wählen: dann ist die Art der Zeichen egal",
			"password.check.context":            "Enthält weder Ihren Benutzernamen noch Teile Ihres Namens",
			"password.check.banned":             "Enthält kein hier verbotenes Wort",
			"password.check.common":             "Ist kein häufig verwendetes Passwort",
			"password.check.sequence":           "Keine Folge von {min} oder mehr Tasten oder Buchstaben (etwa qwer, abcd oder 1234)",
			"password.check.repeat":             "Kein Zeichen {min}-mal oder öfter hintereinander (etwa aaaa)",
			"password.check.palindrome":         "Liest sich rückwärts nicht gleich",
			"password.check.regex.match":        "Entspricht dem Passwortmuster Ihrer Organisation",
			"password.check.regex.mismatch":     "Entspricht keinem Muster, das Ihre Organisation verbietet",
			"password.check.strength":           "Schwer genug zu erraten (Stärke mindestens {min} von 4)",
			"password.check.breach":             "Ist in keinem bekannten Datenleck aufgetaucht",
			"password.check.breach.unavailable": "Wir konnten das Passwort gerade nicht mit bekannten Datenlecks abgleichen. Bitte versuchen Sie es gleich noch einmal.",
			"password.check.charset":            "Enthält keine Steuerzeichen (etwa Tabulatoren oder Zeilenumbrüche)",
			"password.check.history":            "Ist keines Ihrer letzten {count} Passwörter",
			"password.warning.breach_unchecked": "Das Passwort konnte nicht mit bekannten Datenlecks abgeglichen werden.",
			"password.strength.0":               "Sehr schwach",
			"password.strength.1":               "Schwach",
			"password.strength.2":               "Mittel",
			"password.strength.3":               "Gut",
			"password.strength.4":               "Stark",
		},
	}
	for lang, msgs := range moreMessages() {
		m[lang] = msgs
	}
	return m
}
