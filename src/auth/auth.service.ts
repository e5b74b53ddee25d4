import { randomUUID } from 'node:crypto';

import { ConflictException, ForbiddenException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { AuditRepository } from '../audit/audit.repository';
import { InjectConfig } from '../config/app-config.module';
import { AppConfig } from '../config/configuration';
import { SessionsRepository } from '../sessions/sessions.repository';
import { TokenStateService } from '../token-state/token-state.service';
import { Principal } from '../token-state/token-state.types';
import { isLocked } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';
import { AccessTokenService, TokenPair } from './access-token.service';
import { ClientInfo } from './client-info.decorator';
import { ChangePasswordDto, LoginDto, RegisterDto } from './dto/credentials.dto';
import { LogoutScope } from './dto/logout.dto';
import { MeResponseDto, UserResponseDto } from './dto/token-response.dto';
import { PasswordHasherService } from './password-hasher.service';
import { RefreshTokenCodec } from './refresh-token.codec';

const INVALID_CREDENTIALS = 'Invalid email or password.';
const INVALID_REFRESH_TOKEN = 'The refresh token is invalid, expired or revoked.';

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly audit: AuditRepository,
    private readonly hasher: PasswordHasherService,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokenCodec,
    private readonly tokenState: TokenStateService,
  ) {}

  async register(dto: RegisterDto, client: ClientInfo): Promise<UserResponseDto> {
    const passwordHash = await this.hasher.hash(dto.password);

    // One transaction, so a failed audit write leaves no account behind that a retry would find taken.
    const user = await this.dataSource.transaction(async (manager) => {
      const inserted = await this.users.insert(manager, dto.email, passwordHash);
      if (!inserted) throw new ConflictException('An account with this email already exists.');

      await this.audit.record(manager, { type: 'register', userId: inserted.id, actorId: inserted.id, ...client });
      return inserted;
    });
    return { id: user.id, email: user.email, role: user.role, createdAt: user.createdAt.toISOString() };
  }

  async login(dto: LoginDto, client: ClientInfo): Promise<TokenPair> {
    const user = await this.users.findByEmailWithPassword(dto.email);
    // Unknown email and wrong password take the same time and get the same response.
    const passwordMatches = await this.hasher.verifyOrBurn(user?.passwordHash, dto.password);
    if (!user || !passwordMatches) {
      await this.audit.record(null, { type: 'login_failed', userId: user?.id ?? null, ...client, details: { reason: user ? 'wrong_password' : 'unknown_email' } });
      this.logger.warn(`Failed login${user ? ` for user ${user.id}` : ' for an unknown email'} from ${client.ip ?? 'unknown address'}`);
      throw new UnauthorizedException(INVALID_CREDENTIALS);
    }
    if (isLocked(user)) throw new ForbiddenException('This account is locked.');

    const sessionId = randomUUID();
    const refreshToken = this.refreshTokens.mint(sessionId, 0);
    const { session, tokenVersion } = await this.dataSource.transaction(async (manager) => {
      // The password and the lock were checked on a row read before the
      // Argon2 check, which takes tens of milliseconds. A password change or a
      // lock that committed since then wins: the row is read again under a
      // share lock, so any later one waits and then ends the new session.
      const current = await this.users.lockForLogin(manager, user.id);
      if (current === null) throw new UnauthorizedException(INVALID_CREDENTIALS);
      if (current.passwordHash !== user.passwordHash) {
        this.logger.warn(`Login for user ${user.id} rejected: the password changed during the check`);
        throw new UnauthorizedException(INVALID_CREDENTIALS);
      }
      if (isLocked(current)) throw new ForbiddenException('This account is locked.');
      const { tokenVersion } = current;

      const session = await this.sessions.create(manager, {
        id: sessionId,
        userId: user.id,
        refreshTokenHash: this.refreshTokens.hash(refreshToken),
        userAgent: client.userAgent,
        ip: client.ip,
        ttlSeconds: this.config.sessions.ttlSeconds,
      });
      await this.audit.record(manager, { type: 'login', userId: user.id, actorId: user.id, sessionId, ...client });
      return { session, tokenVersion };
    });

    return this.pair({ userId: user.id, sessionId, tokenVersion, generation: 0, issuedAt: session.createdAt }, refreshToken);
  }

  /**
   * Rotate a refresh token. The compare-and-swap decides the winner among
   * concurrent presentations. A loser that presents the immediately previous
   * token inside the grace window receives the winner's pair. Any older token
   * counts as theft, so the whole session ends.
   */
  async refresh(refreshToken: string, client: ClientInfo): Promise<TokenPair> {
    const parsed = this.refreshTokens.parse(refreshToken);
    if (!parsed) throw new UnauthorizedException(INVALID_REFRESH_TOKEN);

    const { sessionId, generation } = parsed;
    const presentedHash = this.refreshTokens.hash(refreshToken);
    const next = this.refreshTokens.mint(sessionId, generation + 1);
    const { idleTimeoutSeconds, refreshGraceSeconds } = this.config.sessions;

    const rotated = await this.sessions.rotateRefreshToken(sessionId, presentedHash, this.refreshTokens.hash(next), generation + 1, idleTimeoutSeconds);
    if (rotated) {
      return this.pair({ userId: rotated.userId, sessionId, tokenVersion: rotated.tokenVersion, generation: generation + 1, issuedAt: rotated.rotatedAt }, next);
    }

    const session = await this.sessions.findRefreshCandidate(sessionId, idleTimeoutSeconds, refreshGraceSeconds);
    if (!session || !session.isLive) throw new UnauthorizedException(INVALID_REFRESH_TOKEN);

    const isPrevious =
      session.refreshGeneration === generation + 1 && session.previousRefreshTokenHash?.equals(presentedHash) === true && session.rotatedAt !== null;
    if (isPrevious && session.rotatedWithinGrace) {
      return this.pair({ userId: session.userId, sessionId, tokenVersion: session.tokenVersion, generation: generation + 1, issuedAt: session.rotatedAt! }, next);
    }

    if (generation < session.refreshGeneration) {
      await this.endSessionForReuse(session.userId, sessionId, generation, session.refreshGeneration, client);
    }
    throw new UnauthorizedException(INVALID_REFRESH_TOKEN);
  }

  async logout(principal: Principal, scope: LogoutScope, client: ClientInfo): Promise<void> {
    const { userId, sessionId } = principal;
    const base = { userId, actorId: userId, sessionId, ...client };

    if (scope === 'local') {
      await this.tokenState.revoke(async (manager) => {
        // A concurrent request may have ended the session after the guard let
        // this one in. The logout still succeeds, but only the request that
        // ended the session records the event.
        const ended = await this.sessions.revoke(manager, sessionId, 'logout');
        if (ended) await this.audit.record(manager, { ...base, type: 'logout_local' });
        return { result: undefined, revocation: { sessionIds: [sessionId] } };
      });
      return;
    }

    if (scope === 'others') {
      await this.tokenState.revoke(async (manager) => {
        const revoked = await this.sessions.revokeAllForUser(manager, userId, 'logout_others', sessionId);
        await this.audit.record(manager, { ...base, type: 'logout_others', details: { sessionsEnded: revoked.length } });
        return { result: undefined, revocation: { sessionIds: revoked } };
      });
      return;
    }

    await this.tokenState.revoke(async (manager) => {
      await this.users.bumpTokenVersion(manager, userId);
      const revoked = await this.sessions.revokeAllForUser(manager, userId, 'logout_all');
      await this.audit.record(manager, { ...base, type: 'logout_global', details: { sessionsEnded: revoked.length } });
      return { result: undefined, revocation: { userIds: [userId], sessionIds: revoked } };
    });
  }

  /** Change the password, end every other session and token, and give this session a new pair. */
  async changePassword(principal: Principal, dto: ChangePasswordDto, client: ClientInfo): Promise<TokenPair> {
    const { userId, sessionId } = principal;
    const user = await this.users.findByIdWithPassword(userId);
    if (!user || !(await this.hasher.verifyOrBurn(user.passwordHash, dto.currentPassword))) {
      this.logger.warn(`Password change with a wrong current password for user ${userId}`);
      throw new ForbiddenException('The current password is incorrect.');
    }
    const passwordHash = await this.hasher.hash(dto.newPassword);

    return this.tokenState.revoke(async (manager) => {
      // Users row first, then sessions: the order every revoking write takes,
      // so a concurrent global logout waits instead of deadlocking. The
      // update applies only if the hash is still the one that the current
      // password was checked against, which a concurrent change replaces.
      const tokenVersion = await this.users.updatePasswordAndBumpVersion(manager, userId, user.passwordHash, passwordHash);
      if (tokenVersion === null) throw new ForbiddenException('The current password is incorrect.');
      const generation = await this.sessions.findGenerationForUpdate(manager, sessionId);
      // The session was revoked by a concurrent request after the guard let this one in.
      if (generation === null) throw new UnauthorizedException('The session has ended.');

      const refreshToken = this.refreshTokens.mint(sessionId, generation + 1);
      const rotated = await this.sessions.replaceRefreshToken(manager, sessionId, this.refreshTokens.hash(refreshToken));
      if (!rotated) throw new UnauthorizedException('The session has ended.');

      const revoked = await this.sessions.revokeAllForUser(manager, userId, 'password_changed', sessionId);
      await this.audit.record(manager, { type: 'password_changed', userId, actorId: userId, sessionId, ...client, details: { sessionsEnded: revoked.length } });

      const pair = this.pair({ userId, sessionId, tokenVersion, generation: rotated.generation, issuedAt: rotated.rotatedAt }, refreshToken);
      return { result: pair, revocation: { userIds: [userId], sessionIds: revoked } };
    });
  }

  async me(principal: Principal): Promise<MeResponseDto> {
    const user = await this.users.findById(principal.userId);
    // The guard just saw this user; a concurrent deletion is the only way here.
    if (!user) throw new UnauthorizedException('The access token is invalid, expired or revoked.');
    return { id: user.id, email: user.email, role: user.role, sessionId: principal.sessionId };
  }

  private async endSessionForReuse(userId: string, sessionId: string, presented: number, current: number, client: ClientInfo): Promise<void> {
    await this.tokenState.revoke(async (manager) => {
      const owner = await this.sessions.revoke(manager, sessionId, 'refresh_reuse');
      if (owner) {
        await this.audit.record(manager, {
          type: 'refresh_reuse_detected',
          userId,
          sessionId,
          ...client,
          details: { presentedGeneration: presented, currentGeneration: current },
        });
      }
      return { result: undefined, revocation: { sessionIds: [sessionId] } };
    });
    this.logger.warn(`Refresh token reuse on session ${sessionId} of user ${userId} from ${client.ip ?? 'unknown address'}: session ended`);
  }

  private pair(subject: Parameters<AccessTokenService['sign']>[0], refreshToken: string): TokenPair {
    return {
      accessToken: this.accessTokens.sign(subject),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.accessTokens.ttlSeconds,
      sessionId: subject.sessionId,
    };
  }
}
