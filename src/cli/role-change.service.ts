import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';

import { AuditEvent } from '../audit/audit-event.entity';
import { AuditRepository } from '../audit/audit.repository';
import { publishInvalidation } from '../token-state/invalidation-channel.service';
import { userKey } from '../token-state/token-state.types';
import { User, UserRole } from '../users/user.entity';
import { UsersRepository } from '../users/users.repository';
import { CliDatabaseService } from './cli-database.service';
import { CliError } from './cli-error';

export interface RoleChange {
  userId: string;
  // As stored, which may differ in case from the address the operator typed.
  email: string;
  // False when the user already had the role; nothing was written then.
  changed: boolean;
}

const UNDEFINED_TABLE = '42P01';

/** Changes a user's role from the command line, the way the server makes every revoking write. */
@Injectable()
export class RoleChangeService {
  constructor(private readonly database: CliDatabaseService) {}

  setRole(email: string, role: UserRole): Promise<RoleChange> {
    return this.database.withDataSource(async (dataSource) => {
      try {
        return await this.setRoleIn(dataSource, email, role);
      } catch (error) {
        if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === UNDEFINED_TABLE) {
          throw new CliError('The database has no users table yet: run the migrations first (npm run migration:run).');
        }
        throw error;
      }
    });
  }

  private async setRoleIn(dataSource: DataSource, email: string, role: UserRole): Promise<RoleChange> {
    const users = new UsersRepository(dataSource.getRepository(User));
    const audit = new AuditRepository(dataSource.getRepository(AuditEvent));

    const user = await users.findByEmail(email);
    if (!user) throw new CliError(`No user has the email ${email}.`);
    if (user.role === role) return { userId: user.id, email: user.email, changed: false };

    await dataSource.transaction(async (manager) => {
      const userId = await users.setRoleByEmail(manager, email, role);
      if (!userId) throw new CliError(`No user has the email ${email}.`);

      await audit.record(manager, { type: 'role_changed', userId, actorId: null, details: { role, via: 'cli' } });
      // Servers cache the role with the user's token state. The message goes
      // out only if this transaction commits, and every listening server then
      // evicts the user, so the next request reads the new role.
      await publishInvalidation(manager, [userKey(userId)], `cli-${randomUUID()}`);
    });
    return { userId: user.id, email: user.email, changed: true };
  }
}
