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
