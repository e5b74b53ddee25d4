import { BadRequestException } from '@nestjs/common';

// Access tokens are well under 1 KB, and refresh tokens are 70 characters.
const MAX_TOKEN_LENGTH = 4096;

/** The parameters that RFC 7662 and RFC 7009 requests share. */
export interface TokenRequest {
  token: string;
  // A hint only: verso distinguishes the two token types by their format.
  tokenTypeHint?: string;
}

/**
 * Read `token` and `token_type_hint` from a form-encoded body. Other
 * parameters are ignored, as RFC 7662 allows. A parameter sent twice arrives
 * as an array and is rejected, as RFC 6749 section 3.2 requires.
 */
export function parseTokenRequest(body: unknown): TokenRequest {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const { token, token_type_hint: tokenTypeHint } = fields;

  if (typeof token !== 'string' || token.length === 0) throw invalidRequest('The token parameter is required, exactly once.');
  if (token.length > MAX_TOKEN_LENGTH) throw invalidRequest(`The token parameter is longer than ${MAX_TOKEN_LENGTH} characters.`);
  if (tokenTypeHint !== undefined && typeof tokenTypeHint !== 'string') throw invalidRequest('The token_type_hint parameter may appear only once.');

  return { token, tokenTypeHint };
}

function invalidRequest(message: string): BadRequestException {
  return new BadRequestException({ statusCode: 400, message, error: 'invalid_request' });
}
