import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';

import { AuditEvent, AuditEventType } from './audit-event.entity';

export interface AuditEntry {
  type: AuditEventType;
  userId?: string | null;
  actorId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}


/** Security events, written in the same transaction as the change they record. */
@Injectable()
export class AuditRepository {
  constructor(@InjectRepository(AuditEvent) private readonly events: Repository<AuditEvent>) {}

  async record(manager: EntityManager | null, entry: AuditEntry): Promise<void> {
    await (manager ?? this.events).query(
      `INSERT INTO audit_events (type, user_id, actor_id, session_id, ip, user_agent, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        entry.type,
        entry.userId ?? null,
        entry.actorId ?? null,
        entry.sessionId ?? null,
        entry.ip ?? null,
        entry.userAgent ?? null,
        JSON.stringify(entry.details ?? {}),
      ],
    );
  }

  /** Return a page of a user's events, newest first, and their total count. */
  findByUser(userId: string, limit: number, offset: number): Promise<[AuditEvent[], number]> {
    return this.events.findAndCount({
      where: { userId },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
  }
}
