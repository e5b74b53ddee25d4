import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { Counter } from 'prom-client';
import { DataSource, EntityManager } from 'typeorm';

import { heldBackSuffix, LogThrottle } from '../common/log-throttle';
import { CACHE_EVICTIONS, CACHE_LOOKUPS, hotPathCounts } from '../metrics/metrics';
import { InvalidationChannelService } from './invalidation-channel.service';
import { VERSO_GUARD_OPTIONS } from '../verso-guard/verso-guard.options';
import type { ResolvedVersoGuardOptions } from '../verso-guard/verso-guard.options';
import { TokenStateCache } from './token-state.cache';
import { TokenStateRepository } from './token-state.repository';
import {
  Principal,
  SessionState,
  sessionKey,
  TokenClaims,
  TokenRejectedError,
  TokenStateUnavailableError,
  UserState,
  userKey,
} from './token-state.types';

/** Keys to evict after a revoking write. */
export interface Revocation {
  userIds?: string[];
  sessionIds?: string[];
}

/**
 * Decides whether a verified access token is still live, from cached session
 * and user state. The cache is used only while the invalidation channel is up;
 * otherwise every check reads the database.
 */
@Injectable()
export class TokenStateService {
  private readonly logger = new Logger(TokenStateService.name);
  // While the database is down every request fails its read; one line per interval is enough.
  private readonly logThrottle = new LogThrottle(10_000);
  private readonly sessions: TokenStateCache<SessionState>;
  private readonly users: TokenStateCache<UserState>;
  private readonly cacheEnabled: boolean;
  private readonly lookups: Record<'miss' | 'bypass', Counter>;
  private readonly readTimeoutMs: number;
  private readonly dataSource: DataSource | undefined;

  constructor(
    @Inject(VERSO_GUARD_OPTIONS) options: ResolvedVersoGuardOptions,
    private readonly repository: TokenStateRepository,
    private readonly channel: InvalidationChannelService,
    @InjectMetric(CACHE_LOOKUPS) lookups: Counter<'result'>,
    @InjectMetric(CACHE_EVICTIONS) evictions: Counter<'cause'>,
  ) {
    const cacheOptions = {
      maxEntries: options.cache.maxEntries,
      ttlMs: options.cache.ttlMs,
      onEvict: (cause: string, count: number) => evictions.labels(cause).inc(count),
    };
    this.sessions = new TokenStateCache(cacheOptions);
    this.users = new TokenStateCache(cacheOptions);
    this.cacheEnabled = options.cache.enabled && options.cache.ttlMs > 0;
    this.readTimeoutMs = options.database.queryTimeoutMs;
    this.dataSource = options.dataSource;
    // Hits are counted in hotPathCounts, because nearly every lookup is one.
    this.lookups = { miss: lookups.labels('miss'), bypass: lookups.labels('bypass') } as Record<'miss' | 'bypass', Counter>;

    channel.onInvalidation((keys) => this.evict(keys));
    // Messages may have been missed while the channel was down, so nothing
    // cached before the reconnect can be trusted.
    channel.onStateChange((state) => {
      if (state !== 'up') return;
      this.sessions.clear();
      this.users.clear();
    });
  }

  get cachedEntries(): number {
    return this.sessions.size + this.users.size;
  }

  /**
   * Return the principal of a token whose signature and claims are already
   * verified, or throw TokenRejectedError when its session or version is no
   * longer live, or TokenStateUnavailableError when the state cannot be read.
   */
  async check(claims: TokenClaims): Promise<Principal> {
    // Both entries cached is the common case, so it is decided without the
    // async reads and Promise.all below. Taking those on every request cost
    // an estimated 2 to 3 µs more CPU per request on a shared 2-core machine.
    const cached = this.lookupBoth(claims);
    if (cached) return assertLive(claims, cached.session, cached.user);

    const [session, user] = await Promise.all([this.loadSession(claims.sid), this.loadUser(claims.sub)]);
    return assertLive(claims, session, user);
  }

