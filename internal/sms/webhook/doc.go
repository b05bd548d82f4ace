// Package webhook sends text messages through a generic HTTP gateway that
// the configuration describes: URL, method, headers (which may carry
// secrets), a body template, the content type, and a success rule (the
// status codes that mean "accepted", optionally a JSON field or regular
// expression the answer must match).
//
// The URL and the body are Go text/template templates over Data:
//
//	{"to": {{json .To}}, "text": {{json .Body}}}
//	to={{query .To}}&text={{query .Body}}
//	https://gw.example.net/send?dest={{query .Digits}}&msg={{query .Body}}
//
// json writes a JSON string literal (quotes included), so a message body
// cannot break out of its field; query URL-encodes for a query string or a
// form body; path escapes a URL path segment.
package webhook
