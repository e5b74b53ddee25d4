import { EvictionCause, TokenStateCache } from './token-state.cache';

interface State {
  revoked: boolean;
}

const LIVE: State = { revoked: false };
const REVOKED: State = { revoked: true };

/** A database read that the test finishes by hand, to order it against invalidations. */
class HeldRead {
  readonly promise: Promise<State | null>;
  resolve!: (value: State | null) => void;
  reject!: (error: Error) => void;

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Create a loader that hands out held reads in call order and counts its calls. */
function heldLoader() {
  const reads: HeldRead[] = [];
  const load = jest.fn(() => {
    const read = new HeldRead();
    reads.push(read);
    return read.promise;
  });
  return { load, reads };
}

function makeCache(overrides: { maxEntries?: number; ttlMs?: number } = {}) {
  let clock = 1000;
  const evictions: Array<[EvictionCause, number]> = [];
  const cache = new TokenStateCache<State>({
    maxEntries: overrides.maxEntries ?? 100,
    ttlMs: overrides.ttlMs ?? 30_000,
    onEvict: (cause, count) => evictions.push([cause, count]),
    now: () => clock,
  });
  return { cache, evictions, advance: (ms: number) => (clock += ms) };
}

describe('TokenStateCache', () => {
  it('shares one read between concurrent misses', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const first = cache.load('s:1', load);
    const second = cache.load('s:1', load);
    reads[0].resolve(LIVE);

    await expect(Promise.all([first, second])).resolves.toEqual([LIVE, LIVE]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.lookup('s:1')).toEqual({ value: LIVE });
  });

  it('returns but never stores a raced read', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const racing = cache.load('s:1', load);
    cache.invalidate(['s:1']);
    reads[0].resolve(LIVE);

    await expect(racing).resolves.toEqual(LIVE);
    expect(cache.lookup('s:1')).toBeUndefined();
  });

  it('starts a fresh read after an invalidation', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const before = cache.load('s:1', load);
    cache.invalidate(['s:1']);
    const after = cache.load('s:1', load);

    expect(load).toHaveBeenCalledTimes(2);
    reads[1].resolve(REVOKED);
    await expect(after).resolves.toEqual(REVOKED);
    // The older read finishes last; it must not overwrite the newer state.
    reads[0].resolve(LIVE);
    await expect(before).resolves.toEqual(LIVE);
    expect(cache.lookup('s:1')).toEqual({ value: REVOKED });
  });

  it('keeps the newer read when the raced one finishes first', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const before = cache.load('s:1', load);
    cache.invalidate(['s:1']);
    const after = cache.load('s:1', load);
    reads[0].resolve(LIVE);
    await before;
    expect(cache.lookup('s:1')).toBeUndefined();

    reads[1].resolve(REVOKED);
    await after;
    expect(cache.lookup('s:1')).toEqual({ value: REVOKED });
  });

  it('stores a read whose own key stayed valid', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const read = cache.load('s:1', load);
    cache.invalidate(['s:2', 'u:9']);
    reads[0].resolve(LIVE);
    await read;

    expect(cache.lookup('s:1')).toEqual({ value: LIVE });
  });

  it('does not store a read raced by clear', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const read = cache.load('s:1', load);
    cache.clear();
    reads[0].resolve(LIVE);
    await read;

    expect(cache.lookup('s:1')).toBeUndefined();
  });

  it('evicts an invalidated entry and reports it', async () => {
    const { cache, evictions } = makeCache();
    await cache.load('s:1', async () => LIVE);
    await cache.load('s:2', async () => LIVE);

    cache.invalidate(['s:1', 's:3']);

    expect(cache.lookup('s:1')).toBeUndefined();
    expect(cache.lookup('s:2')).toEqual({ value: LIVE });
    expect(evictions).toEqual([['invalidation', 1]]);
  });

  it('empties on clear and reports the count', async () => {
    const { cache, evictions } = makeCache();
    await cache.load('s:1', async () => LIVE);
    await cache.load('u:1', async () => null);

    cache.clear();

    expect(cache.size).toBe(0);
    expect(evictions).toEqual([['clear', 2]]);
  });

  it('caches a missing row as null', async () => {
    const { cache } = makeCache();
    const load = jest.fn(async () => null);

    await cache.load('s:404', load);

    expect(cache.lookup('s:404')).toEqual({ value: null });
  });

  it('stores nothing when the read fails', async () => {
    const { cache } = makeCache();
    const { load, reads } = heldLoader();

    const failing = cache.load('s:1', load);
    reads[0].reject(new Error('connection refused'));
    await expect(failing).rejects.toThrow('connection refused');
    expect(cache.lookup('s:1')).toBeUndefined();

    const retry = cache.load('s:1', load);
    reads[1].resolve(LIVE);
    await expect(retry).resolves.toEqual(LIVE);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('keeps at most maxEntries entries', async () => {
    const { cache, evictions } = makeCache({ maxEntries: 2 });
    await cache.load('s:1', async () => LIVE);
    await cache.load('s:2', async () => LIVE);
    cache.lookup('s:1');

    await cache.load('s:3', async () => LIVE);

    expect(cache.size).toBe(2);
    expect(cache.lookup('s:2')).toBeUndefined();
    expect(cache.lookup('s:1')).toEqual({ value: LIVE });
    expect(evictions).toEqual([['capacity', 1]]);
  });

  it('expires an entry a TTL after its read', async () => {
    const { cache, evictions, advance } = makeCache({ ttlMs: 1000 });
    const { load, reads } = heldLoader();

    const read = cache.load('s:1', load);
    advance(400);
    reads[0].resolve(LIVE);
    await read;
    advance(599);
    expect(cache.lookup('s:1')).toEqual({ value: LIVE });

    advance(2);
    expect(cache.lookup('s:1')).toBeUndefined();
    expect(evictions).toEqual([['ttl', 1]]);
  });
});
