import { ConfigurationError, loadConfig } from '../../src/config/configuration';

// Values an operator's deployment files produce by mistake: a variable set to
// the empty string, or a list entry with a typo.

const productionEnvironment = { NODE_ENV: 'production', DATABASE_URL: 'postgres://verso@db/verso', JWT_SECRET: 'x'.repeat(32), REFRESH_TOKEN_SECRET: 'y'.repeat(32) };

function configError(overrides: Record<string, string>): string {
  try {
    loadConfig({ ...productionEnvironment, ...overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('configuration from deployment files', () => {
  // An empty number used to become 0: PORT= listened on a random port, and
  // TOKEN_CACHE_TTL_MS= gave lru-cache a TTL of 0, under which entries never expire.
  it.each([
    ['PORT', 'must be a whole number from 0 to 65535'],
    ['JWT_CLOCK_TOLERANCE_SECONDS', 'must be a whole number from 0 to 60'],
    ['REFRESH_GRACE_SECONDS', 'must be a whole number from 0 to 300'],
    ['TOKEN_CACHE_TTL_MS', 'must be a whole number from 1 to 300000'],
  ])('empty %s: rejected', (variable, rule) => {
    expect(configError({ [variable]: '' })).toBe(`Invalid configuration: ${variable} ${rule}`);
  });

  it.each(['1e3', '12.5', '0x10', 'ten'])('number %s: rejected', (value) => {
    expect(configError({ PORT: value })).toBe('Invalid configuration: PORT must be a whole number from 0 to 65535');
  });

  it('zero TOKEN_CACHE_TTL_MS: rejected', () => {
    expect(configError({ TOKEN_CACHE_TTL_MS: '0' })).toBe('Invalid configuration: TOKEN_CACHE_TTL_MS must be a whole number from 1 to 300000');
  });

  it('zero ACCESS_TOKEN_TTL_SECONDS: rule stated', () => {
    expect(configError({ ACCESS_TOKEN_TTL_SECONDS: '0' })).toBe('Invalid configuration: ACCESS_TOKEN_TTL_SECONDS must be a whole number of at least 1');
  });

  it('invalid TRUSTED_PROXIES: entry named, value not', () => {
    // This used to fail the start later, with a stack trace that echoed the value.
    const message = configError({ TRUSTED_PROXIES: '10.0.0.1;10.0.0.2' });

    expect(message).toBe('Invalid configuration: TRUSTED_PROXIES entry 1 must be an IP address, a CIDR range or one of loopback, linklocal, uniquelocal');
  });

  it.each(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback', '10.0.0.1, 192.168.0.0/16'])('valid TRUSTED_PROXIES %s: accepted', (value) => {
    expect(loadConfig({ ...productionEnvironment, TRUSTED_PROXIES: value }).http.trustedProxies.length).toBeGreaterThan(0);
  });

  it.each([
    ['DATABASE_URL', 'mysql://verso@db/verso', 'must be a postgres:// or postgresql:// URL'],
    ['REDIS_URL', 'http://cache:6379', 'must be a redis:// or rediss:// URL'],
    ['JWT_ISSUER', '', 'must not be empty'],
    ['CORS_ORIGINS', 'notaurl', 'entry 1 must be an origin such as https://app.example.com, without a path or a trailing slash'],
    ['CORS_ORIGINS', 'https://app.example.com/', 'entry 1 must be an origin such as https://app.example.com, without a path or a trailing slash'],
    ['JWT_KEYS', 'not json', 'must be a JSON array of {kid, privateKey} or {kid, publicKey} objects'],
  ])('%s %j: rule stated', (variable, value, rule) => {
    expect(configError({ JWT_ALGORITHM: 'ES256', JWT_KEYS: '[]', [variable]: value })).toBe(`Invalid configuration: ${variable} ${rule}`);
  });

  it('ES256 without keys in development: rejected before the database starts', () => {
    expect(() => loadConfig({ NODE_ENV: 'development', JWT_ALGORITHM: 'ES256' })).toThrow(
      'Invalid configuration: JWT_KEYS_DIR or JWT_KEYS is required with JWT_ALGORITHM=ES256',
    );
  });

  it('valid CORS_ORIGINS: accepted', () => {
    expect(loadConfig({ ...productionEnvironment, CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }).http.corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it.each(['JWT_KEYS_DIR', 'JWT_KEYS'])('%s with HS256: rejected', (variable) => {
    const value = variable === 'JWT_KEYS_DIR' ? __dirname : '[]';

    expect(configError({ JWT_ALGORITHM: 'HS256', [variable]: value })).toBe(`Invalid configuration: ${variable} is for JWT_ALGORITHM=ES256 or RS256, and JWT_ALGORITHM is HS256`);
  });
});
