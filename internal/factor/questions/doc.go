// Package questions is the security-question factor: the person answers
// questions at enrollment and some of them again to recover.
//
// It is off unless an administrator turns it on, and it is never enough on
// its own. NIST SP 800-63B-4 forbids knowledge-based questions as
// authenticators: answers are often public, guessable or shared. Some
// organisations still want them as an additional signal next to a real
// factor, so this package hardens them as far as they go and declares the
// limit: Factor.SoleFactorAllowed returns false, and the policy layer must
// refuse any policy in which security questions alone (or together only with
// other knowledge factors) can satisfy a verification. The factor cannot
// enforce that itself, because it does not see the policy.
//
// Questions are defined by the administrator (Config.Questions, each with a
// stable ID) and, when Config.AllowUserDefined is set, written by the person.
// Enrollment needs Config.Required answers (3 by default), each at least
// Config.MinAnswerLength characters after normalisation, all different and
// none equal to the login. A challenge asks Config.Ask of them (2 by
// default), chosen with crypto/rand, and every asked answer must be right.
// Because a new challenge may ask other questions, an attacker who knows some
// answers could ask again until only those come up: the flow's caps on
// challenges per person bound that, and asking all enrolled questions
// (Ask = Required) removes it.
//
// Answers are normalised before hashing and checking, so that a person need
// not remember how they typed them: Unicode NFKC (full-width and compatibility
// forms), case folding ("Straße" = "STRASSE"), dashes read as spaces, other
// punctuation removed ("O'Brien" = "OBrien"), runs of white space collapsed
// to one space, and the ends trimmed. Each answer is stored as Argon2id
// (OWASP's minimum cost by default) with its own random salt.
//
// Form fields: the answer to question ID is "answer.ID"; a user-defined
// question N (1, 2, ...) is "custom.N.question" with its answer in
// "custom.N.answer", and is asked back under the ID "custom.N".
package questions
