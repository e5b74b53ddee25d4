import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { createTestDatabase, TestDatabase } from '../support/database';
import { http, registerAndLogin } from '../support/http';
import { startServerProcess, ServerProcess } from '../support/server-process';
import { testEnvironment } from '../support/test-app';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Jest decides what to skip before any hook runs, so reachability is checked synchronously here. */
function redisIsReachable(url: string): boolean {
  const probe = `const R=require('ioredis');const r=new R(process.argv[1],{lazyConnect:true,maxRetriesPerRequest:0,retryStrategy:()=>null,connectTimeout:1000});` +
    `r.connect().then(()=>r.ping()).then(()=>process.exit(0),()=>process.exit(1))`;
  return spawnSync(process.execPath, ['-e', probe, url], { timeout: 5000, cwd: __dirname }).status === 0;
}

const redisUp = redisIsReachable(REDIS_URL);
if (!redisUp) {
  console.warn(`Skipping the shared rate-limit tests: no Redis answers at ${REDIS_URL}. Set REDIS_URL or start Redis to run them.`);
}
const describeWithRedis = redisUp ? describe : describe.skip;

describeWithRedis('rate limits shared through Redis', () => {
  // A prefix of its own, because other runs may use the same Redis.
  const prefix = `verso-test:${randomBytes(6).toString('hex')}:`;
  let database: TestDatabase;
  let first: ServerProcess;
  let second: ServerProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = testEnvironment(database.url, {
      LOG_LEVEL: 'info',
      RATE_LIMIT_ENABLED: 'true',
      REDIS_URL,
      RATE_LIMIT_REDIS_PREFIX: prefix,
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '3',
      RATE_LIMIT_LOGIN_PER_ADDRESS: '1000',
      RATE_LIMIT_REGISTER_PER_ADDRESS: '1000',
      RATE_LIMIT_REFRESH_PER_ADDRESS: '4',
    });
    [first, second] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await database?.drop();
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('account limit holds across two instances', async () => {
    // registerAndLogin makes the first login, on the first instance.
    const victim = await registerAndLogin(first.baseUrl);
    expect((await http(second.baseUrl, 'POST', '/auth/login', { body: { email: victim.email, password: 'wrong password' } })).status).toBe(401);
    expect((await http(first.baseUrl, 'POST', '/auth/login', { body: { email: victim.email, password: 'wrong password' } })).status).toBe(401);

    const fourth = await http(second.baseUrl, 'POST', '/auth/login', { body: { email: victim.email, password: victim.password } });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toMatch(/^[1-9][0-9]?$/);
    expect((await http(first.baseUrl, 'POST', '/auth/login', { body: { email: victim.email, password: victim.password } })).status).toBe(429);
  });

  it('address limit holds across two instances', async () => {
    const instances = [first, second, first, second];
    for (const instance of instances) {
      expect((await http(instance.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(70) } })).status).toBe(401);
    }

    expect((await http(first.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(70) } })).status).toBe(429);
  });

  it('counters live under the configured prefix, without the email', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((key) => /^verso-test:[0-9a-f]{12}:\{[0-9a-f]{64}\}:(window|block)$/.test(key))).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('logs that limits are shared', () => {
    expect(first.output()).toContain('Rate limits are shared through Redis');
  });

  it('logs no Redis failure', () => {
    expect(first.output()).not.toContain('Redis for rate limits failed');
    expect(second.output()).not.toContain('Redis for rate limits failed');
  });
});