  /**
   * Run a revoking write in one transaction with its invalidation messages.
   * `work` returns its result and the keys it revoked; the messages go out
   * only if the transaction commits. This instance evicts at once after the
   * commit, so it never serves the old state, even before its own message
   * comes back.
   */
  async revoke<T>(work: (manager: EntityManager) => Promise<{ result: T; revocation: Revocation }>): Promise<T> {
    if (!this.dataSource) throw new Error('TokenStateService.revoke needs the dataSource option of VersoGuardModule');

    let revocation: Revocation = {};
    const result = await this.dataSource.transaction(async (manager) => {
      const outcome = await work(manager);
      revocation = outcome.revocation;
      const keys = toKeys(revocation);
      if (keys.length > 0) await this.channel.publish(manager, keys);
      return outcome.result;
    });
    this.evict(toKeys(revocation));
    return result;
  }

  /** Evict the entries named by invalidation keys (`s:<session id>`, `u:<user id>`). */
  private evict(keys: string[]): void {
    const sessionIds: string[] = [];
    const userIds: string[] = [];
    for (const key of keys) {
      if (key.startsWith('s:')) sessionIds.push(key.slice(2));
      else if (key.startsWith('u:')) userIds.push(key.slice(2));
    }
    if (sessionIds.length > 0) this.sessions.invalidate(sessionIds);
    if (userIds.length > 0) this.users.invalidate(userIds);
  }

  /** Look up both states in the cache; null when either is missing or the cache is not in use. */
  private lookupBoth(claims: TokenClaims): { session: SessionState | null; user: UserState | null } | null {
    if (!this.cacheEnabled || !this.channel.isUp) return null;

    // Each cache is keyed by the bare id, because building a prefixed key
    // would allocate and hash a new string on every request.
    const session = this.sessions.lookup(claims.sid);
    if (!session) return null;
    const user = this.users.lookup(claims.sub);
    if (!user) return null;

    hotPathCounts.cacheHits += 2;
    return { session: session.value, user: user.value };
  }

  private loadSession(sessionId: string): Promise<SessionState | null> {
    return this.read(this.sessions, 'session', sessionId, () => this.repository.findSessionState(sessionId));
  }

  private loadUser(userId: string): Promise<UserState | null> {
    return this.read(this.users, 'user', userId, () => this.repository.findUserState(userId));
  }

  private async read<T>(cache: TokenStateCache<T>, kind: 'session' | 'user', id: string, load: () => Promise<T | null>): Promise<T | null> {
    try {
      if (!this.cacheEnabled || !this.channel.isUp) {
        this.lookups.bypass.inc();
        return await this.withDeadline(load());
      }

      const cached = cache.lookup(id);
      if (cached) {
        hotPathCounts.cacheHits++;
        return cached.value;
      }
      this.lookups.miss.inc();
      return await this.withDeadline(cache.load(id, load));
    } catch (error) {
      const heldBack = this.logThrottle.take('read');
      if (heldBack !== null) this.logger.error(`Token state read failed for ${kind} ${id}: ${(error as Error).message}${heldBackSuffix(heldBack)}`);
      throw new TokenStateUnavailableError(error);
    }
  }

  /**
   * Bound a read as a whole. When the database hangs, the wait for a pool
   * connection (up to the connect timeout) and then for the query (up to the
   * query timeout) could add up to more than two seconds. So the guard returns
   * 503 at this deadline instead. A read that finishes later still fills the cache.
   */
  private withDeadline<T>(read: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`token state read timed out after ${this.readTimeoutMs} ms`)), this.readTimeoutMs);
    });
    return Promise.race([read, deadline]).finally(() => clearTimeout(timer));
  }
}

/** Return the principal if the session and user state let the token through, or throw TokenRejectedError with the reason. */
function assertLive(claims: TokenClaims, session: SessionState | null, user: UserState | null): Principal {
  if (!session) throw new TokenRejectedError('session_not_found');
  if (session.userId !== claims.sub) throw new TokenRejectedError('session_owner_mismatch');
  if (session.revoked) throw new TokenRejectedError('session_revoked');

  const now = Date.now();
  if (session.expiresAtMs <= now) throw new TokenRejectedError('session_expired');
  if (!user) throw new TokenRejectedError('user_not_found');
  if (user.tokenVersion !== claims.ver) throw new TokenRejectedError('version_mismatch');
  if (user.lockedAtMs !== null && (user.lockedUntilMs === null || user.lockedUntilMs > now)) {
    throw new TokenRejectedError('user_locked');
  }

  return { userId: claims.sub, sessionId: claims.sid, role: user.role };
}

function toKeys({ userIds = [], sessionIds = [] }: Revocation): string[] {
  return [...userIds.map(userKey), ...sessionIds.map(sessionKey)];
}
