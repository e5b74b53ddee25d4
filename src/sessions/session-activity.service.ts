import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { SessionsRepository } from './sessions.repository';

// last_used_at is kept to the minute, so one write per session and minute is enough.
const FLUSH_INTERVAL_MS = 60_000;
// Ids per UPDATE, to keep each statement's parameter array small.
const FLUSH_BATCH_SIZE = 1000;

/**
 * Records which sessions made requests and writes their last_used_at in the
 * background. The token guard only adds an id to a Set, so the check itself
 * never writes to the database. The repository touches a row at most once a
 * minute. If the process dies, the activity of the last interval is lost,
 * which can end an idle timeout up to one interval early.
 */
@Injectable()
export class SessionActivityService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionActivityService.name);
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sessions: SessionsRepository) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Note a request by this session; called on the guard's path, so it does no I/O. */
  record(sessionId: string): void {
    this.pending.add(sessionId);
  }

  /** Write the recorded activity; a failed batch is logged and dropped, since the next request records it again. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;

    const ids = [...this.pending];
    this.pending = new Set();
    for (let start = 0; start < ids.length; start += FLUSH_BATCH_SIZE) {
      const batch = ids.slice(start, start + FLUSH_BATCH_SIZE);
      try {
        await this.sessions.touch(batch);
      } catch (error) {
        this.logger.warn(`Recording activity of ${batch.length} session(s) failed: ${(error as Error).message}`);
      }
    }
  }
}
