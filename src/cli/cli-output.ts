/**
 * Results go to stdout, so a script can read them. Notices about the database
 * in use go to stderr, next to errors.
 */
export function printResult(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printNotice(line: string): void {
  process.stderr.write(`${line}\n`);
}
