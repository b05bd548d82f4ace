// Package google is the Google Workspace sync target: it sets a user's
// password with the Admin SDK Directory API (users.update, PUT
// admin/directory/v1/users/{userKey}), sending it hashed as the API
// allows (hashFunction "crypt" with a salted SHA-512 crypt by default, or
// "SHA-1"), authenticated as a service account with domain-wide
// delegation (an RFC 7523 JWT bearer grant whose sub is an admin).
package google
