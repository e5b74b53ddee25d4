import { LRUCache } from 'lru-cache';

interface Entry<T> {
  value: T | null;
}

/** A read in flight for one key, shared by every concurrent miss on that key. */
interface PendingLoad<T> {
  promise: Promise<T | null>;
  // Set when the key is invalidated while the read runs: its result may
  // predate the revocation, so it is handed to its callers but never stored.
  stale: boolean;
}

export type EvictionCause = 'invalidation' | 'clear' | 'capacity' | 'ttl';

export interface TokenStateCacheOptions {
  maxEntries: number;
  ttlMs: number;
  onEvict?: (cause: EvictionCause, count: number) => void;
  /** A monotonic clock in milliseconds; tests pass their own. */
  now?: () => number;
}

/**
 * A bounded, time-limited cache of token state with the properties the guard
 * relies on:
 *
 * - Concurrent misses for one key share one load.
 * - A load that was running when its key was invalidated (or the cache was
 *   cleared) is returned to its callers but never stored. So a read that
 *   started before a revocation committed cannot put the pre-revocation state
 *   back after the eviction. The mark is per key, so revocations of other
 *   users cost this key nothing.
 * - An entry's age counts from the start of the read that produced it, so no
 *   entry is served more than ttlMs after the database was read.
 */
export class TokenStateCache<T> {
  private readonly entries: LRUCache<string, Entry<T>>;
  private readonly pending = new Map<string, PendingLoad<T>>();
  private readonly now: () => number;

  constructor(private readonly options: TokenStateCacheOptions) {
    this.now = options.now ?? (() => performance.now());
    this.entries = new LRUCache<string, Entry<T>>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      perf: { now: this.now },
      // With an injected clock, read it on every check instead of caching it for a millisecond.
      ttlResolution: options.now ? 0 : 1,
      // Expired entries are dropped on read, so a lookup never returns one.
      ttlAutopurge: false,
      updateAgeOnGet: false,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') options.onEvict?.('capacity', 1);
        else if (reason === 'expire') options.onEvict?.('ttl', 1);
      },
    });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Return the cached entry for key, or undefined on a miss. */
  lookup(key: string): Entry<T> | undefined {
    return this.entries.get(key);
  }

  /** Load the value for key, joining a load already in flight, and store it unless an invalidation raced it. */
  load(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const running = this.pending.get(key);
    if (running) return running.promise;

    const startedAt = this.now();
    const pending: PendingLoad<T> = { promise: undefined as unknown as Promise<T | null>, stale: false };
    pending.promise = load().then(
      (value) => {
        if (this.pending.get(key) === pending) this.pending.delete(key);
        if (!pending.stale) this.entries.set(key, { value }, { start: startedAt });
        return value;
      },
      (error: unknown) => {
        if (this.pending.get(key) === pending) this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, pending);
    return pending.promise;
  }

  /**
   * Drop the keys and detach any load in flight for them, so that the next
   * caller starts a fresh read instead of joining one that may predate the
   * revocation.
   */
  invalidate(keys: Iterable<string>): void {
    let removed = 0;
    for (const key of keys) {
      const running = this.pending.get(key);
      if (running) {
        running.stale = true;
        this.pending.delete(key);
      }
      if (this.entries.delete(key)) removed++;
    }
    if (removed > 0) this.options.onEvict?.('invalidation', removed);
  }

  /** Drop everything, including loads in flight, for example after the invalidation channel was down. */
  clear(): void {
    for (const running of this.pending.values()) running.stale = true;
    this.pending.clear();
    const removed = this.entries.size;
    this.entries.clear();
    if (removed > 0) this.options.onEvict?.('clear', removed);
  }
}
