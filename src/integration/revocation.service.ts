import { Injectable, Logger } from '@nestjs/common';

import { AuditRepository } from '../audit/audit.repository';
import { AccessTokenVerifier } from '../auth/access-token.verifier';
import { ClientInfo } from '../auth/client-info.decorator';
import { RefreshTokenCodec } from '../auth/refresh-token.codec';
import { SessionsRepository } from '../sessions/sessions.repository';
import { TokenStateService } from '../token-state/token-state.service';

type TokenType = 'access_token' | 'refresh_token';

/**
 * Token revocation (RFC 7009). verso revokes sessions, not single tokens, so
 * revoking either token of a session ends the session, and with it every
 * access and refresh token it issued. A token that is invalid, unknown or
 * already dead needs no work: the endpoint returns 200 all the same.
 */
@Injectable()
export class RevocationService {
  private readonly logger = new Logger(RevocationService.name);

  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly refreshTokens: RefreshTokenCodec,
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
    private readonly tokenState: TokenStateService,
  ) {}

  async revoke(token: string, clientId: string, client: ClientInfo): Promise<void> {
    const target = await this.findSession(token);
    if (!target) return;

    const { sessionId, tokenType } = target;
    const owner = await this.tokenState.revoke(async (manager) => {
      const owner = await this.sessions.revoke(manager, sessionId, 'oauth_revoke');
      if (owner) {
        await this.audit.record(manager, { type: 'oauth_revoke', userId: owner, sessionId, ...client, details: { clientId, tokenType } });
      }
      return { result: owner, revocation: owner ? { sessionIds: [sessionId] } : {} };
    });
    if (owner) this.logger.log(`Session ${sessionId} of user ${owner} revoked by client ${clientId} with its ${tokenType}`);
  }

  /**
   * The session a token belongs to. A refresh token carries an HMAC, so one
   * that parses was minted by verso for that session, even if it was rotated
   * since: presenting such a token at /auth/refresh would end the session too.
   * An access token counts only while the guard would accept it.
   */
  private async findSession(token: string): Promise<{ sessionId: string; tokenType: TokenType } | null> {
    const refresh = this.refreshTokens.parse(token);
    if (refresh) return { sessionId: refresh.sessionId, tokenType: 'refresh_token' };

    const verified = await this.verifier.verifyActive(token);
    return verified ? { sessionId: verified.claims.sid, tokenType: 'access_token' } : null;
  }
}
