// Package managerapproval is the manager approval factor: the person's
// manager (the directory's manager attribute) gets a link to approve or
// deny the request, and the approval counts as a factor.
//
// Never the only factor and never the first (NotFirst): the approval only
// adds to a factor the person proved, so neither a manager nor a stranger
// who makes a manager click can take an account over with it alone.
//
// Challenge returns a Delivery on Channel with the manager's DN and a
// token: HMAC-SHA256-signed, carrying a random challenge ID, the
// manager's DN and an expiry. The caller looks the manager's mail address
// up and sends the links from Links through the outbox. The manager's
// click reaches Decide, which checks the token, spends it (single-use,
// through Config.Used) and returns a signed decision; the person's Verify
// takes that decision, which must name this challenge's ID and is itself
// single-use. Approve proves the factor; deny, expiry, a decision for
// another request or a second use never do.
//
// The prompt is the same for everybody and names nobody. A person
// without a manager gets factor.ErrNotAvailable from Challenge (the caller
// issues a decoy); decoys send nothing and never verify.
package managerapproval
