// Package admin is the admin console at /admin: server-rendered pages that
// work without JavaScript, under the same strict Content-Security-Policy as
// the portal (no inline script or style; charts are SVG drawn on the
// server with presentation attributes only).
//
// Every route is declared once in the route table (Routes) with the roles
// that may open it; the table is what the server checks, and what the
// tests walk for every role. A console page is recorded in the audit log
// (admin.* events) before it is served. The console is a face: it calls
// flow.Admin and nothing below it.
package admin
