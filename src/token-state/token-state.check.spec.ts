import { randomUUID } from 'node:crypto';

import { Counter, Registry } from 'prom-client';

import { hotPathCounts } from '../metrics/metrics';
import { resolveVersoGuardOptions } from '../verso-guard/verso-guard.options';
import { InvalidationChannelService } from './invalidation-channel.service';
import { TokenStateRepository } from './token-state.repository';
import { TokenStateService } from './token-state.service';
import { SessionState, TokenRejectedError, UserState } from './token-state.types';

/** Build a service over a repository of two maps that counts its reads, and a channel whose state the test sets. */
function setup() {
  const userId = randomUUID();
  const sessionId = randomUUID();
  const sessions = new Map<string, SessionState>([[sessionId, { userId, expiresAtMs: Date.now() + 60_000, revoked: false }]]);
  const users = new Map<string, UserState>([[userId, { tokenVersion: 3, role: 'user', lockedAtMs: null, lockedUntilMs: null }]]);
  const reads = { sessions: 0, users: 0 };
  const repository = {
    findSessionState: async (id: string) => {
      reads.sessions++;
      return sessions.get(id) ?? null;
    },
    findUserState: async (id: string) => {
      reads.users++;
      return users.get(id) ?? null;
    },
  } as unknown as TokenStateRepository;
  const channel = { isUp: true, onInvalidation: () => undefined, onStateChange: () => undefined } as unknown as InvalidationChannelService & { isUp: boolean };

  const registry = new Registry();
  const lookups = new Counter({ name: 'lookups', help: 'lookups', labelNames: ['result'], registers: [registry] });
  const evictions = new Counter({ name: 'evictions', help: 'evictions', labelNames: ['cause'], registers: [registry] });
  const options = resolveVersoGuardOptions({
    databaseUrl: 'postgres://unused@127.0.0.1/unused',
    issuer: 'verso',
    audience: 'verso-api',
    algorithm: 'HS256',
    secret: 'x'.repeat(32),
    cache: { enabled: true, ttlMs: 30_000, maxEntries: 100 },
  });
  const service = new TokenStateService(options, repository, channel, lookups, evictions);

  return { service, channel, sessions, users, reads, userId, sessionId, lookups };
}

describe('TokenStateService.check', () => {
  it('answers a second check from the cache', async () => {
    const { service, reads, userId, sessionId } = setup();
    await service.check({ sub: userId, sid: sessionId, ver: 3 });

    const principal = await service.check({ sub: userId, sid: sessionId, ver: 3 });

    expect(principal).toEqual({ userId, sessionId, role: 'user' });
    expect(reads).toEqual({ sessions: 1, users: 1 });
  });

  it('rejects an old version from the cache', async () => {
    const { service, userId, sessionId } = setup();
    await service.check({ sub: userId, sid: sessionId, ver: 3 });

    await expect(service.check({ sub: userId, sid: sessionId, ver: 2 })).rejects.toEqual(new TokenRejectedError('version_mismatch'));
  });

  it('rejects another user\'s session from the cache', async () => {
    const { service, users, userId, sessionId } = setup();
    const otherUserId = randomUUID();
    users.set(otherUserId, { tokenVersion: 3, role: 'user', lockedAtMs: null, lockedUntilMs: null });
    await service.check({ sub: userId, sid: sessionId, ver: 3 });
    await service.check({ sub: otherUserId, sid: sessionId, ver: 3 }).catch(() => undefined);

    await expect(service.check({ sub: otherUserId, sid: sessionId, ver: 3 })).rejects.toEqual(new TokenRejectedError('session_owner_mismatch'));
  });

  it('remembers a missing session without reading it again', async () => {
    const { service, reads, userId } = setup();
    const unknownSessionId = randomUUID();
    await service.check({ sub: userId, sid: unknownSessionId, ver: 3 }).catch(() => undefined);

    await expect(service.check({ sub: userId, sid: unknownSessionId, ver: 3 })).rejects.toEqual(new TokenRejectedError('session_not_found'));
    expect(reads.sessions).toBe(1);
  });

  it('reads the database on every check while the channel is down', async () => {
    const { service, channel, reads, userId, sessionId } = setup();
    channel.isUp = false;

    await service.check({ sub: userId, sid: sessionId, ver: 3 });
    await service.check({ sub: userId, sid: sessionId, ver: 3 });

    expect(reads).toEqual({ sessions: 2, users: 2 });
  });

  it('counts two hits for a check answered from the cache', async () => {
    const { service, userId, sessionId } = setup();
    await service.check({ sub: userId, sid: sessionId, ver: 3 });
    const before = hotPathCounts.cacheHits;

    await service.check({ sub: userId, sid: sessionId, ver: 3 });

    // Hits go to prom-client only when the metrics are collected; test/token-state covers that step.
    expect(hotPathCounts.cacheHits - before).toBe(2);
  });
});
