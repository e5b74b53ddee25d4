import { Command, CommandRunner } from 'nest-commander';

import { printResult } from './cli-output';
import { RoleChangeService } from './role-change.service';

@Command({
  name: 'users:promote',
  arguments: '<email>',
  argsDescription: { email: 'email address of a registered user (case-insensitive)' },
  description: 'Give a user the admin role; running servers apply it to the next request.',
})
export class PromoteUserCommand extends CommandRunner {
  constructor(private readonly roles: RoleChangeService) {
    super();
  }

  async run([email]: string[]): Promise<void> {
    const { userId, email: storedEmail, changed } = await this.roles.setRole(email, 'admin');
    printResult(changed ? `User ${userId} (${storedEmail}) is now an admin.` : `User ${userId} (${storedEmail}) is already an admin.`);
  }
}
