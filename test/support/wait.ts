/**
 * Call `probe` every `intervalMs` until `done` accepts its result or
 * `timeoutMs` has passed. Returns the last result and when it arrived, so a
 * test can assert on both.
 */
export async function pollUntil<T>(
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
