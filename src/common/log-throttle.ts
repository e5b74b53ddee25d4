/**
 * Lets one log line per key through per interval and counts the ones held
 * back, so that an outage writes a line every few seconds instead of one per
 * request.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { openedAt: number; heldBack: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Return null when a line for this key was let through less than an
   * interval ago, or else how many lines were held back since that one.
   */
  take(key: string): number | null {
    const now = this.now();
    const window = this.windows.get(key);
    if (window && now - window.openedAt < this.intervalMs) {
      window.heldBack++;
      return null;
    }

    this.windows.set(key, { openedAt: now, heldBack: 0 });
    return window?.heldBack ?? 0;
  }

  /** Forget a key, so that its next line goes through at once (after a recovery, say). */
  reset(key: string): void {
    this.windows.delete(key);
  }
}

/** " (N similar lines held back)" for a count above zero, else nothing. */
export function heldBackSuffix(count: number): string {
  return count > 0 ? ` (${count} similar ${count === 1 ? 'line' : 'lines'} held back)` : '';
}
