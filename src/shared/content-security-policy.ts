/**
 * The one CSP of every window: served as a header by the app:// protocol and
 * repeated in index.html (a test keeps the two equal). No inline script, no
 * eval, no network: the UI talks to main only through the preload.
 */
const DIRECTIVES = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
];

export const CONTENT_SECURITY_POLICY = DIRECTIVES.join("; ");

/** Browsers ignore (and warn about) frame-ancestors in a <meta> CSP; the header carries it. */
export const CONTENT_SECURITY_POLICY_META = DIRECTIVES.filter((d) => !d.startsWith("frame-ancestors")).join("; ");
