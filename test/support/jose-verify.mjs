// Verify access tokens the way another service would: with jose, through the
// JWKS that verso serves. jose is ESM-only, which Jest cannot require, so the
// tests run this file with node.
//
// Usage: node jose-verify.mjs <jwks url> <issuer> <audience> <token>...
// Prints a JSON array with {ok, kid, sub} or {ok: false, code} per token.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience, ...tokens] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 5000 });

const results = [];
for (const token of tokens) {
  try {
    const { protectedHeader, payload } = await jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['ES256', 'RS256'] });
    results.push({ ok: true, kid: protectedHeader.kid, sub: payload.sub });
  } catch (error) {
    results.push({ ok: false, code: error.code ?? error.name });
  }
}
process.stdout.write(JSON.stringify(results));
