import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { SessionsRepository } from './sessions.repository';

/**
 * Deletes sessions that expired, went idle past SESSION_IDLE_TIMEOUT_SECONDS,
 * or were revoked, more than SESSION_RETENTION_SECONDS ago; every
 * SESSION_CLEANUP_INTERVAL_SECONDS.
 * Every instance runs it; the DELETE is idempotent, so overlapping runs only
 * repeat work. Audit events keep the history of deleted sessions.
 */
@Injectable()
export class SessionCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionCleanupService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.run().catch(() => undefined), this.config.sessions.cleanupIntervalSeconds * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Delete stale sessions once and return how many went; a run already in progress is joined, not repeated. */
  run(): Promise<number> {
    this.running ??= this.deleteStale().finally(() => (this.running = null));
    return this.running;
  }

  private async deleteStale(): Promise<number> {
    const { retentionSeconds, idleTimeoutSeconds } = this.config.sessions;
    try {
      const count = await this.sessions.deleteStale(retentionSeconds, idleTimeoutSeconds);
      if (count > 0) this.logger.log(`Session cleanup deleted ${count} session(s) that ended over ${retentionSeconds} s ago`);
      else this.logger.debug('Session cleanup found nothing to delete');
      return count;
    } catch (error) {
      this.logger.warn(`Session cleanup failed, retrying at the next interval: ${(error as Error).message}`);
      throw error;
    }
  }
}
