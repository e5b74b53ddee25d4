/**
 * Repeat a request until it returns the expected status or the deadline
 * passes, and return the last status. For effects that cross processes,
 * such as an invalidation message, which arrive shortly after the write.
 */
export async function statusWithin(deadlineMs: number, request: () => Promise<number>, expected: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let status = await request();
  while (status !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    status = await request();
  }
  return status;
}
