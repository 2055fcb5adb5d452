/**
 * The one CSP of every window: served as a header by the app:// protocol and
 * repeated in index.html (a test keeps the two equal). No inline script, no
 * eval, no network: the UI talks to main only through the preload.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
