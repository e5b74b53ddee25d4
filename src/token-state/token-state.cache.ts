import { LRUCache } from 'lru-cache';

interface Entry<T> {
  value: T | null;
}

export type EvictionCause = 'invalidation' | 'clear' | 'capacity' | 'ttl';

export interface TokenStateCacheOptions {
  maxEntries: number;
  ttlMs: number;
  onEvict?: (cause: EvictionCause, count: number) => void;
}

/**
 * A bounded, time-limited cache of token state with two properties the guard
 * relies on:
 *
 * - Concurrent misses for one key share one load.
 * - A load that was running when any key was invalidated is returned to its
 *   callers but never stored, so a read that started before a revocation
 *   committed cannot put the pre-revocation state back after the eviction.
 *   The check is on a global generation instead of per key: an invalidation
 *   storm only costs extra reads, and correctness needs no bookkeeping per key.
 */
export class TokenStateCache<T> {
  private readonly entries: LRUCache<string, Entry<T>>;
  private readonly pending = new Map<string, Promise<T | null>>();
  private generation = 0;

  constructor(private readonly options: TokenStateCacheOptions) {
    this.entries = new LRUCache<string, Entry<T>>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Expired entries are dropped on read, so a lookup never sees one.
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
    if (running) return running;

    const startGeneration = this.generation;
    const promise = load().then(
      (value) => {
        if (this.pending.get(key) === promise) this.pending.delete(key);
        if (this.generation === startGeneration) this.entries.set(key, { value });
        return value;
      },
      (error: unknown) => {
        if (this.pending.get(key) === promise) this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, promise);
    return promise;
  }

  /**
   * Drop the keys and detach any load in flight for them, so that the next
   * caller starts a fresh read instead of joining one that may predate the
   * revocation.
   */
  invalidate(keys: Iterable<string>): void {
    this.generation++;
    let removed = 0;
    for (const key of keys) {
      this.pending.delete(key);
      if (this.entries.has(key)) {
        this.entries.delete(key);
        removed++;
      }
    }
    if (removed > 0) this.options.onEvict?.('invalidation', removed);
  }

  /** Drop everything, for example after the invalidation channel was down. */
  clear(): void {
    this.generation++;
    this.pending.clear();
    const removed = this.entries.size;
    this.entries.clear();
    if (removed > 0) this.options.onEvict?.('clear', removed);
  }
}
