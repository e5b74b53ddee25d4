import { Command, CommandRunner } from 'nest-commander';

import { printResult } from './cli-output';
import { RoleChangeService } from './role-change.service';

@Command({
  name: 'users:demote',
  arguments: '<email>',
  argsDescription: { email: 'email address of a registered user (case-insensitive)' },
  description: 'Take the admin role from a user; running servers deny admin routes from the next request on.',
})
export class DemoteUserCommand extends CommandRunner {
  constructor(private readonly roles: RoleChangeService) {
    super();
  }

  async run([email]: string[]): Promise<void> {
    const { userId, email: storedEmail, changed } = await this.roles.setRole(email, 'user');
    printResult(changed ? `User ${userId} (${storedEmail}) is no longer an admin.` : `User ${userId} (${storedEmail}) is not an admin.`);
  }
}
