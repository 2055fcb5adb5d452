/**
 * This build's version; the installed helper and its clients compare theirs (a test keeps it equal to package.json's).
 */
export const APP_VERSION = "0.1.0";
