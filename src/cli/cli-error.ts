/** A failure the operator can act on: the CLI prints its message alone and exits with code 1. */
export class CliError extends Error {}
