import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { CanActivate, createParamDecorator, ExecutionContext, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';

import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { clientAddress } from '../http/client-address';

type ClientRequest = FastifyRequest & { oauthClientId?: string };

interface BasicCredentials {
  id: string;
  secret: string;
}

// No presented secret can hash to this, and it gives an unknown id the same comparison cost as a known one.
const UNKNOWN_CLIENT_DIGEST = createHash('sha256').update(randomBytes(32)).digest();

/**
 * HTTP Basic authentication of the clients in INTROSPECTION_CLIENTS, for the
 * RFC 7662 and RFC 7009 endpoints. Secrets are compared as SHA-256 digests
 * with timingSafeEqual, so neither their content nor their length shows in
 * the response time. A failure is a 401 with a Basic challenge and the OAuth
 * error code `invalid_client` (RFC 6749 section 5.2).
 */
@Injectable()
export class OAuthClientGuard implements CanActivate {
  private readonly logger = new Logger(OAuthClientGuard.name);
  private readonly secretDigests: Map<string, Buffer>;

  constructor(@InjectConfig() config: AppConfig) {
    this.secretDigests = new Map(config.introspectionClients.map(({ id, secret }) => [id, digest(secret)]));
    if (this.secretDigests.size === 0) {
      this.logger.log('INTROSPECTION_CLIENTS is empty, so /oauth/introspect and /oauth/revoke reject every request');
    }
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<ClientRequest>();
    const credentials = parseBasicCredentials(request.headers.authorization);
    const expected = (credentials && this.secretDigests.get(credentials.id)) ?? UNKNOWN_CLIENT_DIGEST;
    const matches = timingSafeEqual(digest(credentials?.secret ?? ''), expected) && expected !== UNKNOWN_CLIENT_DIGEST;

    if (!credentials || !matches) {
      // An id is named only when it is configured: a client that swapped its
      // id and secret would otherwise write the secret to the log. The route
      // pattern stands for the URL, whose query may carry a token.
      const clientDescription = !credentials
        ? 'a request without Basic credentials'
        : this.secretDigests.has(credentials.id)
          ? `client ${credentials.id}`
          : 'an unknown client id';
      const route = request.routeOptions?.url ?? 'an OAuth route';
      this.logger.warn(`Client authentication failed for ${clientDescription} on ${route} from ${clientAddress(request) ?? 'an unknown address'}`);
      context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', 'Basic realm="verso", charset="UTF-8"');
      throw new UnauthorizedException({ statusCode: 401, message: 'Client authentication failed.', error: 'invalid_client' });
    }

    request.oauthClientId = credentials.id;
    return true;
  }
}

/** Inject the id of the client that OAuthClientGuard authenticated. */
export const OAuthClientId = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const id = context.switchToHttp().getRequest<ClientRequest>().oauthClientId;
  if (!id) throw new Error('OAuthClientId used on a route without OAuthClientGuard');
  return id;
});

/** Decode `Basic base64(id:secret)`, where RFC 6749 section 2.3.1 has both parts form-encoded first. */
function parseBasicCredentials(header: string | undefined): BasicCredentials | null {
  const match = typeof header === 'string' ? /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header) : null;
  if (!match) return null;

  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator <= 0) return null;

  try {
    return { id: formDecode(decoded.slice(0, separator)), secret: formDecode(decoded.slice(separator + 1)) };
  } catch {
    // A malformed percent escape.
    return null;
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
