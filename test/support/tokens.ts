import { createHmac, createSign, KeyObject } from 'node:crypto';

/**
 * Build compact JWS strings by hand, for attack tests: any header (duplicate
 * keys, odd algorithms, no kid) and any payload text, signed or not.
 */
export function encodeSegment(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Buffer.from(text, 'utf8').toString('base64url');
}

export function signHs256(signingInput: string, secret: string | Buffer | KeyObject): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url');
}

export function signEs256(signingInput: string, privateKey: KeyObject): string {
  // JWS wants the raw r||s form, not DER.
  return createSign('sha256').update(signingInput).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

export function signRs256(signingInput: string, privateKey: KeyObject): string {
  return createSign('sha256').update(signingInput).sign(privateKey).toString('base64url');
}

/** Header and payload as objects or raw JSON text, signed with `sign`. */
export function forgeToken(header: unknown, payload: unknown, sign: (signingInput: string) => string): string {
  const signingInput = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  return `${signingInput}.${sign(signingInput)}`;
}

export function decodeSegment<T = Record<string, unknown>>(token: string, index: 0 | 1): T {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as T;
}
