// Package brand turns an operator's branding (colours, logo, favicon) into
// what the portal, the mails and the admin console serve, without a rebuild:
// colours are checked as CSS colours and against each other for WCAG AA
// contrast, then written as CSS custom properties into a generated
// stylesheet (the strict Content-Security-Policy allows no inline styles);
// images are read once from the configured files, capped in size, and
// recognised by their content, and SVG images are refused unless they are
// plain drawings (no scripts, event handlers, foreign objects, external
// references or entity declarations), since an SVG is a document that can
// run code when opened on its own.
//
// It sits with config at the bottom layer because config validates branding
// with the same checks the portal relies on when serving it.
package brand
