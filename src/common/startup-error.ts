/**
 * Error for a start that cannot go on because of something the operator must
 * fix, such as the configuration or the database. main.ts logs only its
 * message, without a stack trace, because the message states what to do.
 */
export class StartupError extends Error {}
