import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';

import { AuditRepository } from '../audit/audit.repository';
import { ClientInfo } from '../auth/client-info.decorator';
import { toAdminSessionResponse, AdminSessionResponseDto } from '../sessions/session-response.dto';
import { SessionsRepository } from '../sessions/sessions.repository';
import { TokenStateService } from '../token-state/token-state.service';
import { Principal } from '../token-state/token-state.types';
import { isLocked, User } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';
import { AdminUserResponseDto, AuditEventPageDto, LockUserDto } from './admin.dto';

const USER_NOT_FOUND = 'User not found.';

@Injectable()
export class AdminService {
  private readonly logger = new Logger(AdminService.name);

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
    private readonly tokenState: TokenStateService,
  ) {}

  async getUser(userId: string): Promise<AdminUserResponseDto> {
    return toAdminUserResponse(await this.requireUser(userId));
  }

  async findUserByEmail(email: string): Promise<AdminUserResponseDto> {
    const user = await this.users.findByEmail(email);
    if (!user) throw new NotFoundException(USER_NOT_FOUND);
    return toAdminUserResponse(user);
  }

  async listSessions(userId: string): Promise<AdminSessionResponseDto[]> {
    await this.requireUser(userId);
    const sessions = await this.sessions.findAllByUser(userId);
    return sessions.map(toAdminSessionResponse);
  }

  /** Lock the user, bump the version and end every session, in one transaction. */
  async lock(admin: Principal, userId: string, dto: LockUserDto, client: ClientInfo): Promise<void> {
    const until = dto.until ? new Date(dto.until) : null;
    if (until && Number.isNaN(until.getTime())) throw new BadRequestException('until must be an RFC 3339 date-time, such as 2030-01-01T00:00:00Z');
    if (until && until.getTime() <= Date.now()) throw new BadRequestException('until must be in the future');
    if (userId === admin.userId) throw new BadRequestException('An admin cannot lock their own account.');

    await this.tokenState.revoke(async (manager) => {
      if (!(await this.users.lock(manager, userId, dto.reason, until))) throw new NotFoundException(USER_NOT_FOUND);
      const revoked = await this.sessions.revokeAllForUser(manager, userId, 'admin_lock');
      await this.audit.record(manager, {
        type: 'user_locked',
        userId,
        actorId: admin.userId,
        ...client,
        details: { reason: dto.reason, until: until?.toISOString() ?? null, sessionsEnded: revoked.length },
      });
      return { result: undefined, revocation: { userIds: [userId], sessionIds: revoked } };
    });
    this.logger.log(`User ${userId} locked by admin ${admin.userId}`);
  }

  /** Lift the lock. Tokens from before the lock stay dead: the lock bumped their version. */
  async unlock(admin: Principal, userId: string, client: ClientInfo): Promise<void> {
    await this.tokenState.revoke(async (manager) => {
      if (!(await this.users.unlock(manager, userId))) throw new NotFoundException(USER_NOT_FOUND);
      await this.audit.record(manager, { type: 'user_unlocked', userId, actorId: admin.userId, ...client });
      return { result: undefined, revocation: { userIds: [userId] } };
    });
    this.logger.log(`User ${userId} unlocked by admin ${admin.userId}`);
  }

  async revokeTokens(admin: Principal, userId: string, client: ClientInfo): Promise<void> {
    await this.tokenState.revoke(async (manager) => {
      if ((await this.users.bumpTokenVersion(manager, userId)) === null) throw new NotFoundException(USER_NOT_FOUND);
      const revoked = await this.sessions.revokeAllForUser(manager, userId, 'admin');
      await this.audit.record(manager, { type: 'tokens_revoked', userId, actorId: admin.userId, ...client, details: { sessionsEnded: revoked.length } });
      return { result: undefined, revocation: { userIds: [userId], sessionIds: revoked } };
    });
  }

  async revokeSession(admin: Principal, sessionId: string, client: ClientInfo): Promise<void> {
    await this.tokenState.revoke(async (manager) => {
      const owner = await this.sessions.revoke(manager, sessionId, 'admin');
      if (!owner) throw new NotFoundException('Session not found.');
      await this.audit.record(manager, { type: 'admin_session_revoked', userId: owner, actorId: admin.userId, sessionId, ...client });
      return { result: undefined, revocation: { sessionIds: [sessionId] } };
    });
  }

  async listEvents(userId: string, limit: number, offset: number): Promise<AuditEventPageDto> {
    await this.requireUser(userId);
    const [events, total] = await this.audit.findByUser(userId, limit, offset);
    return {
      events: events.map((event) => ({
        id: event.id,
        type: event.type,
        actorId: event.actorId,
        sessionId: event.sessionId,
        ip: event.ip,
        userAgent: event.userAgent,
        details: event.details,
        createdAt: event.createdAt.toISOString(),
      })),
      total,
      limit,
      offset,
    };
  }

  private async requireUser(userId: string): Promise<User> {
    const user = await this.users.findById(userId);
    if (!user) throw new NotFoundException(USER_NOT_FOUND);
    return user;
  }
}

function toAdminUserResponse(user: User): AdminUserResponseDto {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    tokenVersion: user.tokenVersion,
    locked: isLocked(user),
    lockedAt: user.lockedAt?.toISOString() ?? null,
    lockReason: user.lockReason,
    lockedUntil: user.lockedUntil?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
