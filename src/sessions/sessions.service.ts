import { Injectable, NotFoundException } from '@nestjs/common';

import { AuditRepository } from '../audit/audit.repository';
import { ClientInfo } from '../auth/client-info.decorator';
import { TokenStateService } from '../token-state/token-state.service';
import { Principal } from '../token-state/token-state.types';
import { SessionResponseDto, toSessionResponse } from './session-response.dto';
import { SessionsRepository } from './sessions.repository';

@Injectable()
export class SessionsService {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
    private readonly tokenState: TokenStateService,
  ) {}

  async listLive(principal: Principal): Promise<SessionResponseDto[]> {
    const sessions = await this.sessions.findLiveByUser(principal.userId);
    return sessions.map((session) => toSessionResponse(session, principal.sessionId));
  }

  /** End one of the caller's sessions. Another user's session is "not found", exactly like a random id. */
  async revokeOwn(principal: Principal, sessionId: string, client: ClientInfo): Promise<void> {
    const revoked = await this.tokenState.revoke(async (manager) => {
      const owner = await this.sessions.revoke(manager, sessionId, 'logout', principal.userId);
      if (owner) {
        await this.audit.record(manager, { type: 'session_revoked', userId: principal.userId, actorId: principal.userId, sessionId, ...client });
      }
      return { result: owner !== null, revocation: owner ? { sessionIds: [sessionId] } : {} };
    });
    if (!revoked) throw new NotFoundException('Session not found.');
  }
}
