/**
 * Call `attempt` until it returns a value other than undefined, at most until
 * the deadline. Returns the value and how long it took; throws on timeout.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number; what: string }): Promise<{ value: T; elapsedMs: number }> {
  const started = performance.now();
  for (;;) {
    const value = await attempt();
    const elapsedMs = performance.now() - started;
    if (value !== undefined) return { value, elapsedMs };
    if (elapsedMs > options.timeoutMs) throw new Error(`${options.what}: not within ${options.timeoutMs} ms`);
    if (options.intervalMs) await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/**
 * Call `probe` every `intervalMs` until `done` accepts its result or
 * `timeoutMs` has passed. Unlike pollUntil, it does not throw on timeout: it
 * returns the last result, when it arrived and whether `done` accepted it, so
 * a test can assert on all three.
 */
export async function pollUntilSatisfied<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs, intervalMs = 10 }: { timeoutMs: number; intervalMs?: number },
): Promise<{ value: T; elapsedMs: number; satisfied: boolean }> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    const elapsedMs = performance.now() - started;
    if (done(value)) return { value, elapsedMs, satisfied: true };
    if (elapsedMs >= timeoutMs) return { value, elapsedMs, satisfied: false };
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
