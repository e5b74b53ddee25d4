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
  // An empty string currently becomes 0. With PORT= the server listens on a random
  // port and logs "listening on http://127.0.0.1:0".
  it.each(['PORT', 'JWT_CLOCK_TOLERANCE_SECONDS', 'REFRESH_GRACE_SECONDS', 'TOKEN_CACHE_TTL_MS'])('empty %s: rejected', (variable) => {
    expect(configError({ [variable]: '' })).toContain(variable);
  });

  it('zero ACCESS_TOKEN_TTL_SECONDS: rule stated', () => {
    // The current message is "must be at least 0", although 0 is the value it rejects.
    expect(configError({ ACCESS_TOKEN_TTL_SECONDS: '0' })).not.toContain('at least 0');
  });

  it('invalid TRUSTED_PROXIES: variable named', () => {
    // The current start fails later with "Start failed: TypeError: invalid IP
    // address: 10.0.0.1;10.0.0.2" and a stack trace, naming neither the variable nor the rule.
    const message = configError({ TRUSTED_PROXIES: '10.0.0.1;10.0.0.2' });

    expect(message).toContain('TRUSTED_PROXIES');
    expect(message).not.toContain('10.0.0.1');
  });
});
